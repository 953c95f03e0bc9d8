#!/bin/sh
# The main job, end to end, on examples/: make a busybox base image from
# Debian's busybox-static, import it into a store, look at it, export it
# as an OCI layout and archive that other tools read, unpack it safely,
# and verify the store; then lint a Dockerfile against a policy and rebase
# it. Everything lands in examples/out/.
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
step petra fsck
printf '\nReproducible: SOURCE_DATE_EPOCH=%s, so the digest above is the same on every run.\n' "$SOURCE_DATE_EPOCH"

# Definitions are source: lint a Dockerfile against the policy, then let the
# policy's rewrite rules update its bases, byte for byte.
cp lint/Dockerfile "$OUT/Dockerfile"
cd "$OUT"
printf '\n\033[1m$ petra lint --policy policy.yaml Dockerfile\033[0m\n'
"$PETRA" lint --policy ../lint/policy.yaml Dockerfile || echo "(exit status $?: findings at or above the threshold)"
printf '\n\033[1m$ petra rebase --policy policy.yaml Dockerfile\033[0m\n'
"$PETRA" rebase --policy ../lint/policy.yaml Dockerfile
printf '\n\033[1m$ petra rebase --write ... && petra lint --format sarif ... | jq ...\033[0m\n'
"$PETRA" rebase --policy ../lint/policy.yaml --write Dockerfile 2>/dev/null
"$PETRA" lint --policy ../lint/policy.yaml --format sarif --failure-threshold none Dockerfile |
	jq -c '.runs[0].results[] | {ruleId, level, line: .locations[0].physicalLocation.region.startLine}'
cd - >/dev/null
