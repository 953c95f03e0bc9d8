#!/usr/bin/env bats
# petra's store and layers against the real tools: skopeo, umoci, buildah.

load helpers

setup() {
	petra_setup_store
}

@test "an imported image exports to a layout that skopeo and umoci accept, and unpacks as umoci does" {
	import_busybox busybox:1
	petra export busybox:1 "oci:$BATS_TEST_TMPDIR/layout"
	run skopeo inspect "oci:$BATS_TEST_TMPDIR/layout:1"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .Os)" = linux ]
	[ "$(echo "$output" | jq -r '.Layers | length')" = 1 ]
	umoci unpack --image "$BATS_TEST_TMPDIR/layout:1" "$BATS_TEST_TMPDIR/bundle" >/dev/null
	petra unpack busybox:1 "$BATS_TEST_TMPDIR/mine"
	assert_same_tree "$BATS_TEST_TMPDIR/bundle/rootfs" "$BATS_TEST_TMPDIR/mine"
	# The export keeps the digest the store has.
	[ "$(layout_digest "$BATS_TEST_TMPDIR/layout" 1)" = \
		"$(petra images --format json | jq -r '.[0].digest')" ]
}

@test "a tree with every kind of entry survives import, export and unpack exactly as umoci sees it" {
	local t="$BATS_TEST_TMPDIR/tree"
	make_busybox_rootfs "$t"
	mkdir -p "$t/srv/www" "$t/var/empty" "$t/deep/$(printf 'd%.0s' {1..120})/x"
	echo hello >"$t/srv/www/index.html"
	chmod 0640 "$t/srv/www/index.html"
	chmod 4755 "$t/bin/busybox"
	chown -R 33:33 "$t/srv/www"
	chmod 0700 "$t/var/empty"
	ln "$t/srv/www/index.html" "$t/srv/www/hardlink.html"
	ln -s /srv/www/index.html "$t/index-link"
	mkfifo "$t/var/fifo"
	printf 'x%.0s' {1..200000} >"$t/deep/$(printf 'd%.0s' {1..120})/x/big"
	truncate -s 3M "$t/var/sparse"
	petra import -q "$t" --ref rich:1
	petra export rich:1 "oci:$BATS_TEST_TMPDIR/layout"
	umoci unpack --image "$BATS_TEST_TMPDIR/layout:1" "$BATS_TEST_TMPDIR/bundle" >/dev/null
	petra unpack --keep-setuid rich:1 "$BATS_TEST_TMPDIR/mine"
	assert_same_tree "$BATS_TEST_TMPDIR/bundle/rootfs" "$BATS_TEST_TMPDIR/mine"
	assert_same_tree "$t" "$BATS_TEST_TMPDIR/mine"
}

@test "gzip layers petra writes are ordinary gzip; zstd layers ordinary zstd" {
	make_busybox_rootfs "$BATS_TEST_TMPDIR/rootfs"
	for algo in gzip zstd; do
		petra import -q "$BATS_TEST_TMPDIR/rootfs" --ref "c:$algo" --compress "$algo"
		local layer diff_id
		layer=$(petra inspect --manifest "c:$algo" | jq -r '.layers[0].digest')
		diff_id=$(petra inspect --config "c:$algo" | jq -r '.rootfs.diff_ids[0]')
		[ "$(petra inspect --manifest "c:$algo" | jq -r '.layers[0].mediaType')" = \
			"application/vnd.oci.image.layer.v1.tar+$algo" ]
		if [ "$algo" = gzip ]; then
			gzip -t "$PETRA_ROOT/blobs/sha256/${layer#sha256:}"
			[ "sha256:$(gzip -dc "$PETRA_ROOT/blobs/sha256/${layer#sha256:}" | sha256sum | cut -d' ' -f1)" = "$diff_id" ]
		else
			[ "sha256:$(zstd -dc "$PETRA_ROOT/blobs/sha256/${layer#sha256:}" | sha256sum | cut -d' ' -f1)" = "$diff_id" ]
		fi
	done
	# The uncompressed content is the same whatever the compression.
	[ "$(petra inspect --config c:gzip | jq -r '.rootfs.diff_ids[0]')" = \
		"$(petra inspect --config c:zstd | jq -r '.rootfs.diff_ids[0]')" ]
}

@test "with SOURCE_DATE_EPOCH the same tree gives the same digest" {
	# Two copies of a tree (same base name: it goes into the history), one
	# with newer file times, imported at different moments.
	make_busybox_rootfs "$BATS_TEST_TMPDIR/a/rootfs"
	mkdir "$BATS_TEST_TMPDIR/b"
	cp -a "$BATS_TEST_TMPDIR/a/rootfs" "$BATS_TEST_TMPDIR/b/rootfs"
	touch -d '2030-01-01' "$BATS_TEST_TMPDIR/b/rootfs/bin/busybox"
	export SOURCE_DATE_EPOCH=1700000000
	one=$(petra import -q "$BATS_TEST_TMPDIR/a/rootfs" --ref r:a)
	sleep 1
	two=$(petra import -q "$BATS_TEST_TMPDIR/b/rootfs" --ref r:b)
	[ "$one" = "$two" ]
	[ "$(petra inspect --config r:a | jq -r .created)" = "2023-11-14T22:13:20Z" ]
}

@test "an image built by buildah (several layers, whiteouts) imports and unpacks as umoci unpacks it" {
	import_busybox base:1
	petra export base:1 "oci:$BATS_TEST_TMPDIR/base:1"
	# Into buildah's storage under a name of our choosing (it would name a
	# pulled layout after its path, which has upper-case letters here).
	skopeo copy "oci:$BATS_TEST_TMPDIR/base:1" \
		"containers-storage:[vfs@$BATS_TEST_TMPDIR/containers+$BATS_TEST_TMPDIR/containers-run]localhost/petra-base:1" >/dev/null
	cat >"$BATS_TEST_TMPDIR/Dockerfile" <<DOCKERFILE
FROM localhost/petra-base:1
RUN mkdir -p /app/data /app/old && echo one > /app/data/a && echo two > /app/b && ln -s b /app/c && echo x > /app/old/f
RUN rm /app/data/a && rm -rf /app/old && echo fresh > /app/data/new && chmod 0700 /app/data
DOCKERFILE
	buildah_isolated bud --layers --isolation chroot -f "$BATS_TEST_TMPDIR/Dockerfile" -t local/built "$BATS_TEST_TMPDIR" >/dev/null
	buildah_isolated push local/built "oci:$BATS_TEST_TMPDIR/built:x" >/dev/null
	umoci unpack --image "$BATS_TEST_TMPDIR/built:x" "$BATS_TEST_TMPDIR/bundle" >/dev/null
	petra import -q "oci:$BATS_TEST_TMPDIR/built:x"
	# The name comes from the layout's directory and tag.
	petra unpack built:x "$BATS_TEST_TMPDIR/mine"
	assert_same_tree "$BATS_TEST_TMPDIR/bundle/rootfs" "$BATS_TEST_TMPDIR/mine"
	[ ! -e "$BATS_TEST_TMPDIR/mine/app/old" ]
	[ ! -e "$BATS_TEST_TMPDIR/mine/app/data/a" ]
	[ "$(cat "$BATS_TEST_TMPDIR/mine/app/data/new")" = fresh ]
	# Import keeps the manifest digest.
	[ "$(petra images --format json | jq -r '.[] | select(.name=="built") | .digest')" = \
		"$(layout_digest "$BATS_TEST_TMPDIR/built" x)" ]
}

@test "an image made by umoci with a whiteout and an opaque directory unpacks as umoci unpacks it" {
	local L="$BATS_TEST_TMPDIR/umoci"
	umoci init --layout "$L"
	umoci new --image "$L:v1"
	umoci unpack --image "$L:v1" "$BATS_TEST_TMPDIR/b1" >/dev/null
	local r="$BATS_TEST_TMPDIR/b1/rootfs"
	mkdir -p "$r/etc/app" "$r/opaque/sub" "$r/keep"
	echo conf >"$r/etc/app/conf"
	echo secret >"$r/etc/app/secret"
	echo old >"$r/opaque/old"
	echo deep >"$r/opaque/sub/deep"
	echo k >"$r/keep/k"
	umoci repack --image "$L:v1" "$BATS_TEST_TMPDIR/b1" >/dev/null
	# A file deleted: umoci writes a whiteout for it.
	umoci unpack --image "$L:v1" "$BATS_TEST_TMPDIR/b2" >/dev/null
	rm "$BATS_TEST_TMPDIR/b2/rootfs/etc/app/secret"
	umoci repack --image "$L:v2" --refresh-bundle "$BATS_TEST_TMPDIR/b2" >/dev/null 2>&1 ||
		umoci repack --image "$L:v2" "$BATS_TEST_TMPDIR/b2" >/dev/null
	# An opaque directory: a layer with the opaque marker, added by umoci.
	mkdir -p "$BATS_TEST_TMPDIR/opq/opaque"
	echo new >"$BATS_TEST_TMPDIR/opq/opaque/new"
	touch "$BATS_TEST_TMPDIR/opq/opaque/.wh..wh..opq"
	tar --format=pax -C "$BATS_TEST_TMPDIR/opq" -cf "$BATS_TEST_TMPDIR/opq.tar" opaque
	umoci raw add-layer --image "$L:v2" --tag v3 "$BATS_TEST_TMPDIR/opq.tar"
	# The layers really hold a whiteout and an opaque marker.
	local m
	m=$(layout_digest "$L" v3)
	local listing=""
	for l in $(jq -r '.layers[].digest' "$L/blobs/sha256/${m#sha256:}"); do
		listing="$listing$(gzip -dc "$L/blobs/sha256/${l#sha256:}" | tar tf -)"$'\n'
	done
	[[ "$listing" == *"etc/app/.wh.secret"* ]]
	[[ "$listing" == *"opaque/.wh..wh..opq"* ]]
	umoci unpack --image "$L:v3" "$BATS_TEST_TMPDIR/theirs" >/dev/null
	petra import -q "oci:$L:v3" --ref umoci-made:v3
	petra unpack umoci-made:v3 "$BATS_TEST_TMPDIR/mine"
	assert_same_tree "$BATS_TEST_TMPDIR/theirs/rootfs" "$BATS_TEST_TMPDIR/mine"
	[ ! -e "$BATS_TEST_TMPDIR/mine/etc/app/secret" ]
	[ ! -e "$BATS_TEST_TMPDIR/mine/opaque/old" ]
	[ ! -e "$BATS_TEST_TMPDIR/mine/opaque/sub" ]
	[ -e "$BATS_TEST_TMPDIR/mine/opaque/new" ]
	[ -e "$BATS_TEST_TMPDIR/mine/keep/k" ]
}

@test "oci-archive: export, import back with the same digest, and skopeo reads it" {
	import_busybox busybox:2
	petra export busybox:2 "oci-archive:$BATS_TEST_TMPDIR/bb.tar"
	run skopeo inspect "oci-archive:$BATS_TEST_TMPDIR/bb.tar"
	[ "$status" -eq 0 ]
	local before after
	before=$(petra images --format json | jq -r '.[0].digest')
	PETRA_ROOT="$BATS_TEST_TMPDIR/other" petra import -q "oci-archive:$BATS_TEST_TMPDIR/bb.tar:2" --ref again:2
	after=$(PETRA_ROOT="$BATS_TEST_TMPDIR/other" petra images --format json | jq -r '.[0].digest')
	[ "$before" = "$after" ]
	# skopeo's own oci-archive imports too.
	skopeo copy "oci-archive:$BATS_TEST_TMPDIR/bb.tar" "oci-archive:$BATS_TEST_TMPDIR/skopeo.tar:latest" >/dev/null
	petra import -q "oci-archive:$BATS_TEST_TMPDIR/skopeo.tar" --ref from-skopeo:1
	petra unpack from-skopeo:1 "$BATS_TEST_TMPDIR/x"
	[ -x "$BATS_TEST_TMPDIR/x/bin/busybox" ]
}

@test "a rootfs tarball imports as one layer" {
	make_busybox_rootfs "$BATS_TEST_TMPDIR/rootfs"
	tar -C "$BATS_TEST_TMPDIR/rootfs" -czf "$BATS_TEST_TMPDIR/rootfs.tar.gz" .
	run petra import "$BATS_TEST_TMPDIR/rootfs.tar.gz"
	[ "$status" -eq 0 ]
	[[ "$output" == "rootfs:latest sha256:"* ]]
	petra unpack rootfs "$BATS_TEST_TMPDIR/out"
	assert_same_tree "$BATS_TEST_TMPDIR/rootfs" "$BATS_TEST_TMPDIR/out"
}
