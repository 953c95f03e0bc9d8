#!/usr/bin/env bats
# The dir: transport (containers/image's directory layout) for export and
# import of complete images, checked against skopeo, and signed in place.

load helpers

setup() {
	petra_setup_store
	cd "$BATS_TEST_TMPDIR"
}

@test "export to dir: is what skopeo reads; skopeo's dir: imports to the same digest" {
	import_busybox app.example/web:1
	local digest
	digest=$(jq -r '.manifests[0].digest' "$PETRA_ROOT/index.json")
	petra export app.example/web:1 dir:out
	[ "$(cat out/version)" = "Directory Transport Version: 1.1" ]
	[ "sha256:$(sha256sum <out/manifest.json | cut -d' ' -f1)" = "$digest" ]
	for b in $(jq -r '.config.digest, .layers[].digest' out/manifest.json); do
		[ "$(sha256sum <"out/${b#sha256:}" | cut -d' ' -f1)" = "${b#sha256:}" ]
	done
	# skopeo copies it on (verifying every blob) and back.
	skopeo copy -q dir:out oci:layout:1
	skopeo copy -q oci:layout:1 dir:back
	PETRA_ROOT="$BATS_TEST_TMPDIR/store2" petra import -q dir:back >id
	[ "$(cat id)" = "$digest" ]
	PETRA_ROOT="$BATS_TEST_TMPDIR/store2" petra import dir:back --ref app.example/web:again
	PETRA_ROOT="$BATS_TEST_TMPDIR/store2" petra fsck
	# A non-empty destination is refused and left alone.
	run petra export app.example/web:1 dir:out
	[ "$status" -eq 1 ]
	[[ "$output" == *"not an empty directory"* ]]
	[ -f out/manifest.json ]
	[ -z "$(ls -d out.tmp-* 2>/dev/null)" ]
}

@test "import dir: refuses a changed blob and stores nothing of it" {
	import_busybox app:1
	petra export app:1 dir:d
	local layer
	layer=$(jq -r '.layers[0].digest' d/manifest.json)
	printf 'x' | dd of="d/${layer#sha256:}" bs=1 seek=100 conv=notrunc 2>/dev/null
	export PETRA_ROOT="$BATS_TEST_TMPDIR/other"
	run petra import dir:d --ref evil:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"import dir:d"* ]]
	run petra images -q
	[ -z "$output" ]
	# No manifest, or an index, is refused with a reason.
	rm d/manifest.json
	run petra import dir:d
	[ "$status" -eq 1 ]
	[[ "$output" == *"manifest.json"* ]]
}

@test "a dir: export signed by petra (cosign) verifies, and fails after a one-byte change" {
	import_busybox app.example/web:1
	petra export app.example/web:1 dir:img
	PETRA_PASSWORD=pw petra keygen -o k >/dev/null
	PETRA_PASSWORD=pw petra sign --key k.key --identity app.example/web:1 dir:img
	# containers/image's sigstore file: NUL, "sigstore-json", newline, JSON.
	[ "$(head -c 1 img/signature-1 | od -An -tx1 | tr -d ' ')" = 00 ]
	[ "$(tail -c +2 img/signature-1 | head -c 13)" = "sigstore-json" ]
	tail -c +16 img/signature-1 | jq -e '.mimeType == "application/vnd.dev.cosign.simplesigning.v1+json"'
	petra verify-signature --key k.pub --reference app.example/web:1 dir:img
	# skopeo still reads the layout with a signature in it.
	skopeo copy -q --remove-signatures dir:img oci:lay:1
	sed -i 's/"schemaVersion"/"schemaVersion" /' img/manifest.json
	run petra verify-signature --key k.pub --reference app.example/web:1 dir:img
	[ "$status" -eq 1 ]
	[[ "$output" == *"digest mismatch"* ]]
}
