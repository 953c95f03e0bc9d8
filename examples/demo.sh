#!/bin/sh
# The main job, end to end, on examples/: make a busybox base image from
# Debian's busybox-static, import it into a store, look at it, export it
# as an OCI layout and archive that other tools read, unpack it safely,
# build images from it (a Dockerfile, a two-step flow) and verify the
# store. Everything lands in examples/out/.
#   examples/demo.sh [PETRA]
set -eu
PETRA=${1:-$(dirname "$0")/../build/petra}
PETRA=$(cd "$(dirname "$PETRA")" && pwd)/$(basename "$PETRA")
cd "$(dirname "$0")"
OUT=$PWD/out
rm -rf "$OUT"
mkdir -p "$OUT"
export PETRA_ROOT="$OUT/store"
export SOURCE_DATE_EPOCH=1700000000

step() {
	printf '\n\033[1m$ %s\033[0m\n' "$*"
	"$@"
}

busybox/make-rootfs.sh "$OUT/busybox-rootfs"
echo "made a busybox root filesystem in out/busybox-rootfs ($(ls "$OUT/busybox-rootfs/bin" | wc -l) applets)"
petra() { "$PETRA" "$@"; }
step petra import "$OUT/busybox-rootfs" --ref busybox:1.35
step petra images
step petra history busybox:1.35
printf '\n\033[1m$ petra inspect busybox:1.35 | jq ...\033[0m\n'
"$PETRA" inspect busybox:1.35 | jq '.[0] | {name, digest, layers: [.manifest.layers[] | {mediaType, size}], created: .config.created, diff_ids: .config.rootfs.diff_ids}'
step petra export busybox:1.35 "oci:$OUT/layout"
step petra export busybox:1.35 "oci-archive:$OUT/busybox.tar"
if command -v skopeo >/dev/null; then
	printf '\n\033[1m$ skopeo inspect oci:out/layout:1.35 | jq ...\033[0m\n'
	skopeo inspect "oci:$OUT/layout:1.35" | jq '{Digest, Architecture, Os, Layers}'
fi
step petra unpack busybox:1.35 "$OUT/rootfs"
printf '\n\033[1m$ out/rootfs/bin/busybox echo ...\033[0m\n'
"$OUT/rootfs/bin/busybox" echo "the unpacked busybox runs"
# Build: a Dockerfile and its context into an image, no daemon. Twice: the
# second time every step comes from the cache and the digest is the same.
step petra build -t web:1 --build-arg SITE_VERSION=1.0 web
step petra build -q -t web:1 --build-arg SITE_VERSION=1.0 web
step petra history web:1
printf '\n\033[1m$ petra inspect --manifest web:1 | jq .annotations\033[0m\n'
"$PETRA" inspect --manifest web:1 | jq .annotations
# A flow (Habitus build.yml): build and test in a full image with a secret,
# ship the artifact in an image from scratch.
cp -a flow "$OUT/flow"
echo "demo-token-$$" >"$OUT/flow/token.txt"
step petra flow "$OUT/flow/build.yml"
step petra run --rm hello
step petra fsck
printf '\nReproducible: SOURCE_DATE_EPOCH=%s, so the digest above is the same on every run.\n' "$SOURCE_DATE_EPOCH"
