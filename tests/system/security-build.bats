#!/usr/bin/env bats
# A build's own steps cannot make the layer it commits differ from what
# they built: overlayfs's marks are read only under overlayfs's own name.

load build-helpers

@test "an opaque mark set by a RUN (user.overlay.opaque through root's overlay) does not empty the directory in the layer" {
	cc -static -O2 -o "$CTX/setx" "$TESTS_DATA/probe/setxattr.c"
	# Through a root build's overlay, user.overlay.* is an ordinary
	# attribute (overlayfs's own are trusted.overlay.*): /etc keeps the
	# base's files in the build, and must in the layer.
	dockerfile 'FROM bb:1
COPY setx /bin/setx
RUN /bin/setx /etc user.overlay.opaque && echo x >/etc/new && test -f /etc/passwd'
	run petra build -t opq:1 "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	local digest listing=
	for digest in $(petra inspect opq:1 | jq -r '.[0].manifest.layers[].digest'); do
		listing+=$(tar -tzf "$PETRA_ROOT/blobs/sha256/${digest#sha256:}")$'\n'
	done
	echo "$listing"
	[[ "$listing" == *etc/new* ]]
	[[ "$listing" != *.wh..wh..opq* ]]
	run petra unpack opq:1 "$BATS_TEST_TMPDIR/out"
	[ -f "$BATS_TEST_TMPDIR/out/etc/passwd" ]
}
