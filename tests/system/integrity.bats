#!/usr/bin/env bats
# Corrupted blobs and hostile layers: named, refused, nothing left behind.

load helpers

setup() {
	petra_setup_store
}

corrupt_blob() {
	local path="$PETRA_ROOT/blobs/sha256/${1#sha256:}"
	chmod u+w "$path"
	printf 'X' | dd of="$path" bs=1 seek="${2:-100}" conv=notrunc status=none
}

@test "a corrupted layer: fsck names it and exits 1; unpack refuses and leaves no target" {
	import_busybox busybox:1
	local layer
	layer=$(petra inspect --manifest busybox:1 | jq -r '.layers[0].digest')
	# Sound: a result line on stdout, nothing on stderr.
	[ "$(petra fsck 2>/dev/null)" = "ok: $PETRA_ROOT is sound" ]
	[ -z "$(petra fsck 2>&1 >/dev/null)" ]
	corrupt_blob "$layer" 5000
	run petra fsck
	[ "$status" -eq 1 ]
	[[ "$output" == *"$layer: corrupt: content hashes to sha256:"* ]]
	[[ "$(petra fsck 2>&1 >/dev/null)" == "petra: fsck: "*" problem"*" in $PETRA_ROOT" ]]
	run petra unpack busybox:1 "$BATS_TEST_TMPDIR/target"
	[ "$status" -eq 1 ]
	[[ "$output" == "petra: unpack busybox:1: layer 1 (sha256:${layer:7:12}): "* ]]
	[ ! -e "$BATS_TEST_TMPDIR/target" ]
	# No half-unpacked temporary directory either.
	[ -z "$(ls -A "$BATS_TEST_TMPDIR" | grep petra- || true)" ]
}

@test "fsck finds a missing blob, a bad diff_id and a corrupt config" {
	import_busybox a:1
	make_busybox_rootfs "$BATS_TEST_TMPDIR/r2"
	echo different >"$BATS_TEST_TMPDIR/r2/extra"
	petra import -q "$BATS_TEST_TMPDIR/r2" --ref b:1
	local la cb
	la=$(petra inspect --manifest a:1 | jq -r '.layers[0].digest')
	cb=$(petra inspect --manifest b:1 | jq -r '.config.digest')
	rm -f "$PETRA_ROOT/blobs/sha256/${la#sha256:}"
	corrupt_blob "$cb" 10
	run petra fsck --format json
	[ "$status" -eq 1 ]
	[ "$(echo "$output" | jq -r .ok)" = false ]
	echo "$output" | jq -e --arg d "$la" '.problems[] | select(.object == $d and (.problem | startswith("missing")))'
	echo "$output" | jq -e --arg d "$cb" '.problems[] | select(.object == $d and (.problem | startswith("corrupt")))'
	# A layer whose content does not match the config's diff_id (the blob
	# itself is sound: the image was put together wrongly).
	printf 'not a tar at all, but a valid blob' >"$BATS_TEST_TMPDIR/bogus.tar"
	make_layout_with_layers "$BATS_TEST_TMPDIR/L" t "$BATS_TEST_TMPDIR/bogus.tar"
	local cfg
	cfg=$(jq -r '.manifests[0].digest' "$BATS_TEST_TMPDIR/L/index.json")
	# Rewrite the config with a wrong diff_id and fix up the digests.
	local m="$BATS_TEST_TMPDIR/L/blobs/sha256/${cfg#sha256:}"
	local cd
	cd=$(jq -r .config.digest "$m")
	jq -c '.rootfs.diff_ids = ["sha256:0000000000000000000000000000000000000000000000000000000000000000"]' \
		"$BATS_TEST_TMPDIR/L/blobs/sha256/${cd#sha256:}" | tr -d '\n' >"$BATS_TEST_TMPDIR/cfg.json"
	local ncd nsz
	ncd=$(sha256sum "$BATS_TEST_TMPDIR/cfg.json" | cut -d' ' -f1)
	nsz=$(stat -c %s "$BATS_TEST_TMPDIR/cfg.json")
	cp "$BATS_TEST_TMPDIR/cfg.json" "$BATS_TEST_TMPDIR/L/blobs/sha256/$ncd"
	jq -c --arg d "sha256:$ncd" --argjson s "$nsz" '.config.digest = $d | .config.size = $s' "$m" |
		tr -d '\n' >"$BATS_TEST_TMPDIR/m.json"
	local nmd
	nmd=$(sha256sum "$BATS_TEST_TMPDIR/m.json" | cut -d' ' -f1)
	cp "$BATS_TEST_TMPDIR/m.json" "$BATS_TEST_TMPDIR/L/blobs/sha256/$nmd"
	jq -c --arg d "sha256:$nmd" --argjson s "$(stat -c %s "$BATS_TEST_TMPDIR/m.json")" \
		'.manifests[0].digest = $d | .manifests[0].size = $s' "$BATS_TEST_TMPDIR/L/index.json" >"$BATS_TEST_TMPDIR/i.json"
	mv "$BATS_TEST_TMPDIR/i.json" "$BATS_TEST_TMPDIR/L/index.json"
	PETRA_ROOT="$BATS_TEST_TMPDIR/s2" petra import -q "oci:$BATS_TEST_TMPDIR/L:t" --ref wrong:1
	run env PETRA_ROOT="$BATS_TEST_TMPDIR/s2" "$PETRA" fsck
	[ "$status" -eq 1 ]
	[[ "$output" == *"not to the config's diff_id sha256:0000000000"* ]]
	run env PETRA_ROOT="$BATS_TEST_TMPDIR/s2" "$PETRA" fsck --quick
	[ "$status" -eq 0 ]
}

@test "import from a layout verifies blobs: a corrupt layer is not imported" {
	import_busybox a:1
	petra export a:1 "oci:$BATS_TEST_TMPDIR/L:1"
	local layer
	layer=$(petra inspect --manifest a:1 | jq -r '.layers[0].digest')
	chmod u+w "$BATS_TEST_TMPDIR/L/blobs/sha256/${layer#sha256:}"
	printf 'X' | dd of="$BATS_TEST_TMPDIR/L/blobs/sha256/${layer#sha256:}" bs=1 seek=300 conv=notrunc status=none
	run env PETRA_ROOT="$BATS_TEST_TMPDIR/s2" "$PETRA" import "oci:$BATS_TEST_TMPDIR/L:1"
	[ "$status" -eq 1 ]
	[[ "$output" == *"layer 1: blob $layer: content hashes to"* ]]
	run env PETRA_ROOT="$BATS_TEST_TMPDIR/s2" "$PETRA" images -q
	[ -z "$output" ]
	run env PETRA_ROOT="$BATS_TEST_TMPDIR/s2" "$PETRA" fsck
	[ "$status" -eq 0 ]
}

# Each hostile layer of tests/data/hostile, wrapped in an image, is refused by
# unpack with its own message; no target and nothing outside it remain.
hostile_case() {
	local file=$1 message=$2
	local L="$BATS_TEST_TMPDIR/layout-$file"
	make_layout_with_layers "$L" t "$TESTS_DATA/hostile/$file"
	petra import -q "oci:$L:t" --ref "hostile:${file%%.*}"
	mkdir -p "$BATS_TEST_TMPDIR/sandbox"
	run petra unpack "hostile:${file%%.*}" "$BATS_TEST_TMPDIR/sandbox/target"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == "petra: unpack hostile:${file%%.*}: layer 1 (sha256:"*"$message"* ]]
	[ -z "$(ls -A "$BATS_TEST_TMPDIR/sandbox")" ]
	[ ! -e /tmp/petra-hostile-canary ]
}

@test "hostile: path traversal" { hostile_case traversal.tar '"../petra-hostile-canary": ".." component escapes the root'; }
@test "hostile: nested traversal" { hostile_case traversal-nested.tar '".." component escapes the root'; }
@test "hostile: absolute path" { hostile_case absolute.tar '"/tmp/petra-hostile-canary": absolute path'; }
@test "hostile: symlink escape" { hostile_case symlink-escape.tar '"link": a symlink leads out of the root'; }
@test "hostile: absolute symlink climbing above /" { hostile_case symlink-escape-absolute.tar 'a symlink leads out of the root'; }
@test "hostile: hardlink escape" { hostile_case hardlink-escape.tar '"passwd": hardlink target: "../../../../../../etc/passwd"'; }
@test "hostile: hardlink through an escaping symlink" { hostile_case hardlink-symlink-escape.tar '"passwd": hardlink target: "up/etc": a symlink leads out of the root'; }
@test "hostile: whiteout naming .." { hostile_case whiteout-dotdot.tar '"a/.wh...": whiteout names ".."'; }
@test "hostile: whiteout through an escaping symlink" { hostile_case whiteout-symlink-escape.tar '"up": a symlink leads out of the root'; }
@test "hostile: device node" { hostile_case device.tar '"dev/sda": block device node 8:0 refused'; }
@test "hostile: duplicate entry" { hostile_case duplicate.tar '"etc/passwd": duplicate entry'; }
@test "hostile: truncated tar" { hostile_case truncated.tar 'runcated'; }
@test "hostile: gzip bomb" { hostile_case bomb.tar.gz 'expands more than 250 times'; }
@test "hostile: a path 1,100 levels deep" { hostile_case deep.tar 'path too deep (more than 1024 levels)'; }
@test "hostile: symlinks multiplying depth" { hostile_case deep-symlinks.tar 'path too deep'; }
@test "hostile: opaque marker through a symlink" { hostile_case opaque-symlink.tar '"l": opaque marker in a directory reached through a symlink'; }

@test "unpack writes through no predictable temporary name and leaves a 0755 root" {
	import_busybox a:1
	mkdir -m 1777 "$BATS_TEST_TMPDIR/shared"
	petra unpack a:1 "$BATS_TEST_TMPDIR/shared/rootfs"
	[ "$(stat -c %a "$BATS_TEST_TMPDIR/shared/rootfs")" = 755 ]
	[ "$(stat -c %U "$BATS_TEST_TMPDIR/shared/rootfs")" = "$(id -un)" ]
	[ "$(ls -A "$BATS_TEST_TMPDIR/shared")" = rootfs ]
}

@test "unpack refuses an existing non-empty target and fills an empty one" {
	import_busybox a:1
	mkdir -p "$BATS_TEST_TMPDIR/full" "$BATS_TEST_TMPDIR/empty"
	touch "$BATS_TEST_TMPDIR/full/x"
	run petra unpack a:1 "$BATS_TEST_TMPDIR/full"
	[ "$status" -eq 1 ]
	[[ "$output" == *"exists and is not an empty directory"* ]]
	[ "$(ls "$BATS_TEST_TMPDIR/full")" = x ]
	petra unpack a:1 "$BATS_TEST_TMPDIR/empty"
	[ -x "$BATS_TEST_TMPDIR/empty/bin/busybox" ]
}
