#!/usr/bin/env bats
# petra save / load (the docker save format) with podman both ways, and
# petra copy between the transports.

load helpers
load registry-helpers

setup() {
	petra_setup_store
	P="$BATS_TEST_TMPDIR/podman"
	PODMAN=(podman --root "$P/root" --runroot "$P/runroot" --storage-driver vfs
		--events-backend file --runtime runc --cgroup-manager cgroupfs --tmpdir "$P/tmp")
}

teardown() {
	"${PODMAN[@]}" system reset -f >/dev/null 2>&1 || true
	registry_teardown
}

@test "petra save of two images loads into podman, which runs them" {
	make_busybox_rootfs "$BATS_TEST_TMPDIR/rootfs"
	echo one >"$BATS_TEST_TMPDIR/rootfs/msg"
	petra import -q "$BATS_TEST_TMPDIR/rootfs" --ref one:1 >/dev/null
	echo two >"$BATS_TEST_TMPDIR/rootfs/msg"
	petra import -q --compress zstd "$BATS_TEST_TMPDIR/rootfs" --ref two:1 >/dev/null
	run petra save -o "$BATS_TEST_TMPDIR/images.tar" one:1 two:1
	[ "$status" -eq 0 ]
	tar -tf "$BATS_TEST_TMPDIR/images.tar" | grep -qx manifest.json
	[ "$(tar -xOf "$BATS_TEST_TMPDIR/images.tar" manifest.json | jq -r '.[1].RepoTags[0]')" = two:1 ]
	"${PODMAN[@]}" load -q -i "$BATS_TEST_TMPDIR/images.tar" >/dev/null
	local img
	for img in one two; do
		run "${PODMAN[@]}" run --rm -q --network none \
			--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 "$img:1" cat /msg
		echo "$output"
		[ "$status" -eq 0 ]
		[ "$output" = "$img" ]
	done
	# The image ID (config digest) is the same in podman.
	[ "$("${PODMAN[@]}" image inspect one:1 --format '{{.ID}}')" = \
		"$(petra inspect --manifest one:1 | jq -r .config.digest | cut -d: -f2)" ]
	run petra save -o "$BATS_TEST_TMPDIR/x.tar" missing:1
	[ "$status" -eq 1 ]
	[ ! -e "$BATS_TEST_TMPDIR/x.tar" ]
}

@test "an archive from podman save loads into petra, which runs it" {
	make_busybox_rootfs "$BATS_TEST_TMPDIR/rootfs"
	echo "from podman" >"$BATS_TEST_TMPDIR/rootfs/msg"
	petra import -q "$BATS_TEST_TMPDIR/rootfs" --ref src:1 >/dev/null
	# podman names an oci: image after the layout's path: lower case.
	local layout="/tmp/petra-copy-$$-$RANDOM"
	petra export src:1 "oci:$layout:1"
	local id
	id=$("${PODMAN[@]}" pull -q "oci:$layout:1")
	rm -rf "$layout"
	"${PODMAN[@]}" tag "$id" localhost/pm:1
	"${PODMAN[@]}" save -q -o "$BATS_TEST_TMPDIR/pm.tar" localhost/pm:1
	export PETRA_ROOT="$BATS_TEST_TMPDIR/store2"
	run petra load -i "$BATS_TEST_TMPDIR/pm.tar"
	[ "$status" -eq 0 ]
	[[ "$output" == "localhost/pm:1 sha256:"* ]]
	petra fsck
	run petra run --rm localhost/pm:1 cat /msg
	[ "$status" -eq 0 ]
	[ "$output" = "from podman" ]
	run petra load -i "$BATS_TEST_TMPDIR/rootfs/msg"
	[ "$status" -eq 1 ]
}

@test "petra copy: store -> docker:// -> oci: -> docker-archive: -> store keeps the layers" {
	start_registry_with
	make_two_layer_image app:1 32
	local digest
	digest=$(petra copy -q --tls-verify=false app:1 "docker://$REG/app:1")
	[ "$(skopeo inspect --tls-verify=false "docker://$REG/app:1" | jq -r .Digest)" = "$digest" ]
	export PETRA_ROOT="$BATS_TEST_TMPDIR/store2"
	run petra copy -q --tls-verify=false "docker://$REG/app:1" "oci:$BATS_TEST_TMPDIR/out:1"
	[ "$status" -eq 0 ]
	[ "$output" = "$digest" ]
	[ "$(layout_digest "$BATS_TEST_TMPDIR/out" 1)" = "$digest" ]
	run petra copy -q "oci:$BATS_TEST_TMPDIR/out:1" "docker-archive:$BATS_TEST_TMPDIR/d.tar"
	[ "$status" -eq 0 ]
	export PETRA_ROOT="$BATS_TEST_TMPDIR/store3"
	run petra copy -q "docker-archive:$BATS_TEST_TMPDIR/d.tar" back:1
	[ "$status" -eq 0 ]
	petra unpack back:1 "$BATS_TEST_TMPDIR/back"
	PETRA_ROOT="$BATS_TEST_TMPDIR/store" petra unpack app:1 "$BATS_TEST_TMPDIR/orig"
	assert_same_tree "$BATS_TEST_TMPDIR/orig" "$BATS_TEST_TMPDIR/back"
	petra fsck
}

# upload_blob REPO FILE: a blob into $REG with curl; prints its digest.
upload_blob() {
	local repo=$1 file=$2 digest loc
	digest="sha256:$(sha256sum "$file" | cut -d' ' -f1)"
	loc=$(curl -fsS -i -X POST "http://$REG/v2/$repo/blobs/uploads/" | tr -d '\r' |
		awk 'tolower($1) == "location:" { print $2 }')
	curl -fsS -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$file" \
		"$loc&digest=$digest" >/dev/null
	echo "$digest"
}

@test "petra copy between registries brings the referrers along (the sha256-<hex> tag schema)" {
	start_registry_with
	make_two_layer_image app:1 16
	local subject ssize
	subject=$(petra push -q --tls-verify=false app:1 "$REG/app:1")
	ssize=$(stat -c %s "$PETRA_ROOT/blobs/sha256/${subject#sha256:}")
	# A signature-like artifact whose subject is the image.
	printf '{}' >"$BATS_TEST_TMPDIR/empty"
	echo "signed by the test" >"$BATS_TEST_TMPDIR/sig"
	local empty sig
	empty=$(upload_blob app "$BATS_TEST_TMPDIR/empty")
	sig=$(upload_blob app "$BATS_TEST_TMPDIR/sig")
	local artifact
	artifact=$(jq -cn --arg e "$empty" --arg s "$sig" --arg d "$subject" --argjson n "$ssize" \
		--argjson sn "$(stat -c %s "$BATS_TEST_TMPDIR/sig")" '{schemaVersion: 2,
		mediaType: "application/vnd.oci.image.manifest.v1+json",
		artifactType: "application/vnd.petra.test.sig",
		config: {mediaType: "application/vnd.oci.empty.v1+json", digest: $e, size: 2},
		layers: [{mediaType: "text/plain", digest: $s, size: $sn}],
		subject: {mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $d, size: $n}}')
	printf '%s' "$artifact" >"$BATS_TEST_TMPDIR/artifact"
	local adigest="sha256:$(sha256sum "$BATS_TEST_TMPDIR/artifact" | cut -d' ' -f1)"
	curl -fsS -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
		--data-binary "@$BATS_TEST_TMPDIR/artifact" "http://$REG/v2/app/manifests/$adigest" >/dev/null
	jq -cn --arg a "$adigest" --argjson n "${#artifact}" '{schemaVersion: 2,
		mediaType: "application/vnd.oci.image.index.v1+json",
		manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $a,
		size: $n, artifactType: "application/vnd.petra.test.sig"}]}' >"$BATS_TEST_TMPDIR/index"
	curl -fsS -X PUT -H 'Content-Type: application/vnd.oci.image.index.v1+json' \
		--data-binary "@$BATS_TEST_TMPDIR/index" \
		"http://$REG/v2/app/manifests/sha256-${subject#sha256:}" >/dev/null

	export PETRA_ROOT="$BATS_TEST_TMPDIR/store2"
	run petra copy --tls-verify=false "docker://$REG/app:1" "docker://$REG/copy/app:1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"copied 1 referrer"* ]]
	[ "${lines[-1]}" = "$subject" ]
	local tagged
	tagged=$(curl -fsS -H 'Accept: application/vnd.oci.image.index.v1+json' \
		"http://$REG/v2/copy/app/manifests/sha256-${subject#sha256:}")
	[ "$(echo "$tagged" | jq -r '.manifests | length')" = 1 ]
	[ "$(echo "$tagged" | jq -r '.manifests[0].digest')" = "$adigest" ]
	[ "$(echo "$tagged" | jq -r '.manifests[0].artifactType')" = application/vnd.petra.test.sig ]
	[ "$(curl -fsS -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		"http://$REG/v2/copy/app/manifests/$adigest" | sha256sum | cut -d' ' -f1)" = "${adigest#sha256:}" ]
	[ "$(curl -fsS "http://$REG/v2/copy/app/blobs/$sig")" = "signed by the test" ]
	# Again: the index is merged, not duplicated.
	run petra copy --tls-verify=false "docker://$REG/app:1" "docker://$REG/copy/app:1"
	[ "$status" -eq 0 ]
	[ "$(curl -fsS -H 'Accept: application/vnd.oci.image.index.v1+json' \
		"http://$REG/v2/copy/app/manifests/sha256-${subject#sha256:}" | jq -r '.manifests | length')" = 1 ]
	# The copy has them too: a copy of the copy brings them again.
	run petra copy --tls-verify=false "docker://$REG/copy/app:1" "docker://$REG/third:1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"copied 1 referrer"* ]]
	# An image without referrers: nothing copied, no tag made.
	make_two_layer_image other:1 8
	local other
	other=$(petra push -q --tls-verify=false other:1 "$REG/other:1")
	run petra copy --tls-verify=false "docker://$REG/other:1" "docker://$REG/plain:1"
	[ "$status" -eq 0 ]
	[[ "$output" != *"referrer"* ]]
	run curl -fsS "http://$REG/v2/plain/manifests/sha256-${other#sha256:}"
	[ "$status" -ne 0 ]
}
