# The lineage hierarchy of issue 15, built into $PETRA_ROOT without network:
#
#   base:1 ─┬─ runtime:1 (FROM base:1, RUN) ─┬─ app-a:1 (RUN) ── app-a:hard (petra harden)
#           │                                └─ app-b:1 (COPY)
#           ├─ app-c:1 (FROM base:1, COPY only)
#           ├─ app-d:1 (stage "builder" FROM base:1; final FROM scratch, COPY --from=builder)
#           └─ bah:1   (built by buildah FROM base:1, imported: no petra record)
#   base:2 (the patched base: base:1's files plus one), other:1 (unrelated)
#
# Source this after helpers.bash (or build-helpers.bash); it loads what it
# needs from build-helpers.bash. `lineage_fixture DIR` builds everything
# (DIR holds the contexts, rootfs and buildah's storage); with
# LINEAGE_FIXTURE_NO_BUILDAH=1 the buildah image is left out (it is the
# slow part). Afterwards LINEAGE_CTX is DIR/ctx, with one context per image
# (its Dockerfile inside), for tests that rebuild them.

# make_build_rootfs comes from build-helpers.bash.
if ! declare -F make_build_rootfs >/dev/null; then
	# shellcheck source=/dev/null
	. "$BATS_TEST_DIRNAME/build-helpers.bash"
fi

# lineage_dockerfile NAME TEXT: the context DIR/ctx/NAME with TEXT as its
# Dockerfile and a file to COPY.
lineage_dockerfile() {
	local ctx="$LINEAGE_CTX/$1"
	mkdir -p "$ctx"
	printf '%s\n' "$2" >"$ctx/Dockerfile"
	printf '%s\n' "$1" >"$ctx/payload.txt"
}

lineage_fixture() {
	local dir=${1:?lineage_fixture DIR}
	mkdir -p "$dir"
	LINEAGE_CTX="$dir/ctx"
	export LINEAGE_CTX

	make_build_rootfs "$dir/base-rootfs"
	petra import -q "$dir/base-rootfs" --ref base:1 >/dev/null || return 1
	echo "patched" >"$dir/base-rootfs/etc/base-release"
	petra import -q "$dir/base-rootfs" --ref base:2 >/dev/null || return 1

	make_busybox_rootfs "$dir/other-rootfs"
	echo "other" >"$dir/other-rootfs/etc/other-release"
	petra import -q "$dir/other-rootfs" --ref other:1 >/dev/null || return 1

	lineage_dockerfile runtime 'FROM base:1
RUN mkdir -p /opt/runtime && echo runtime >/opt/runtime/version'
	lineage_dockerfile app-a 'FROM runtime:1
RUN echo app-a >/opt/runtime/app-a && chmod 0644 /opt/runtime/app-a
USER 1000'
	lineage_dockerfile app-b 'FROM runtime:1
COPY payload.txt /opt/app-b/payload.txt'
	lineage_dockerfile app-c 'FROM base:1
COPY payload.txt /srv/app-c/payload.txt'
	lineage_dockerfile app-d 'FROM base:1 AS builder
RUN mkdir -p /out && echo built-by-builder >/out/app-d
FROM scratch
COPY --from=builder /out/app-d /app-d'

	local image
	for image in runtime app-a app-b app-c app-d; do
		petra build -q -t "$image:1" "$LINEAGE_CTX/$image" >/dev/null || {
			echo "lineage_fixture: petra build of $image:1 failed" >&2
			return 1
		}
	done
	petra harden -q app-a:1 -t app-a:hard --writable /tmp >/dev/null || return 1

	[ "${LINEAGE_FIXTURE_NO_BUILDAH:-}" = 1 ] && return 0
	# buildah builds FROM base:1 (its own storage under DIR); the result
	# comes back through an OCI layout, without any petra record.
	local storage="[vfs@$dir/containers+$dir/containers-run]"
	petra export base:1 "oci:$dir/base-layout:1" || return 1
	skopeo copy -q "oci:$dir/base-layout:1" "containers-storage:${storage}localhost/base:1" ||
		return 1
	lineage_dockerfile bah 'FROM localhost/base:1
RUN echo by-buildah >/etc/built-by'
	buildah --root "$dir/containers" --runroot "$dir/containers-run" --storage-driver vfs \
		bud -q --isolation chroot -t localhost/bah:1 "$LINEAGE_CTX/bah" >/dev/null || return 1
	buildah --root "$dir/containers" --runroot "$dir/containers-run" --storage-driver vfs \
		push -q localhost/bah:1 "oci:$dir/bah-layout:1" >/dev/null || return 1
	petra import -q "oci:$dir/bah-layout:1" --ref bah:1 >/dev/null || return 1
}
