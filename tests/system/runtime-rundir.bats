#!/usr/bin/env bats
# The run directory belongs to a store: containers of one store are not
# another's.

load runtime-helpers
bats_require_minimum_version 1.5.0

setup_file() {
	runtime_setup_file
	# A second store with the same image.
	PETRA_ROOT="$BATS_FILE_TMPDIR/store-b" petra import -q "$BATS_FILE_TMPDIR/rootfs" \
		--ref bb:b >/dev/null
}

setup() {
	export PETRA_ROOT="$BATS_FILE_TMPDIR/store"
	# The default run directory, derived from the store: not a test's own.
	unset PETRA_RUN_DIR
	STORE_A="$BATS_FILE_TMPDIR/store"
	STORE_B="$BATS_FILE_TMPDIR/store-b"
}

teardown() {
	local store id
	for store in "$STORE_A" "$STORE_B"; do
		for id in $(petra --root "$store" ps -a -q 2>/dev/null); do
			petra --root "$store" rm -f "$id" >/dev/null 2>&1 || true
		done
	done
}

@test "petra --root A ps does not list the containers of store B" {
	local a b
	a=$(petra --root "$STORE_A" run -d --name same bb:root sleep 60)
	# The same name in the other store is another container.
	b=$(petra --root "$STORE_B" run -d --name same bb:b sleep 60)
	run petra --root "$STORE_A" ps -q
	[ "$output" = "${a:0:12}" ]
	run petra --root "$STORE_B" ps -q
	[ "$output" = "${b:0:12}" ]
	# Each has its own directory under /run/petra, named by its store.
	local hash_a hash_b
	hash_a=$(printf '%s' "$(realpath "$STORE_A")" | sha256sum | cut -c1-16)
	hash_b=$(printf '%s' "$(realpath "$STORE_B")" | sha256sum | cut -c1-16)
	[ -f "/run/petra/$hash_a/$a/state.json" ]
	[ -f "/run/petra/$hash_b/$b/state.json" ]
	# stop, exec and rm of B do not reach A's container.
	run petra --root "$STORE_B" exec "${a:0:12}" true
	[ "$status" -ne 0 ]
	run petra --root "$STORE_B" stop "${a:0:12}"
	[ "$status" -eq 1 ]
	run petra --root "$STORE_A" ps -q
	[ "$output" = "${a:0:12}" ]
	# A relative --root names the same store as its absolute path.
	cd "$BATS_FILE_TMPDIR"
	run petra --root store ps -q
	[ "$output" = "${a:0:12}" ]
}

@test "PETRA_RUN_DIR still names the run directory whatever the store" {
	local dir="$BATS_TEST_TMPDIR/run"
	local id
	id=$(PETRA_RUN_DIR="$dir" petra --root "$STORE_A" run -d bb:root sleep 60)
	[ -f "$dir/$id/state.json" ]
	run env PETRA_RUN_DIR="$dir" "$PETRA" --root "$STORE_B" ps -q
	[ "$output" = "${id:0:12}" ]
	PETRA_RUN_DIR="$dir" petra rm -f "$id" >/dev/null
}
