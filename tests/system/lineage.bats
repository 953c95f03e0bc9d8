#!/usr/bin/env bats
# Lineage queries: petra images --filter derived-from, petra lineage, and
# ps --filter derived-from, over issue 15's hierarchy (lineage-fixture.bash):
# through build records, layer prefixes (an image buildah built) and base
# annotations.

load runtime-helpers
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
}

digest_of() {
	petra inspect "$1" | jq -r '.[0].digest'
}

# The derived images' names, sorted, one line.
derived_names() {
	petra images -q --filter "derived-from=$1" | sort | tr '\n' ' '
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
