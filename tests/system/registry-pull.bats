#!/usr/bin/env bats
# petra pull and push against Debian's docker-registry over plain HTTP,
# checked with skopeo, umoci and buildah.

load helpers
load registry-helpers

setup() {
	petra_setup_store
	start_registry_with
}

teardown() {
	registry_teardown
}

store2() {
	PETRA_ROOT="$BATS_TEST_TMPDIR/store2" petra "$@"
}

@test "petra push: skopeo pulls the same digest and umoci unpacks what petra unpacks" {
	make_two_layer_image app:1
	local digest
	digest=$(petra images --format json | jq -r '.[] | select(.name == "app" and .tag == "1") | .digest')
	run petra push --tls-verify=false app:1 "$REG/petra/app:1"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "$digest" ]
	run skopeo inspect --tls-verify=false "docker://$REG/petra/app:1"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .Digest)" = "$digest" ]
	skopeo copy -q --src-tls-verify=false "docker://$REG/petra/app:1" "oci:$BATS_TEST_TMPDIR/sk:1"
	[ "$(layout_digest "$BATS_TEST_TMPDIR/sk" 1)" = "$digest" ]
	umoci unpack --image "$BATS_TEST_TMPDIR/sk:1" "$BATS_TEST_TMPDIR/bundle" >/dev/null
	petra unpack app:1 "$BATS_TEST_TMPDIR/mine"
	assert_same_tree "$BATS_TEST_TMPDIR/mine" "$BATS_TEST_TMPDIR/bundle/rootfs"
}

@test "petra pull: by tag and by digest, verified, fsck clean, unpacks as the original" {
	make_two_layer_image app:1
	petra push -q --tls-verify=false app:1 "$REG/petra/app:1" >/dev/null
	local digest
	digest=$(petra images --format json | jq -r '.[] | select(.name == "app" and .tag == "1") | .digest')
	run store2 pull --tls-verify=false "$REG/petra/app:1"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "$REG/petra/app:1 $digest" ]
	[[ "$output" == *"fetched blob"* ]]
	store2 fsck
	store2 unpack "$REG/petra/app:1" "$BATS_TEST_TMPDIR/pulled"
	petra unpack app:1 "$BATS_TEST_TMPDIR/mine"
	assert_same_tree "$BATS_TEST_TMPDIR/mine" "$BATS_TEST_TMPDIR/pulled"
	# Again, by digest: every blob is already there, nothing is fetched.
	run store2 pull --tls-verify=false "$REG/petra/app@$digest"
	[ "$status" -eq 0 ]
	[[ "$output" != *"fetched blob"* ]]
	[[ "$output" == *"have blob"* ]]
	# -q prints only the digest.
	run store2 pull -q --tls-verify=false "$REG/petra/app:1"
	[ "$output" = "$digest" ]
}

@test "petra pull: errors name the reference, the registry's message and code" {
	run petra pull --tls-verify=false "$REG/nothing/here:1"
	[ "$status" -eq 1 ]
	[[ "$output" == "petra: pull $REG/nothing/here:1: "*"(404 NAME_UNKNOWN)" ]] ||
		[[ "$output" == "petra: pull $REG/nothing/here:1: manifest unknown (404 MANIFEST_UNKNOWN)" ]]
	make_two_layer_image app:1 8
	petra push -q --tls-verify=false app:1 "$REG/app:1" >/dev/null
	run petra pull --tls-verify=false "$REG/app:2"
	[ "$status" -eq 1 ]
	[ "$output" = "petra: pull $REG/app:2: manifest unknown (404 MANIFEST_UNKNOWN)" ]
	# Without --tls-verify=false the plain HTTP registry is refused.
	run petra pull "$REG/app:1"
	[ "$status" -eq 1 ]
	[[ "$output" == "petra: pull $REG/app:1: "* ]]
	run petra pull --tls-verify=false --platform linux "$REG/app:1"
	[ "$status" -eq 1 ]
	[[ "$output" == *"expected OS/ARCH"* ]] || [[ "$output" == *"platform"* ]]
}

@test "images pushed by skopeo (OCI and v2s2) pull with their digests and unpack identically" {
	import_busybox bb:1
	petra export bb:1 "oci:$BATS_TEST_TMPDIR/out"
	local format
	for format in oci v2s2; do
		skopeo copy -q --dest-tls-verify=false --format "$format" \
			"oci:$BATS_TEST_TMPDIR/out:1" "docker://$REG/sk/$format:1"
		local want
		want=$(skopeo inspect --tls-verify=false "docker://$REG/sk/$format:1" | jq -r .Digest)
		run store2 pull -q --tls-verify=false "$REG/sk/$format:1"
		[ "$status" -eq 0 ]
		[ "$output" = "$want" ]
		store2 unpack "$REG/sk/$format:1" "$BATS_TEST_TMPDIR/$format"
	done
	[ "$(store2 inspect --manifest "$REG/sk/v2s2:1" | jq -r .mediaType)" = \
		application/vnd.docker.distribution.manifest.v2+json ]
	petra unpack bb:1 "$BATS_TEST_TMPDIR/orig"
	assert_same_tree "$BATS_TEST_TMPDIR/orig" "$BATS_TEST_TMPDIR/oci"
	assert_same_tree "$BATS_TEST_TMPDIR/orig" "$BATS_TEST_TMPDIR/v2s2"
	store2 fsck
}

@test "an image pushed by buildah pulls and unpacks as buildah's own copy" {
	make_busybox_rootfs "$BATS_TEST_TMPDIR/rootfs"
	local ctr
	ctr=$(buildah_isolated from scratch)
	buildah_isolated copy "$ctr" "$BATS_TEST_TMPDIR/rootfs/" / >/dev/null
	buildah_isolated config --cmd /bin/sh "$ctr"
	buildah_isolated commit -q "$ctr" bah:1 >/dev/null
	buildah_isolated push -q --tls-verify=false bah:1 "docker://$REG/bah:1"
	local want
	want=$(skopeo inspect --tls-verify=false "docker://$REG/bah:1" | jq -r .Digest)
	run petra pull -q --tls-verify=false "$REG/bah:1"
	[ "$status" -eq 0 ]
	[ "$output" = "$want" ]
	petra fsck
	petra unpack "$REG/bah:1" "$BATS_TEST_TMPDIR/pulled"
	skopeo copy -q --src-tls-verify=false "docker://$REG/bah:1" "oci:$BATS_TEST_TMPDIR/sk:1"
	umoci unpack --image "$BATS_TEST_TMPDIR/sk:1" "$BATS_TEST_TMPDIR/bundle" >/dev/null
	assert_same_tree "$BATS_TEST_TMPDIR/bundle/rootfs" "$BATS_TEST_TMPDIR/pulled"
}

@test "a multi-platform index (buildah manifest) pulls the host's image, --platform another" {
	make_busybox_rootfs "$BATS_TEST_TMPDIR/rootfs"
	local arch ctr
	for arch in amd64 arm64; do
		ctr=$(buildah_isolated from scratch)
		buildah_isolated copy "$ctr" "$BATS_TEST_TMPDIR/rootfs/" / >/dev/null
		buildah_isolated config --arch "$arch" --os linux --label "arch=$arch" "$ctr"
		buildah_isolated commit -q "$ctr" "img-$arch" >/dev/null
	done
	buildah_isolated manifest create multi >/dev/null
	buildah_isolated manifest add multi containers-storage:localhost/img-amd64 >/dev/null
	buildah_isolated manifest add multi containers-storage:localhost/img-arm64 >/dev/null
	buildah_isolated manifest push -q --all --tls-verify=false multi "docker://$REG/multi:1"
	local raw host_arch
	raw=$(skopeo inspect --raw --tls-verify=false "docker://$REG/multi:1")
	host_arch=$(dpkg --print-architecture)
	local want_host want_arm
	want_host=$(echo "$raw" | jq -r --arg a "$host_arch" '.manifests[] | select(.platform.architecture == $a) | .digest')
	want_arm=$(echo "$raw" | jq -r '.manifests[] | select(.platform.architecture == "arm64") | .digest')
	run petra pull -q --tls-verify=false "$REG/multi:1"
	[ "$status" -eq 0 ]
	[ "$output" = "$want_host" ]
	run petra pull -q --tls-verify=false --platform linux/arm64 "$REG/multi:1"
	[ "$status" -eq 0 ]
	[ "$output" = "$want_arm" ]
	[ "$(petra inspect --config "$REG/multi:1" | jq -r '.config.Labels.arch')" = arm64 ]
	run petra pull --tls-verify=false --platform linux/s390x "$REG/multi:1"
	[ "$status" -eq 1 ]
	[[ "$output" == *"no manifest for linux/s390x"* ]]
}

@test "a second push uploads no blob; another repository mounts instead of uploading" {
	make_two_layer_image app:1
	petra push -q --tls-verify=false app:1 "$REG/one/app:1" >/dev/null
	local first
	first=$(count_uploads)
	[ "$first" -ge 3 ]
	run petra push --tls-verify=false app:1 "$REG/one/app:1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"already has"* ]]
	[ "$(count_uploads)" -eq "$first" ]
	run petra push --tls-verify=false app:1 "$REG/two/app:1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"mounted blob"* ]]
	[ "$(count_uploads)" -eq "$first" ]
	grep -q '"POST /v2/two/app/blobs/uploads/?mount=sha256:[0-9a-f]*&from=one/app HTTP/1.1" 201' "$REG_LOG"
	[ "$(skopeo inspect --tls-verify=false "docker://$REG/two/app:1" | jq -r .Digest)" = \
		"$(skopeo inspect --tls-verify=false "docker://$REG/one/app:1" | jq -r .Digest)" ]
}

@test "large blobs go up in PATCH chunks with their ranges checked" {
	make_two_layer_image app:1 600
	run petra push --tls-verify=false --chunk-size 128k app:1 "$REG/chunked:1"
	[ "$status" -eq 0 ]
	[ "$(grep -c '"PATCH /v2/chunked/blobs/uploads/' "$REG_LOG")" -ge 5 ]
	skopeo copy -q --src-tls-verify=false "docker://$REG/chunked:1" "oci:$BATS_TEST_TMPDIR/sk:1"
	[ "$(layout_digest "$BATS_TEST_TMPDIR/sk" 1)" = "${lines[-1]}" ]
	run petra push --chunk-size 1 app:1 "$REG/chunked:1"
	[ "$status" -eq 2 ]
}

@test "inspect docker://REF reads manifest and config without storing; images --digests shows pulled digests" {
	make_two_layer_image app:1 16
	local digest
	digest=$(petra push -q --tls-verify=false app:1 "$REG/app:1")
	run store2 inspect --tls-verify=false "docker://$REG/app:1"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.[0].digest')" = "$digest" ]
	[ "$(echo "$output" | jq -r '.[0].config.rootfs.diff_ids | length')" = 2 ]
	[ "$(echo "$output" | jq -c '.[0].manifest')" = "$(petra inspect --manifest app:1 | jq -c .)" ]
	[ ! -e "$BATS_TEST_TMPDIR/store2/index.json" ] ||
		[ "$(jq '.manifests | length' "$BATS_TEST_TMPDIR/store2/index.json")" = 0 ]
	run store2 inspect --config --tls-verify=false "docker://$REG/app:1"
	[ "$(echo "$output" | jq -c .)" = "$(petra inspect --config app:1 | jq -c .)" ]
	run store2 inspect --tls-verify=false "docker://$REG/app:404"
	[ "$status" -eq 1 ]
	[ "$output" = "petra: inspect docker://$REG/app:404: manifest unknown (404 MANIFEST_UNKNOWN)" ]
	store2 pull -q --tls-verify=false "$REG/app:1" >/dev/null
	store2 images --digests | grep -q "$digest"
}
