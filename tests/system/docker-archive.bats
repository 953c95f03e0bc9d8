#!/usr/bin/env bats
# petra import of `docker save` archives (made here by skopeo and podman,
# which write the same docker-archive format): detected from the file, or
# named docker-archive:FILE, imported as the images they are.

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

@test "a docker-archive from skopeo is the image it holds, found without a prefix" {
	skopeo copy -q "oci:$BATS_TEST_TMPDIR/layout:1" docker-archive:sk.tar:example.com/app:2
	run petra import sk.tar
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == "example.com/app:2 sha256:"* ]]
	run petra run --rm example.com/app:2 true
	[ "$status" -eq 0 ]
	# The same archive with the transport named, under another name.
	run petra import docker-archive:sk.tar --ref other:1
	[ "$status" -eq 0 ]
	[[ "$output" == "other:1 sha256:"* ]]
	# It unpacks as what skopeo makes of the same archive (its OCI copy).
	skopeo copy -q docker-archive:sk.tar "oci:$BATS_TEST_TMPDIR/via-skopeo:x"
	petra import -q "oci:$BATS_TEST_TMPDIR/via-skopeo:x" --ref via-skopeo:1 >/dev/null
	petra unpack example.com/app:2 mine
	petra unpack via-skopeo:1 theirs
	diff -r --no-dereference mine theirs
	run petra fsck
	[ "$status" -eq 0 ]
	# Not a root filesystem holding manifest.json.
	[ ! -e mine/manifest.json ]
}

@test "a podman save archive of two images: each imported under its RepoTags" {
	local p="/tmp/petra-docker-archive-$$-$RANDOM"
	local podman=(podman --root "$p/root" --runroot "$p/runroot" --storage-driver vfs
		--events-backend file)
	# podman names a pulled layout after its path, which must be lower case.
	petra export bb:root "oci:$p/one:1"
	petra export bb:user "oci:$p/two:1"
	"${podman[@]}" pull -q "oci:$p/one:1" >/dev/null
	"${podman[@]}" pull -q "oci:$p/two:1" >/dev/null
	"${podman[@]}" tag "localhost$p/one:latest" localhost/first:1
	"${podman[@]}" tag "localhost$p/two:latest" localhost/second:2
	"${podman[@]}" save -q -m --format docker-archive -o two.tar localhost/first:1 localhost/second:2
	"${podman[@]}" system reset -f >/dev/null 2>&1 || true
	rm -rf "$p"
	run petra import two.tar
	echo "$output"
	[ "$status" -eq 0 ]
	run petra images --format json
	echo "$output" | jq -r '.[] | select(.name | startswith("localhost/")) | "\(.name):\(.tag)"' | sort >names
	cat names
	[ "$(cat names)" = "$(printf 'localhost/first:1\nlocalhost/second:2')" ]
	run petra run --rm localhost/first:1 true
	[ "$status" -eq 0 ]
	run petra run --rm localhost/second:2 id -u
	[ "$status" -eq 0 ]
	[ "$output" = 65534 ]
	# One name for several images is refused.
	run petra import two.tar --ref x:1
	[ "$status" -ne 0 ]
	[[ "$output" == *"holds 2 images"* ]]
}

@test "a docker-archive whose layer does not match its diff_id is refused" {
	skopeo copy -q "oci:$BATS_TEST_TMPDIR/layout:1" docker-archive:sk.tar:bad:1
	mkdir x && tar -C x -xf sk.tar
	local layer
	layer=$(jq -r '.[0].Layers[0]' x/manifest.json)
	layer=$(readlink -f "x/$layer")
	echo extra >y && tar -rf "$layer" y
	(cd x && tar -cf ../bad.tar *)
	run petra import docker-archive:bad.tar
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"layer 1 ("*") hashes to sha256:"*", its diff_id is sha256:"* ]]
	run petra images -q
	[ -z "$output" ] || ! echo "$output" | grep -q bad
}

@test "a docker-archive with a gzip layer loads and imports; one not matching its diff_id is refused" {
	skopeo copy -q "oci:$BATS_TEST_TMPDIR/layout:1" docker-archive:sk.tar:example.com/gz:1
	mkdir x && tar -C x -xf sk.tar
	local layer
	layer=$(jq -r '.[0].Layers[0]' x/manifest.json)
	layer=$(readlink -f "x/$layer")
	cp "$layer" plain.tar
	gzip -n -c plain.tar >"$layer"
	(cd x && tar -cf ../gz.tar *)
	run petra load -i gz.tar
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == "example.com/gz:1 sha256:"* ]]
	petra inspect --manifest example.com/gz:1 | jq -r '.layers[0].mediaType' | grep -q 'tar+gzip$'
	run petra run --rm example.com/gz:1 true
	[ "$status" -eq 0 ]
	run petra import docker-archive:gz.tar --ref gz:2
	[ "$status" -eq 0 ]
	run petra fsck
	[ "$status" -eq 0 ]
	# The same layer with a file added, gzipped: its diff_id no longer holds.
	echo extra >y && tar -rf plain.tar y
	gzip -n -c plain.tar >"$layer"
	(cd x && tar -cf ../bad.tar *)
	run petra load -i bad.tar
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"layer 1 ("*"not to the config's diff_id"* ]]
}
