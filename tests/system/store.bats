#!/usr/bin/env bats
# The store: names, removal, prune, and many writers at once.

load helpers

setup() {
	petra_setup_store
}

@test "eight petra processes importing into one store at once all succeed and leave it consistent" {
	make_busybox_rootfs "$BATS_TEST_TMPDIR/base"
	local i pids=()
	for i in 1 2 3 4 5 6 7 8; do
		cp -a "$BATS_TEST_TMPDIR/base" "$BATS_TEST_TMPDIR/tree$i"
		# Half share their content (same blobs written concurrently), half differ.
		[ $((i % 2)) -eq 0 ] && echo "image $i" >"$BATS_TEST_TMPDIR/tree$i/id"
	done
	for i in 1 2 3 4 5 6 7 8; do
		petra import -q "$BATS_TEST_TMPDIR/tree$i" --ref "parallel:$i" >"$BATS_TEST_TMPDIR/out$i" 2>&1 &
		pids+=($!)
	done
	# A pruner runs at the same time: it must not remove anything an import
	# is about to name.
	(for _ in 1 2 3 4 5; do petra prune >/dev/null 2>&1; done) &
	local pruner=$!
	local failed=0
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || failed=$((failed + 1))
	done
	wait "$pruner"
	cat "$BATS_TEST_TMPDIR"/out*
	[ "$failed" -eq 0 ]
	[ "$(petra images -q | sort | tr '\n' ' ')" = \
		"parallel:1 parallel:2 parallel:3 parallel:4 parallel:5 parallel:6 parallel:7 parallel:8 " ]
	petra fsck
	# index.json is whole JSON and names each image once.
	[ "$(jq '.manifests | length' "$PETRA_ROOT/index.json")" = 8 ]
	# No temporary files remain.
	[ -z "$(find "$PETRA_ROOT" -name '.tmp-*')" ]
	for i in 1 8; do
		petra unpack "parallel:$i" "$BATS_TEST_TMPDIR/u$i"
	done
	[ "$(cat "$BATS_TEST_TMPDIR/u8/id")" = "image 8" ]
}

@test "tag, rmi and prune" {
	import_busybox app:1
	petra tag app:1 app:stable registry.example.com:5000/team/app:v1
	[ "$(petra images -q | sort | tr '\n' ' ')" = "app:1 app:stable registry.example.com:5000/team/app:v1 " ]
	local digest
	digest=$(petra images --format json | jq -r '.[0].digest')
	# All three names point at the same manifest.
	[ "$(petra images --format json | jq -r '[.[].digest] | unique | length')" = 1 ]
	# Another name is left: nothing is deleted, nothing was there to prune.
	run petra rmi app:1
	[ "$status" -eq 0 ]
	[ "$output" = "Untagged: app:1" ]
	petra unpack app:stable "$BATS_TEST_TMPDIR/still-there"
	# By digest: every remaining name goes, then its blobs.
	run petra rmi "${digest:7:12}"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Untagged: app:stable"* ]]
	[[ "$output" == *"Untagged: registry.example.com:5000/team/app:v1"* ]]
	[[ "$output" == *"Deleted: $digest (3 blobs, "*"; 0 extracted layers)"* ]]
	[[ "$output" != *"Pruned:"* ]]
	[ -z "$(petra images -q)" ]
	[ -z "$(ls "$PETRA_ROOT/blobs/sha256")" ]
}

@test "prune removes what no image uses, and stale temporary files" {
	import_busybox keep:1
	make_busybox_rootfs "$BATS_TEST_TMPDIR/other"
	echo other >"$BATS_TEST_TMPDIR/other/marker"
	petra import -q "$BATS_TEST_TMPDIR/other" --ref gone:1
	petra rmi --no-prune gone:1
	touch "$PETRA_ROOT/blobs/sha256/.tmp-blob-0123456789abcdef"
	run petra prune --dry-run
	[ "$status" -eq 0 ]
	[[ "$output" == "Would remove 4 blobs, "*"; 0 extracted layers" ]]
	[ -e "$PETRA_ROOT/blobs/sha256/.tmp-blob-0123456789abcdef" ]
	run petra prune
	[[ "$output" == "Removed 4 blobs"* ]]
	[ ! -e "$PETRA_ROOT/blobs/sha256/.tmp-blob-0123456789abcdef" ]
	petra fsck
	petra unpack keep:1 "$BATS_TEST_TMPDIR/k"
}

@test "names are validated and a missing image is named in the error" {
	import_busybox a:1
	# A malformed name is bad usage; a missing image, a failure.
	run petra tag a:1 'Not/Valid'
	[ "$status" -eq 2 ]
	[[ "$output" == *'invalid name "Not/Valid"'* ]]
	run petra rmi nothing:here
	[ "$status" -eq 1 ]
	[[ "$output" == *'image "nothing:here" not found'* ]]
	run petra import "$BATS_TEST_TMPDIR/does-not-exist"
	[ "$status" -eq 1 ]
	[[ "$output" == "petra: import $BATS_TEST_TMPDIR/does-not-exist: No such file or directory" ]]
}

@test "the store is an OCI layout other tools read directly" {
	import_busybox busybox:1
	run skopeo inspect "oci:$PETRA_ROOT:busybox:1"
	[ "$status" -eq 0 ]
	[ "$(stat -c %a "$PETRA_ROOT")" = 700 ]
	[ "$(stat -c %a "$PETRA_ROOT/blobs/sha256/$(ls "$PETRA_ROOT/blobs/sha256" | head -n1)")" = 444 ]
}

@test "history and inspect show what the image is" {
	import_busybox hist:1
	run petra history hist:1
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "LAYER"*"CREATED BY" ]]
	[[ "${lines[1]}" == *"petra import busybox-rootfs" ]]
	run petra inspect hist:1
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.[0].name')" = hist:1 ]
	[ "$(echo "$output" | jq -r '.[0].config.os')" = linux ]
	[ "$(echo "$output" | jq -r '.[0].manifest.layers | length')" = 1 ]
}
