#!/usr/bin/env bats
# petra build: the source an image records (org.opencontainers.image.source)
# is the same commit's wherever it is checked out: only a remote, in one
# spelling, never a local path or credentials, so that two clones of one
# commit build the same digest.

load build-helpers
bats_require_minimum_version 1.5.0

EXAMPLES="$BATS_TEST_DIRNAME/../../examples"

setup_file() {
	build_setup_file
	# examples/web builds FROM busybox:1.35.
	SOURCE_DATE_EPOCH=1700000000 petra import -q "$BATS_FILE_TMPDIR/bb-rootfs" \
		--ref busybox:1.35 >/dev/null
}

# build_web CLONE [OPTIONS...]: examples/web built from the clone with a
# source date epoch; prints the digest.
build_web() {
	local clone=$1
	shift
	SOURCE_DATE_EPOCH=1700000000 petra build -q "$@" -t "web-$(basename "$clone"):1" "$clone"
}

# source_of CLONE: the recorded source of its image, "none" when there is none.
source_of() {
	petra inspect --manifest "web-$(basename "$1"):1" |
		jq -r '.annotations["org.opencontainers.image.source"] // "none"'
}

@test "clones with different remote URLs build the same digest; no local path or credentials recorded" {
	local repo="$BATS_TEST_TMPDIR/repo" t="$BATS_TEST_TMPDIR"
	mkdir -p "$repo"
	cp "$EXAMPLES/web/Dockerfile" "$EXAMPLES/web/index.html" "$repo/"
	git -C "$repo" init -q
	git -C "$repo" config user.email t@example.com
	git -C "$repo" config user.name t
	git -C "$repo" add -A
	git -C "$repo" commit -qm web
	local head
	head=$(git -C "$repo" rev-parse HEAD)
	local c
	for c in https ssh scp local file none; do
		git clone -q "$repo" "$t/$c"
	done
	git -C "$t/https" remote set-url origin 'https://user:secret@Example.com/a/petra.git'
	git -C "$t/scp" remote set-url origin 'git@example.com:a/petra.git'
	git -C "$t/ssh" remote set-url origin 'ssh://git@example.com:2222/a/petra.git/'
	git -C "$t/file" remote set-url origin "file://$repo"
	git -C "$t/none" remote remove origin

	local https scp ssh local file none
	https=$(build_web "$t/https")
	scp=$(build_web "$t/scp" --no-cache)
	ssh=$(build_web "$t/ssh")
	local=$(build_web "$t/local")
	file=$(build_web "$t/file")
	none=$(build_web "$t/none" --no-cache)

	# One remote, three spellings: one source, one digest.
	[ "$(source_of "$t/https")" = https://example.com/a/petra.git ]
	[ "$(source_of "$t/scp")" = https://example.com/a/petra.git ]
	[ "$(source_of "$t/ssh")" = https://example.com/a/petra.git ]
	[ "$scp" = "$https" ]
	[ "$ssh" = "$https" ]
	# A local path, a file URL or no remote: no source, and the same digest
	# (the revision is still recorded: it is the same commit).
	[ "$(source_of "$t/local")" = none ]
	[ "$(source_of "$t/file")" = none ]
	[ "$(source_of "$t/none")" = none ]
	[ "$local" = "$none" ]
	[ "$file" = "$none" ]
	[ "$none" != "$https" ]
	[ "$(petra inspect --manifest web-none:1 | jq -r '.annotations["org.opencontainers.image.revision"]')" = "$head" ]
	# Neither the credentials nor a path of this machine is in any image:
	# not in a manifest, not in a config.
	local img
	for img in https scp ssh local file none; do
		run -0 petra inspect --manifest "web-$img:1"
		[[ $output != *"$t"* && $output != *secret* && $output != *user@* ]]
		run -0 petra inspect --config "web-$img:1"
		[[ $output != *"$t"* && $output != *secret* ]]
	done
	! grep -rqF secret "$PETRA_ROOT/blobs"
}
