#!/usr/bin/env bats
# A real registry (Debian's docker-registry on loopback), reached with skopeo.

load helpers

setup() {
	petra_setup_store
	start_registry
}

teardown() {
	stop_registry
}

@test "skopeo copies a petra export to a registry and back; the round trip keeps the digests" {
	import_busybox busybox:1.36
	petra export busybox:1.36 "oci:$BATS_TEST_TMPDIR/out"
	local digest layer
	digest=$(layout_digest "$BATS_TEST_TMPDIR/out" 1.36)
	layer=$(petra inspect --manifest busybox:1.36 | jq -r '.layers[0].digest')
	skopeo copy --dest-tls-verify=false "oci:$BATS_TEST_TMPDIR/out:1.36" \
		"docker://$REGISTRY/petra/busybox:1.36" >/dev/null
	run skopeo inspect --tls-verify=false "docker://$REGISTRY/petra/busybox:1.36"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .Digest)" = "$digest" ]
	[ "$(echo "$output" | jq -r '.Layers[0]')" = "$layer" ]
	skopeo copy --src-tls-verify=false "docker://$REGISTRY/petra/busybox:1.36" \
		"oci:$BATS_TEST_TMPDIR/back:1.36" >/dev/null
	[ "$(layout_digest "$BATS_TEST_TMPDIR/back" 1.36)" = "$digest" ]
	PETRA_ROOT="$BATS_TEST_TMPDIR/store2" petra import -q "oci:$BATS_TEST_TMPDIR/back:1.36" --ref busybox:1.36
	[ "$(PETRA_ROOT="$BATS_TEST_TMPDIR/store2" petra images --format json | jq -r '.[0].digest')" = "$digest" ]
	PETRA_ROOT="$BATS_TEST_TMPDIR/store2" petra unpack busybox:1.36 "$BATS_TEST_TMPDIR/rootfs"
	petra unpack busybox:1.36 "$BATS_TEST_TMPDIR/original"
	assert_same_tree "$BATS_TEST_TMPDIR/original" "$BATS_TEST_TMPDIR/rootfs"
	PETRA_ROOT="$BATS_TEST_TMPDIR/store2" petra fsck
}

@test "a zstd image goes through the registry unchanged too" {
	make_busybox_rootfs "$BATS_TEST_TMPDIR/rootfs"
	petra import -q --compress zstd "$BATS_TEST_TMPDIR/rootfs" --ref z:1
	petra export z:1 "oci:$BATS_TEST_TMPDIR/out"
	skopeo copy --dest-tls-verify=false "oci:$BATS_TEST_TMPDIR/out:1" "docker://$REGISTRY/z:1" >/dev/null
	skopeo copy --src-tls-verify=false "docker://$REGISTRY/z:1" "oci:$BATS_TEST_TMPDIR/back:1" >/dev/null
	[ "$(layout_digest "$BATS_TEST_TMPDIR/back" 1)" = "$(layout_digest "$BATS_TEST_TMPDIR/out" 1)" ]
}
