#!/usr/bin/env bats
# The store under killed removals, bad blobs and stale temporaries (issue
# 13 items 5, 6 and 8): nothing truncated is used, no name over a bad blob,
# nothing a dead process left stays.

load helpers

setup() {
	petra_setup_store
}

# A busybox rootfs with N files under /data: a layer slow enough to delete
# that a kill lands in the middle.
make_big_rootfs() {
	local dir=$1 n=$2
	make_busybox_rootfs "$dir"
	mkdir -p "$dir/data"
	(cd "$dir/data" && seq 1 "$n" | xargs touch)
}

# End a `flock FILE sleep` holder: its sleep holds the lock too.
release() {
	pkill -P "$1" sleep || true
	wait "$1" || true
}

layers_dir() {
	echo "$PETRA_ROOT/rootfs/layers"
}

@test "a prune killed while it deletes an extracted layer leaves no truncated layer: run and fsck see the whole image" {
	make_big_rootfs "$BATS_TEST_TMPDIR/big" 6000
	local caught=0 try
	for try in $(seq 1 40); do
		petra import -q "$BATS_TEST_TMPDIR/big" --ref big:1 >/dev/null
		[ "$(petra run --rm big:1 sh -c 'ls /data | wc -l')" -eq 6000 ]
		petra rmi --no-prune big:1 >/dev/null
		"$PETRA" prune >/dev/null &
		local pid=$!
		sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		# Caught mid-way: a layer being deleted is left behind somewhere.
		if ls -A "$(layers_dir)" | grep -q .; then
			caught=$((caught + 1))
			# Whatever it left, the next user of that layer gets all of it.
			petra import -q "$BATS_TEST_TMPDIR/big" --ref big:1 >/dev/null
			run petra run --rm big:1 sh -c 'ls /data | wc -l'
			[ "$status" -eq 0 ]
			[ "$output" -eq 6000 ]
			run petra fsck
			[ "$status" -eq 0 ]
			# What the killed prune left went at the run's start.
			[ -z "$(ls -A "$(layers_dir)" | grep '^\.' || true)" ]
			petra rmi big:1 >/dev/null
			[ "$caught" -ge 3 ] && break
		fi
	done
	echo "caught mid-way $caught times in $try tries" >&3
	[ "$caught" -ge 1 ]
}

@test "fsck and verify check the extracted layers: a truncated one is named" {
	make_big_rootfs "$BATS_TEST_TMPDIR/big" 50
	petra import -q "$BATS_TEST_TMPDIR/big" --ref big:1
	petra run --rm big:1 true
	petra fsck
	local diff_id
	diff_id=$(petra inspect big:1 | jq -r '.[0].config.rootfs.diff_ids[0]')
	# What an in-place removal killed half-way left (older petra).
	rm -f "$(layers_dir)/${diff_id#sha256:}"/data/1*
	run petra fsck
	[ "$status" -eq 1 ]
	[[ "$output" == *"$diff_id: \"data/10\": missing"* ]]
	run petra verify big:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"$diff_id: \"data/10\": missing"* ]]
	run petra fsck --quick
	[ "$status" -eq 0 ]
}

# app:1 with its layer extracted, then its layer blob made bad by $1.
break_extracted_base() {
	import_busybox app:1
	petra run --rm app:1 true
	local layer
	layer=$(petra inspect --manifest app:1 | jq -r '.layers[0].digest')
	BLOB="$PETRA_ROOT/blobs/sha256/${layer#sha256:}"
	LAYER=$layer
	chmod u+w "$BLOB"
	case $1 in
	missing) rm -f "$BLOB" ;;
	truncated) truncate -s 1000 "$BLOB" ;;
	esac
	mkdir -p "$BATS_TEST_TMPDIR/ctx"
	printf 'FROM app:1\nRUN echo hi >/hi\n' >"$BATS_TEST_TMPDIR/ctx/Dockerfile"
}

@test "build FROM an image whose extracted layer's blob is missing creates no name; run refuses too" {
	break_extracted_base missing
	run petra build -t derived:1 "$BATS_TEST_TMPDIR/ctx"
	[ "$status" -ne 0 ]
	[[ "$output" == *"$LAYER"*"missing"* ]]
	run petra images -q
	[ "$output" = "app:1" ]
	run petra run --rm app:1 true
	[ "$status" -ne 0 ]
	[[ "$output" == *"$LAYER is missing"* ]]
	# Nor can a name be put over it another way.
	run petra tag app:1 app:2
	[ "$status" -ne 0 ]
	[[ "$output" == *"name app:2 not written: blob $LAYER is missing"* ]]
}

@test "build FROM an image whose extracted layer's blob is truncated creates no name; run refuses too" {
	break_extracted_base truncated
	run petra build -t derived:1 "$BATS_TEST_TMPDIR/ctx"
	[ "$status" -ne 0 ]
	[[ "$output" == *"$LAYER is 1000 bytes on disk"* ]]
	run petra images -q
	[ "$output" = "app:1" ]
	run petra run --rm app:1 true
	[ "$status" -ne 0 ]
	[[ "$output" == *"$LAYER is 1000 bytes on disk"* ]]
}

@test "stale temporaries of dead processes are counted by info and removed by the next writing command; live ones stay" {
	import_busybox app:1
	petra run --rm app:1 true
	local blobs="$PETRA_ROOT/blobs/sha256" layers
	layers=$(layers_dir)
	head -c 5000 /dev/zero >"$blobs/.tmp-blob-00000000000000aa"
	mkdir -p "$layers/.tmp-0123456789abcdef-99999-0" "$layers/.deleting-0123456789abcdef-99999-1"
	head -c 3000 /dev/zero >"$layers/.tmp-0123456789abcdef-99999-0/f"
	# A live writer's temporary: held with flock, as petra holds its own.
	head -c 7 /dev/zero >"$blobs/.tmp-blob-00000000000000bb"
	flock "$blobs/.tmp-blob-00000000000000bb" sleep 60 &
	local holder=$!
	run petra info --format json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq .stale_temporaries.count)" -eq 3 ]
	[ "$(echo "$output" | jq .stale_temporaries.bytes)" -eq 8000 ]
	petra info | grep -E '^stale_temporaries:'
	# A writing command sweeps the store's; the cache's go when it is opened.
	petra tag app:1 app:2
	[ ! -e "$blobs/.tmp-blob-00000000000000aa" ]
	[ -e "$blobs/.tmp-blob-00000000000000bb" ]
	petra run --rm app:1 true
	[ -z "$(ls -A "$layers" | grep '^\.' || true)" ]
	[ "$(petra info --format json | jq .stale_temporaries.count)" -eq 0 ]
	release "$holder"
	petra tag app:1 app:3
	[ ! -e "$blobs/.tmp-blob-00000000000000bb" ]
	petra fsck
}

@test "info counts what prune would reclaim (unnamed blobs, unused extracted layers), without removing it" {
	import_busybox app:1
	import_busybox keep:1
	petra run --rm app:1 true
	run petra info --format json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq .reclaimable.blobs)" -eq 0 ]
	[ "$(echo "$output" | jq .reclaimable.extracted_layers)" -eq 0 ]
	# An image whose name went (as a command killed before it wrote the
	# name leaves it): its blobs and its extracted layer are reclaimable.
	make_busybox_rootfs "$BATS_TEST_TMPDIR/other"
	echo other >"$BATS_TEST_TMPDIR/other/marker"
	petra import -q "$BATS_TEST_TMPDIR/other" --ref other:1 >/dev/null
	petra run --rm other:1 cat /marker
	petra rmi --no-prune other:1
	run petra info --format json
	[ "$status" -eq 0 ]
	local blobs bytes layers
	blobs=$(echo "$output" | jq .reclaimable.blobs)
	bytes=$(echo "$output" | jq .reclaimable.bytes)
	layers=$(echo "$output" | jq .reclaimable.extracted_layers)
	[ "$blobs" -eq 3 ]
	[ "$bytes" -gt 0 ]
	[ "$layers" -eq 1 ]
	petra info | grep -E '^reclaimable:'
	# Counting removed nothing; prune removes exactly that.
	run petra prune
	[ "$status" -eq 0 ]
	[[ "$output" == "Removed 3 blobs, "*"; 1 extracted layers" ]]
	run petra info --format json
	[ "$(echo "$output" | jq .reclaimable.blobs)" -eq 0 ]
	[ "$(echo "$output" | jq .reclaimable.extracted_layers)" -eq 0 ]
	petra run --rm keep:1 true
	petra fsck
}

@test "a killed unpack's temporary directory goes at the next unpack into that directory" {
	import_busybox app:1
	local out="$BATS_TEST_TMPDIR/out"
	mkdir -p "$out/.petra-unpack-00000000000000aa/bin" "$out/.petra-unpack-00000000000000bb"
	chmod 0700 "$out/.petra-unpack-00000000000000aa" "$out/.petra-unpack-00000000000000bb"
	flock "$out/.petra-unpack-00000000000000bb" sleep 60 &
	local holder=$!
	petra unpack app:1 "$out/t1"
	[ ! -e "$out/.petra-unpack-00000000000000aa" ]
	[ -e "$out/.petra-unpack-00000000000000bb" ]
	release "$holder"
	# For real: unpacks killed part-way leave nothing after the next one.
	local i pid
	for i in 1 2 3 4 5; do
		"$PETRA" unpack app:1 "$out/k$i" &
		pid=$!
		sleep "0.0$((RANDOM % 10))"
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" || true
	done
	petra unpack app:1 "$out/t2"
	[ -z "$(ls -A "$out" | grep '^\.petra-unpack-' || true)" ]
	[ -x "$out/t2/bin/busybox" ]
	# Unpacks at once into one directory: each one's sweep may meet the
	# others' fresh temporaries, and none fails for it.
	local pids=() round failed=0
	for round in 1 2 3; do
		pids=()
		for i in 1 2 3 4 5 6 7 8; do
			"$PETRA" unpack app:1 "$out/c$round-$i" 2>>"$BATS_TEST_TMPDIR/concurrent.err" &
			pids+=($!)
		done
		for pid in "${pids[@]}"; do
			wait "$pid" || failed=$((failed + 1))
		done
	done
	cat "$BATS_TEST_TMPDIR/concurrent.err"
	[ "$failed" -eq 0 ]
	[ -z "$(ls -A "$out" | grep '^\.petra-unpack-' || true)" ]
	[ -x "$out/c3-8/bin/busybox" ]
}
