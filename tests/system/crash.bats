#!/usr/bin/env bats
# Crash consistency: import, build, rmi and prune each killed with SIGKILL at
# random points (seeded: PETRA_CRASH_SEED, printed), then the store is sound
# (fsck, extracted layers included), every name resolves, every container
# sees its whole image, and one prune brings the store down to exactly what
# its names reference. Small images keep it to about a minute.

load helpers

KILLS=${PETRA_CRASH_KILLS:-20}
FILES=300
BIG=3000

setup() {
	petra_setup_store
	RANDOM=${PETRA_CRASH_SEED:-13}
	echo "# seed ${PETRA_CRASH_SEED:-13}" >&3
}

# busybox plus N (default $FILES) files under /data and a marker naming
# the image.
make_rootfs() {
	local dir=$1 marker=$2 n=${3:-$FILES}
	make_busybox_rootfs "$dir"
	mkdir -p "$dir/data"
	(cd "$dir/data" && seq 1 "$n" | xargs touch)
	echo "$marker" >"$dir/marker"
}

# Run petra ARGS in the background and SIGKILL it after 0 to MS-1
# milliseconds (about the command's own duration here; the process itself
# is killed: "$PETRA", not the petra() function's subshell).
kill_at_random() {
	local ms=$1
	shift
	"$PETRA" "$@" >/dev/null 2>&1 &
	local pid=$!
	sleep "$(printf '0.%03d' $((RANDOM % ms)))"
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# The bytes of the distinct blobs index.json references, through manifests.
referenced_bytes() {
	local idx="$PETRA_ROOT/index.json" m
	{
		jq -r '.manifests[] | "\(.digest) \(.size)"' "$idx"
		for m in $(jq -r '.manifests[].digest' "$idx" | sort -u); do
			jq -r '.config, .layers[] | "\(.digest) \(.size)"' \
				"$PETRA_ROOT/blobs/sha256/${m#sha256:}"
		done
	} | sort -u | awk '{ s += $2 } END { print s + 0 }'
}

stored_bytes() {
	find "$PETRA_ROOT/blobs/sha256" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'
}

@test "import, build, rmi and prune killed at random points leave a sound store" {
	make_rootfs "$BATS_TEST_TMPDIR/base" base
	petra import -q "$BATS_TEST_TMPDIR/base" --ref base:1 >/dev/null
	mkdir -p "$BATS_TEST_TMPDIR/ctx/more"
	(cd "$BATS_TEST_TMPDIR/ctx/more" && seq 1 "$FILES" | xargs touch)
	local i
	for i in $(seq 1 "$KILLS"); do
		make_rootfs "$BATS_TEST_TMPDIR/imp$i" "imp$i"
		kill_at_random 100 import -q "$BATS_TEST_TMPDIR/imp$i" --ref "imp:$i"
	done
	for i in $(seq 1 "$KILLS"); do
		printf 'FROM base:1\nCOPY more /more\nLABEL n=%s\n' "$i" >"$BATS_TEST_TMPDIR/ctx/Dockerfile"
		kill_at_random 600 build -q -t "bld:$i" "$BATS_TEST_TMPDIR/ctx"
	done
	# rmi and prune delete an extracted layer that the next round extracts
	# or reuses again (one rootfs, one diff_id): a removal killed half-way
	# must not leave a truncated layer that round's container would see.
	make_rootfs "$BATS_TEST_TMPDIR/rmi" rmi "$BIG"
	make_rootfs "$BATS_TEST_TMPDIR/prn" prn "$BIG"
	for i in $(seq 1 "$KILLS"); do
		petra import -q "$BATS_TEST_TMPDIR/rmi" --ref "rmi:$i" >/dev/null
		[ "$(petra run --rm "rmi:$i" sh -c 'ls /data | wc -l')" -eq "$BIG" ]
		kill_at_random 150 rmi "rmi:$i"
	done
	for i in $(seq 1 "$KILLS"); do
		petra import -q "$BATS_TEST_TMPDIR/prn" --ref prn:1 >/dev/null
		[ "$(petra run --rm prn:1 sh -c 'ls /data | wc -l')" -eq "$BIG" ]
		petra rmi --no-prune prn:1 >/dev/null
		kill_at_random 150 prune
	done
	petra import -q "$BATS_TEST_TMPDIR/prn" --ref prn:1 >/dev/null
	run petra fsck
	echo "$output"
	[ "$status" -eq 0 ]
	local name n=0
	for name in $(petra images -q); do
		petra inspect "$name" >/dev/null
		run petra run --rm "$name" sh -c 'ls /data | wc -l; cat /marker; ls /more 2>/dev/null | wc -l'
		[ "$status" -eq 0 ]
		local files=$FILES marker=${name%%:*}${name#*:} more=0
		case $name in
		base:*) marker=base ;;
		bld:*) marker=base more=$FILES ;;
		rmi:* | prn:*) files=$BIG marker=${name%%:*} ;;
		esac
		[ "$output" = "$files"$'\n'"$marker"$'\n'"$more" ]
		n=$((n + 1))
	done
	echo "# $n names survived ($(petra images -q | grep -c '^bld:' || true) builds), each resolved and complete" >&3
	run petra prune
	[ "$status" -eq 0 ]
	[ "$(stored_bytes)" -eq "$(referenced_bytes)" ]
	# Nothing else either: no temporaries, only the named images' layers.
	[ -z "$(ls -A "$PETRA_ROOT/blobs/sha256" | grep '^\.' || true)" ]
	[ -z "$(ls -A "$PETRA_ROOT/rootfs/layers" | grep '^\.' || true)" ]
	[ -z "$(ls -A "$PETRA_ROOT" | grep '^\.' || true)" ]
	local want_layers
	want_layers=$(for name in $(petra images -q); do
		petra inspect "$name" | jq -r '.[0].config.rootfs.diff_ids[]'
	done | sort -u | sed 's/^sha256://')
	[ "$(ls "$PETRA_ROOT/rootfs/layers" | grep -v '\.' | sort)" = "$want_layers" ]
	petra fsck
}
