#!/usr/bin/env bats
# Garbage collection across the store and the extracted-layer cache.

load helpers

setup() {
	petra_setup_store
	export PETRA_RUN_DIR="$BATS_TEST_TMPDIR/run"
}

teardown() {
	# Whatever container a test left, by its id.
	local id
	for id in $(petra ps -a -q 2>/dev/null); do
		petra rm -f "$id" >/dev/null 2>&1 || true
	done
}

layers_on_disk() {
	ls "$PETRA_ROOT/rootfs/layers" 2>/dev/null | grep -v '^\.' | sort
}

diff_id_hex() {
	petra inspect --config "$1" | jq -r '.rootfs.diff_ids[0]' | cut -d: -f2
}

@test "prune removes the extracted layers of removed images, not those in use" {
	make_busybox_rootfs "$BATS_TEST_TMPDIR/a"
	make_busybox_rootfs "$BATS_TEST_TMPDIR/b"
	echo b >"$BATS_TEST_TMPDIR/b/marker"
	make_busybox_rootfs "$BATS_TEST_TMPDIR/c"
	echo c >"$BATS_TEST_TMPDIR/c/marker"
	petra import -q "$BATS_TEST_TMPDIR/a" --ref keep:1
	petra import -q "$BATS_TEST_TMPDIR/b" --ref gone:1
	petra import -q "$BATS_TEST_TMPDIR/c" --ref used:1
	local ka kb kc
	ka=$(diff_id_hex keep:1)
	kb=$(diff_id_hex gone:1)
	kc=$(diff_id_hex used:1)
	# Running each image extracts its layer once.
	for img in keep:1 gone:1; do
		petra run --rm "$img" /bin/true
	done
	# A container (stopped, not removed) still uses its image's layer.
	petra run --name user used:1 /bin/true
	[ "$(layers_on_disk | tr '\n' ' ')" = "$(printf '%s\n' "$ka" "$kb" "$kc" | sort | tr '\n' ' ')" ]
	petra rmi --no-prune gone:1 used:1
	run petra prune --dry-run
	[ "$status" -eq 0 ]
	[[ "$output" == *"; 1 extracted layers" ]]
	[ -d "$PETRA_ROOT/rootfs/layers/$kb" ]
	run petra prune --format json
	[ "$(echo "$output" | jq -r .extractedLayers)" = 1 ]
	[ ! -e "$PETRA_ROOT/rootfs/layers/$kb" ]
	[ -d "$PETRA_ROOT/rootfs/layers/$ka" ]
	[ -d "$PETRA_ROOT/rootfs/layers/$kc" ]
	# Once the container is gone, so is its layer.
	petra rm user
	petra prune
	[ "$(layers_on_disk)" = "$ka" ]
	petra run --rm keep:1 /bin/true
}

@test "rmi says what went with the image and, apart, what it pruned" {
	make_busybox_rootfs "$BATS_TEST_TMPDIR/a"
	make_busybox_rootfs "$BATS_TEST_TMPDIR/b"
	echo b >"$BATS_TEST_TMPDIR/b/marker"
	petra import -q "$BATS_TEST_TMPDIR/a" --ref app:1
	petra import -q "$BATS_TEST_TMPDIR/b" --ref leftover:1
	petra tag app:1 alias:1
	petra run --rm app:1 /bin/true
	petra run --rm leftover:1 /bin/true
	local digest
	digest=$(petra inspect app:1 | jq -r '.[0].digest')
	# Leftovers of an earlier rmi: the next one prunes them, and says so
	# apart from what it removed for the name.
	petra rmi --no-prune leftover:1
	run petra rmi alias:1
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	[ "${lines[0]}" = "Untagged: alias:1" ]
	[[ "${lines[1]}" == "Pruned: 3 unreferenced blobs, "*"; 1 extracted layer" ]]
	# The last name: the image's own blobs and extracted layer go.
	run petra rmi app:1
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	[ "${lines[0]}" = "Untagged: app:1" ]
	[[ "${lines[1]}" == "Deleted: $digest (3 blobs, "*"; 1 extracted layer)" ]]
	[ -z "$(layers_on_disk)" ]
	[ -z "$(ls "$PETRA_ROOT/blobs/sha256")" ]
}

@test "a foreground container does not hold prune up" {
	make_busybox_rootfs "$BATS_TEST_TMPDIR/a"
	petra import -q "$BATS_TEST_TMPDIR/a" --ref sleeper:1
	petra run --rm sleeper:1 /bin/sleep 4 &
	local pid=$!
	# Wait until the container runs (its layer is extracted).
	local i
	for i in $(seq 1 50); do
		[ -n "$(petra ps -q)" ] && break
		sleep 0.1
	done
	[ -n "$(petra ps -q)" ]
	run timeout 3 "$PETRA" prune
	[ "$status" -eq 0 ]
	[[ "$output" == "Removed 0 blobs"* ]]
	wait "$pid"
}
