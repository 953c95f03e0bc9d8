#!/usr/bin/env bats
# Inputs that must be read right or refused clearly (issue 13): nested
# image indexes, wrong descriptor sizes, broken layouts and stores.

load runtime-helpers

setup_file() {
	runtime_setup_file
}

setup() {
	runtime_setup
	cd "$BATS_TEST_TMPDIR"
	petra export bb:root "oci:$BATS_TEST_TMPDIR/layout:1"
}

teardown() {
	runtime_teardown
}

# nest_index LAYOUT DEPTH TAG: wrap the layout's only image in DEPTH image
# indexes (the innermost with this machine's platform, the others with
# none, as skopeo writes them), tagged TAG in index.json.
nest_index() {
	python3 - "$@" <<'PY'
import hashlib, json, os, platform, sys
layout, depth, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3]
arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
with open(f"{layout}/index.json") as f:
    top = json.load(f)
desc = dict(top["manifests"][0])
desc.pop("annotations", None)
desc["platform"] = {"os": "linux", "architecture": arch}
for level in range(depth):
    body = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                       "manifests": [desc]}).encode()
    digest = hashlib.sha256(body).hexdigest()
    with open(f"{layout}/blobs/sha256/{digest}", "wb") as f:
        f.write(body)
    desc = {"mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": f"sha256:{digest}", "size": len(body)}
desc["annotations"] = {"org.opencontainers.image.ref.name": tag}
top["manifests"].append(desc)
with open(f"{layout}/index.json", "w") as f:
    json.dump(top, f)
PY
}

@test "an image index nested two levels resolves to this platform's manifest" {
	nest_index layout 2 nested
	# A valid layout for skopeo: its top is an index of an index.
	[ "$(skopeo inspect --raw oci:layout:nested | jq -r '.manifests[0].mediaType')" = \
		application/vnd.oci.image.index.v1+json ]
	# petra follows it to the manifest, on import and on run.
	run petra import oci:layout:nested --ref nested:1
	echo "$output"
	[ "$status" -eq 0 ]
	run petra run --rm nested:1 true
	[ "$status" -eq 0 ]
	run petra fsck
	[ "$status" -eq 0 ]
}

@test "indexes nested more than 4 deep are refused, with the limit named" {
	nest_index layout 4 four
	run petra import oci:layout:four --ref four:1
	[ "$status" -eq 0 ]
	nest_index layout 5 five
	run petra import oci:layout:five --ref five:1
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"image indexes nested more than 4 deep"* ]]
}

# The store's files, for "nothing changed" (index.json and every blob).
store_state() {
	(cd "$PETRA_ROOT" && find index.json blobs -type f | sort | xargs sha256sum)
}

@test "import oci: checks each descriptor's size as well as its digest" {
	local before size
	before=$(store_state)
	size=$(jq -r '.manifests[0].size' layout/index.json)
	for wrong in 10 1000000000000000; do
		jq ".manifests[0].size = $wrong" layout/index.json >index.new
		cp layout/index.json index.good
		mv index.new layout/index.json
		run petra import oci:layout:1 --ref wrong:1
		echo "$output"
		[ "$status" -ne 0 ]
		[[ "$output" == *"is $size bytes, its descriptor says $wrong"* ]]
		mv index.good layout/index.json
		[ "$(store_state)" = "$before" ]
	done
	# a layer whose size in the manifest is wrong: a new manifest digest
	python3 - layout <<'PY'
import hashlib, json, sys
layout = sys.argv[1]
index = json.load(open(f"{layout}/index.json"))
d = index["manifests"][0]
m = json.load(open(f"{layout}/blobs/{d['digest'].replace(':', '/')}"))
m["layers"][0]["size"] += 1
body = json.dumps(m).encode()
digest = hashlib.sha256(body).hexdigest()
open(f"{layout}/blobs/sha256/{digest}", "wb").write(body)
d["digest"], d["size"] = f"sha256:{digest}", len(body)
json.dump(index, open(f"{layout}/index.json", "w"))
PY
	run petra import oci:layout:1 --ref wrong:1
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"bytes, its descriptor says"* ]]
	run petra images -q
	[[ "$output" != *wrong* ]]
	run petra fsck
	[ "$status" -eq 0 ]
}

@test "verify fails on a layer blob corrupt or missing even when it is not extracted" {
	# a store of its own, so nothing is extracted
	export PETRA_ROOT="$BATS_TEST_TMPDIR/own-store"
	petra import -q "oci:$BATS_TEST_TMPDIR/layout:1" --ref v:1 >/dev/null
	run petra verify v:1
	[ "$status" -eq 0 ]
	[ "$output" = "ok: 1 image verified" ]
	local layer blob
	# the layer, as the layout's manifest names it (import keeps the digests)
	local manifest
	manifest=$(jq -r '.manifests[0].digest' layout/index.json)
	layer=$(jq -r '.layers[0].digest' "layout/blobs/${manifest/://}")
	blob="$PETRA_ROOT/blobs/${layer/://}"
	[ -f "$blob" ]
	chmod u+w "$blob"
	printf 'X' | dd of="$blob" bs=1 seek=100 conv=notrunc 2>/dev/null
	run petra verify v:1
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"layer 1 (not extracted): "* ]]
	rm -f "$blob"
	run petra verify v:1
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"layer 1 (not extracted): "* ]]
}

@test "a failed export oci:DIR leaves no layout behind, and an existing one as it was" {
	export PETRA_ROOT="$BATS_TEST_TMPDIR/own-store"
	petra import -q "oci:$BATS_TEST_TMPDIR/layout:1" --ref e:1 >/dev/null
	petra export e:1 oci:existing:first
	cp existing/index.json index.before
	local manifest layer
	manifest=$(jq -r '.manifests[0].digest' layout/index.json)
	layer=$(jq -r '.layers[0].digest' "layout/blobs/${manifest/://}")
	rm -f "$PETRA_ROOT/blobs/${layer/://}"
	run petra export e:1 oci:fresh:1
	echo "$output"
	[ "$status" -ne 0 ]
	[ ! -e fresh ]
	run petra export e:1 oci:existing:second
	[ "$status" -ne 0 ]
	cmp index.before existing/index.json
	skopeo inspect --raw oci:existing:first >/dev/null
}

@test "import into a store whose index.json has a wrong-typed entry fails before writing" {
	export PETRA_ROOT="$BATS_TEST_TMPDIR/own-store"
	petra import -q "oci:$BATS_TEST_TMPDIR/layout:1" --ref a:1 >/dev/null
	jq '.manifests += [{"mediaType": 5, "digest": "sha256:x", "size": "big"}]' \
		"$PETRA_ROOT/index.json" >index.new
	mv index.new "$PETRA_ROOT/index.json"
	local before
	before=$(store_state)
	petra export bb:user oci:other:1 2>/dev/null || PETRA_ROOT="$BATS_FILE_TMPDIR/store" petra export bb:user oci:other:1
	run petra import oci:other:1 --ref b:1
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"index.json: entry 2"* ]]
	[ "$(store_state)" = "$before" ]
	run petra import "$BATS_FILE_TMPDIR/rootfs" --ref c:1
	[ "$status" -ne 0 ]
	[ "$(store_state)" = "$before" ]
}
