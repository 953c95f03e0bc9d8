#!/usr/bin/env bats
# petra build against buildah bud on the same Dockerfiles and bases: the
# same final filesystem and config. And what petra builds, skopeo, umoci
# and podman (with runc) accept.

load build-helpers
bats_require_minimum_version 1.5.0

CASES="$BATS_TEST_DIRNAME/../data/build"

setup_file() {
	build_setup_file debian
	# The same bases under the same names in both tools.
	local base layout
	for base in bb deb; do
		petra tag "$base:1" "localhost/petra-$base:1" >/dev/null
		layout="$BATS_FILE_TMPDIR/base-$base"
		petra export "$base:1" "oci:$layout:1"
		skopeo copy -q "oci:$layout:1" \
			"containers-storage:[vfs@$BATS_FILE_TMPDIR/containers+$BATS_FILE_TMPDIR/containers-run]localhost/petra-$base:1"
	done
}

buildah_file() {
	buildah --root "$BATS_FILE_TMPDIR/containers" --runroot "$BATS_FILE_TMPDIR/containers-run" \
		--storage-driver vfs "$@"
}

# What both tools must agree on in a config; io.buildah.version aside,
# missing and empty the same. Env is a mapping: buildah moves a variable
# that ENV changes to the end, petra (as BuildKit) changes it in place.
config_view() {
	jq -S -c '.config // {} | {
		Env: ((.Env // []) | sort),
		Cmd: (.Cmd // null),
		Entrypoint: (.Entrypoint // null),
		User: (.User // ""),
		WorkingDir: (.WorkingDir // ""),
		ExposedPorts: ((.ExposedPorts // {}) | keys),
		Volumes: ((.Volumes // {}) | keys),
		Labels: ((.Labels // {}) | del(.["io.buildah.version"]))
	}'
}

# parity CASE BASE: build the case with both, compare.
parity() {
	local case=$1 base=$2
	local ctx="$BATS_TEST_TMPDIR/$case-ctx" out="$BATS_TEST_TMPDIR/$case-$base"
	rm -rf "$ctx" "$out"
	mkdir -p "$out"
	cp -a "$CASES/$case" "$ctx"
	if [ -x "$ctx/prepare.sh" ]; then
		(cd "$ctx" && ./prepare.sh) && rm "$ctx/prepare.sh"
	fi
	local args=(--build-arg "BASE=localhost/petra-$base:1")
	petra build -q -t "localhost/parity-$case:$base" "${args[@]}" "$ctx" >/dev/null
	buildah_file bud --isolation chroot --layers -q "${args[@]}" \
		-t "localhost/parity-$case:$base" "$ctx" >/dev/null
	buildah_file push -q "localhost/parity-$case:$base" "oci:$out/layout:b" >/dev/null
	umoci unpack --image "$out/layout:b" "$out/bundle" >/dev/null
	petra unpack --keep-setuid "localhost/parity-$case:$base" "$out/petra"
	assert_same_tree "$out/bundle/rootfs" "$out/petra"
	local mine theirs
	mine=$(petra inspect --config "localhost/parity-$case:$base" | config_view)
	theirs=$(skopeo inspect --config "oci:$out/layout:b" | config_view)
	if [ "$mine" != "$theirs" ]; then
		echo "config differs:"
		echo "petra:   $mine"
		echo "buildah: $theirs"
		return 1
	fi
}

@test "parity with buildah: the config instructions, RUN, deletions, links (busybox, Debian)" {
	parity instructions bb
	parity instructions deb
}

@test "parity with buildah: COPY and ADD in their forms, .dockerignore (busybox, Debian)" {
	parity copy bb
	parity copy deb
}

@test "parity with buildah: multi-stage builds (busybox, Debian)" {
	parity multistage bb
	parity multistage deb
}

@test "parity with buildah: users, owners, setuid (busybox, Debian)" {
	parity users bb
	parity users deb
}

@test "parity with buildah: FROM scratch, and .dockerignore exceptions" {
	parity scratch bb
	parity dockerignore bb
}

@test "skopeo and umoci accept what petra builds" {
	local ctx="$BATS_TEST_TMPDIR/multistage"
	cp -a "$CASES/multistage" "$ctx"
	petra build -q -t accept:1 "$ctx" >/dev/null
	petra export accept:1 "oci:$BATS_TEST_TMPDIR/layout:1"
	run skopeo inspect "oci:$BATS_TEST_TMPDIR/layout:1"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.Layers | length')" = \
		"$(petra inspect --manifest accept:1 | jq '.layers | length')" ]
	# A copy through skopeo keeps every digest.
	skopeo copy -q "oci:$BATS_TEST_TMPDIR/layout:1" "oci:$BATS_TEST_TMPDIR/copy:1"
	[ "$(layout_digest "$BATS_TEST_TMPDIR/copy" 1)" = "$(layout_digest "$BATS_TEST_TMPDIR/layout" 1)" ]
	umoci unpack --image "$BATS_TEST_TMPDIR/layout:1" "$BATS_TEST_TMPDIR/bundle" >/dev/null
	[ "$(jq -c .process.args "$BATS_TEST_TMPDIR/bundle/config.json")" = '["/usr/local/bin/program"]' ]
	petra unpack --keep-setuid accept:1 "$BATS_TEST_TMPDIR/mine"
	assert_same_tree "$BATS_TEST_TMPDIR/bundle/rootfs" "$BATS_TEST_TMPDIR/mine"
}

@test "podman runs what petra builds (runc)" {
	dockerfile 'FROM bb:1
RUN echo "built by petra" > /msg
USER app
WORKDIR /home/app
ENV GREETING=hello
CMD ["sh", "-c", "cat /msg; echo $GREETING; id -u; pwd"]'
	petra build -q -t podman-run:1 "$CTX" >/dev/null
	# podman names the image after the layout's path: lower case.
	local p="/tmp/petra-build-podman-$$-$RANDOM"
	petra export podman-run:1 "oci:$p/layout:1"
	local podman=(podman --root "$p/root" --runroot "$p/runroot" --storage-driver vfs
		--events-backend file --runtime runc --cgroup-manager cgroupfs)
	run "${podman[@]}" run --rm -q --network none \
		--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 "oci:$p/layout:1"
	"${podman[@]}" system reset -f >/dev/null 2>&1 || true
	rm -rf "$p"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "built by petra"$'\n'"hello"$'\n'"1000"$'\n'"/home/app" ]
}
