#!/usr/bin/env bats
# Lineage queries: petra images --filter derived-from, petra lineage, and
# ps --filter derived-from, over issue 15's hierarchy (lineage-fixture.bash):
# through build records, layer prefixes (an image buildah built) and base
# annotations.

load runtime-helpers
load registry-helpers
load lineage-fixture
bats_require_minimum_version 1.5.0

setup_file() {
	export PETRA_ROOT="$BATS_FILE_TMPDIR/store"
	lineage_fixture "$BATS_FILE_TMPDIR/fixture"
}

setup() {
	export PETRA_ROOT="$BATS_FILE_TMPDIR/store"
	export PETRA_RUN_DIR="$BATS_TEST_TMPDIR/run"
}

teardown() {
	runtime_teardown
	registry_teardown
}

digest_of() {
	petra inspect "$1" | jq -r '.[0].digest'
}

# The derived images' names, sorted, one line.
derived_names() {
	petra images -q --filter "derived-from=$1" | sort | tr '\n' ' '
}

# The paths derived-from=base:1 must give, names only ("NAME (role)"),
# one image a line, sorted.
EXPECTED_PATHS='app-a:1 <- runtime:1 (base) <- base:1 (base)
app-a:hard <- app-a:1 (harden) <- runtime:1 (base) <- base:1 (base)
app-b:1 <- runtime:1 (base) <- base:1 (base)
app-c:1 <- base:1 (base)
app-d:1 <- base:1 (stage builder)
bah:1 <- base:1 (layers)
runtime:1 <- base:1 (base)'

# "NAME@DIGEST (role)" elements of a json path to "NAME (role)", joined.
PATH_TEXT='.path | map(sub("@sha256:[0-9a-f]{64}"; "")) | join(" <- ")'

@test "derived-from=base:1: exactly the six derived images and buildah's, with their paths (text and json)" {
	run -0 petra images --format json --filter derived-from=base:1
	echo "$output"
	[ "$(echo "$output" | jq -r ".[] | $PATH_TEXT" | sort)" = "$EXPECTED_PATHS" ]
	# Each element names its image by digest.
	[ "$(echo "$output" | jq -r '.[] | select(.name == "app-a" and .tag == "hard") | .path[2]')" = \
		"runtime:1@$(digest_of runtime:1) (base)" ]
	[ "$(echo "$output" | jq -r '.[] | select(.name == "app-a" and .tag == "hard") | .path[0]')" = \
		"app-a:hard@$(digest_of app-a:hard)" ]
	# Records, not layers, for petra's own images (squashed and FROM
	# scratch ones included).
	[ "$(echo "$output" | jq -r '[.[] | select(.byLayers) | .name] | join(" ")')" = bah ]
	# The table: the same paths in its last column.
	run -0 petra images --filter derived-from=base:1
	[ "$(echo "$output" | tail -n +2 | sed 's/.*  //' | sort)" = "$EXPECTED_PATHS" ]
	[ "$(derived_names base:1)" = "app-a:1 app-a:hard app-b:1 app-c:1 app-d:1 bah:1 runtime:1 " ]
}

@test "the image buildah built FROM base:1 is found by its layer prefix" {
	local json
	json=$(petra images --format json --filter derived-from=base:1)
	echo "$json"
	[ "$(echo "$json" | jq -r '.[] | select(.name == "bah") | .path | length')" -eq 2 ]
	[ "$(echo "$json" | jq -r '.[] | select(.name == "bah") | .path[1]')" = \
		"base:1@$(digest_of base:1) (layers)" ]
	[ "$(echo "$json" | jq -r '.[] | select(.name == "bah") | .byLayers')" = true ]
	# Not other:1, nor base:2 (another layer), nor base:1 itself.
	[ "$(echo "$json" | jq '[.[] | select(.name == "other" or .name == "base")] | length')" -eq 0 ]
	# Text: the path, names only.
	run -0 petra images --filter derived-from=base:1
	[[ "$output" == *"bah:1 <- base:1 (layers)"* ]]
	[[ "${lines[0]}" == *PATH ]]
}

@test "derived-from by digest answers as by name; a base's descendants, not its ancestors" {
	[ "$(derived_names base:1)" = "$(derived_names "$(digest_of base:1)")" ]
	[ "$(petra images --format json --filter derived-from=base:1 | jq -c 'map(.path)')" = \
		"$(petra images --format json --filter "derived-from=$(digest_of base:1)" | jq -c 'map(.path)')" ]
	# From runtime:1: app-a, app-b and the hardened app-a; not runtime, not app-c.
	[ "$(derived_names runtime:1)" = "app-a:1 app-a:hard app-b:1 " ]
	# Nothing derives from other:1 or an app.
	[ -z "$(derived_names other:1)" ]
	[ -z "$(derived_names app-b:1)" ]
}

@test "derived-from: a filter petra does not know, an image it cannot find" {
	run -2 petra images --filter dangling=true
	[[ "$output" == *"expected derived-from=REF|DIGEST"* ]]
	run -1 petra images --filter derived-from=nothere:1
	[[ "$output" == "petra: "*"nothere:1"* ]]
	run -2 petra ps --filter derived-by=x
	[[ "$output" == *"derived-from=REF"* ]]
}

@test "petra lineage app-a:hard: app-a:1 (harden), runtime:1, base:1 (text and json)" {
	local json
	json=$(petra lineage --format json app-a:hard)
	echo "$json"
	[ "$(echo "$json" | jq -r .name)" = app-a:hard ]
	[ "$(echo "$json" | jq -r .digest)" = "$(digest_of app-a:hard)" ]
	[ "$(echo "$json" | jq -r '.from[0].name')" = app-a:1 ]
	[ "$(echo "$json" | jq -r '.from[0].role')" = harden ]
	[ "$(echo "$json" | jq -r '.from[0].from[0].name')" = runtime:1 ]
	[ "$(echo "$json" | jq -r '.from[0].from[0].from[0].name')" = base:1 ]
	[ "$(echo "$json" | jq -r '.from[0].from[0].from[0].digest')" = "$(digest_of base:1)" ]
	[ "$(echo "$json" | jq '.from[0].from[0].from[0].from | length')" -eq 0 ]
	run -0 petra lineage app-a:hard
	echo "$output"
	[[ "${lines[0]}" == "app-a:hard  "* ]]
	[[ "${lines[1]}" == "└─ app-a:1  "*"(harden, "* ]]
	[[ "${lines[2]}" == "   └─ runtime:1  "*"(base, "* ]]
	[[ "${lines[3]}" == "      └─ base:1  "*"(base, "* ]]
	[ "${#lines[@]}" -eq 4 ]
	# Where no record nor annotation says more: the layers.
	run -0 petra lineage --format json other:1
	[ "$(echo "$output" | jq '.from | length')" -eq 0 ]
	run -1 petra lineage nothere:1
}

@test "ps --filter derived-from=base:1: the containers of derived images only" {
	local a c o b
	a=$(petra run -d app-a:1 sleep 60)
	c=$(petra run -d app-c:1 sleep 60)
	o=$(petra run -d other:1 sleep 60)
	b=$(petra run -d base:2 sleep 60)
	run -0 petra ps -q --filter derived-from=base:1
	echo "$output"
	[ "$(echo "$output" | sort | tr '\n' ' ')" = "$(printf '%.12s\n' "$a" "$c" | sort | tr '\n' ' ')" ]
	# With another filter: all must match.
	run -0 petra ps -q --filter derived-from=base:1 --filter "id=$c"
	[ "$output" = "${c:0:12}" ]
	# From runtime:1: app-a only.
	run -0 petra ps -q --filter derived-from=runtime:1
	[ "$output" = "${a:0:12}" ]
	# ps --format json lists the same.
	[ "$(petra ps --format json --filter derived-from=base:1 | jq length)" -eq 2 ]
}

@test "the query cache follows every change of the store, and a broken one is rebuilt" {
	local before
	before=$(derived_names base:1)
	[ -f "$PETRA_ROOT/lineage-cache" ]
	petra tag app-c:1 app-c:copy
	[ "$(derived_names base:1)" != "$before" ]
	[[ "$(derived_names base:1)" == *"app-c:copy "* ]]
	petra rmi app-c:copy >/dev/null
	[ "$(derived_names base:1)" = "$before" ]
	# A new image derived by layers appears at once.
	petra tag other:1 other:copy
	[ "$(derived_names base:1)" = "$before" ]
	petra rmi other:copy >/dev/null
	# Garbage, a file cut (mid-line, at a line end), an empty one: the
	# answer is the store's.
	echo garbage >"$PETRA_ROOT/lineage-cache"
	[ "$(derived_names base:1)" = "$before" ]
	head -c 300 "$PETRA_ROOT/lineage-cache" >"$BATS_TEST_TMPDIR/cut"
	cp "$BATS_TEST_TMPDIR/cut" "$PETRA_ROOT/lineage-cache"
	[ "$(derived_names base:1)" = "$before" ]
	head -n 3 "$PETRA_ROOT/lineage-cache" >"$BATS_TEST_TMPDIR/cut"
	cp "$BATS_TEST_TMPDIR/cut" "$PETRA_ROOT/lineage-cache"
	[ "$(derived_names base:1)" = "$before" ]
	: >"$PETRA_ROOT/lineage-cache"
	[ "$(derived_names base:1)" = "$before" ]
	# The store stays sound with it.
	run -0 petra fsck
}

@test "from a loopback registry after a push: the same images and paths, no layer pulled" {
	start_registry_with
	local image repos=()
	for image in base:1 base:2 other:1 runtime:1 app-a:1 app-b:1 app-c:1 app-d:1 app-a:hard bah:1; do
		petra push -q --tls-verify=false "$image" "$REG/$image" >/dev/null
	done
	for image in base other runtime app-a app-b app-c app-d bah; do
		repos+=(--registry "$REG/$image")
	done
	local mark
	mark=$(wc -l <"$REG_LOG")
	run -0 petra images --tls-verify=false "${repos[@]}" --format json --filter derived-from=base:1
	echo "$output"
	# The same paths, the registry's names in place of the store's.
	[ "$(echo "$output" | jq -r ".[] | $PATH_TEXT" | sed "s|$REG/||g" | sort)" = "$EXPECTED_PATHS" ]
	[ "$(echo "$output" | jq -r '[.[] | select(.byLayers) | .name] | join(" ")')" = "$REG/bah" ]
	# The base named by its registry name, by digest: the same.
	run -0 petra images --tls-verify=false "${repos[@]}" -q --filter "derived-from=$REG/base:1"
	[ "$(echo "$output" | sort | tr '\n' ' ')" = \
		"$REG/app-a:1 $REG/app-a:hard $REG/app-b:1 $REG/app-c:1 $REG/app-d:1 $REG/bah:1 $REG/runtime:1 " ]
	run -0 petra images --tls-verify=false "${repos[@]}" -q --filter "derived-from=$(digest_of base:1)"
	[ "$(echo "$output" | wc -l)" -eq 7 ]
	# The tree of the hardened image, from the registry alone.
	run -0 petra lineage --tls-verify=false "${repos[@]}" --format json "$REG/app-a:hard"
	echo "$output"
	[ "$(echo "$output" | jq -r '[.. | objects | select(has("name")) | .name] | join(" ")')" = \
		"$REG/app-a:hard $REG/app-a:1 $REG/runtime:1 $REG/base:1" ]
	[ "$(echo "$output" | jq -r '.from[0].how')" = record ]
	# Manifests, configs, referrer manifests and the records' blobs were
	# read; no layer blob of any image was.
	local blobs layers
	blobs=$(tail -n +"$((mark + 1))" "$REG_LOG" | grep -o 'GET /v2/[^ ]*/blobs/sha256:[0-9a-f]*' |
		sed 's|.*/blobs/||' | sort -u)
	[ -n "$blobs" ]
	layers=$(for image in base:1 other:1 runtime:1 app-a:1 app-b:1 app-c:1 app-d:1 app-a:hard bah:1; do
		petra inspect "$image" | jq -r '.[0].manifest.layers[].digest'
	done | sort -u)
	[ -z "$(comm -12 <(echo "$blobs") <(echo "$layers"))" ]
	# --registry without derived-from is a usage error.
	run -2 petra images --registry "$REG/base"
}
