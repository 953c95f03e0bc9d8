# Helpers for audit and harden tests: images made layer by layer with the
# real tools, as a Dockerfile would make them. The base is a busybox
# rootfs imported by petra; every further layer is a change to an umoci
# bundle repacked with its history step (umoci writes the whiteouts).

load runtime-helpers

# layered_start LAYOUT: export busybox-like base "base:1" into LAYOUT (tag
# 1) and unpack it into LAYOUT.bundle for changes.
layered_start() {
	local layout=$1
	make_runtime_rootfs "$BATS_TEST_TMPDIR/base-rootfs"
	petra import -q "$BATS_TEST_TMPDIR/base-rootfs" --ref base:1 >/dev/null
	petra export base:1 "oci:$layout:1"
	umoci unpack --image "$layout:1" "$layout.bundle" >/dev/null
	LAYERED_TAG=1
}

# layer LAYOUT "CREATED BY" COMMAND...: run COMMAND (in the bundle's
# rootfs directory, as root on the host) and repack the change as a layer
# with that history step.
layer() {
	local layout=$1 by=$2
	shift 2
	(cd "$layout.bundle/rootfs" && "$@")
	local next=$((LAYERED_TAG + 1))
	umoci repack --refresh-bundle --history.created_by "$by" --image "$layout:$next" \
		"$layout.bundle" >/dev/null
	LAYERED_TAG=$next
}

# layered_finish LAYOUT NAME [umoci config options]: the last tag with
# its config into petra's store as NAME; the base digest recorded as
# builders do (a manifest annotation).
layered_finish() {
	local layout=$1 name=$2
	shift 2
	local base
	base=$(petra inspect base:1 | jq -r '.[0].digest')
	umoci config --image "$layout:$LAYERED_TAG" --tag final "$@" \
		--manifest.annotation "org.opencontainers.image.base.digest=$base" >/dev/null
	petra import -q "oci:$layout:final" --ref "$name" >/dev/null
	rm -rf "$layout.bundle"
}

# The layer blobs of an image, uncompressed, on stdout.
image_layer_bytes() {
	local d
	for d in $(petra inspect "$1" | jq -r '.[0].manifest.layers[].digest'); do
		gzip -dc "$PETRA_ROOT/blobs/sha256/${d#sha256:}"
	done
}

# audit_json IMAGE: the JSON report (any exit status).
audit_json() {
	petra audit --format json --fail-on none "$1"
}

# findings JSON ID: the findings with that id, one JSON object a line.
findings() {
	echo "$1" | jq -c --arg id "$2" '.findings[] | select(.id == $id)'
}
