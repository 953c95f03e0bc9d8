#!/usr/bin/env bats
# Writable paths a service can use: owners and modes of label paths and
# --tmpfs, "copy": true (the image's content in the tmpfs), what --learn
# proposes for directories that hold image content, learning runs that
# add up, and learning a detached service.

load runtime-helpers
bats_require_minimum_version 1.5.0

setup_file() {
	export PETRA_ROOT="$BATS_FILE_TMPDIR/store"
	local root="$BATS_FILE_TMPDIR/rootfs"
	make_runtime_rootfs "$root"
	# Image content a service writes next to: a small seeded directory and
	# a big one.
	mkdir -p "$root/srv/data/sub" "$root/var/cache/small" "$root/var/cache/big"
	echo seed >"$root/srv/data/seed"
	echo deep >"$root/srv/data/sub/deep"
	chown -R 65534:65534 "$root/srv/data"
	chmod 0750 "$root/srv/data"
	chmod 0640 "$root/srv/data/seed"
	echo small >"$root/var/cache/small/keep"
	head -c 2097152 /dev/zero >"$root/var/cache/big/keep"
	chown 65534:65534 "$root/var/cache/small" "$root/var/cache/big"
	import_with_config wp:user "$root" --config.user 65534 --config.cmd /bin/sh
	import_with_config wp:nouid "$root" --config.user 65534 --config.cmd /bin/sh \
		--config.label 'org.petra.writable-paths=[{"path":"/run/app"},{"path":"/scratch","mode":"0700"}]'
	import_with_config wp:copy "$root" --config.user 65534 --config.cmd /bin/sh \
		--config.label 'org.petra.writable-paths=[{"path":"/srv/data","copy":true}]'
}

setup() {
	runtime_setup
}

teardown() {
	runtime_teardown
}

label_of() {
	petra inspect "$1" | jq -r '.[0].config.config.Labels["org.petra.writable-paths"]'
}

@test "a label path without a uid belongs to the container's user, mode 0755 unless given" {
	run petra run --rm wp:nouid sh -c 'stat -c "%u %g %a" /run/app /scratch; touch /run/app/p /scratch/q && echo wrote'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "65534 65534 755" ]
	[ "${lines[1]}" = "65534 65534 700" ]
	[ "${lines[2]}" = "wrote" ]
	# -u moves them to that user.
	run petra run --rm -u 0 wp:nouid stat -c "%u %g %a" /run/app
	[ "$output" = "0 0 755" ]
}

@test "--tmpfs without options is world-writable and sticky; its options set owner, mode and size" {
	run petra run --rm --tmpfs /scratch wp:user sh -c 'stat -c "%u %g %a" /scratch; touch /scratch/x && echo wrote'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "0 0 1777" ]
	[ "${lines[1]}" = "wrote" ]
	run petra run --rm --tmpfs /scratch:uid=65534,gid=65534,mode=0700,size=2m wp:user sh -c \
		'stat -c "%u %g %a" /scratch; grep " /scratch " /proc/mounts'
	[ "${lines[0]}" = "65534 65534 700" ]
	[[ "${lines[1]}" == *"size=2048k,mode=700,uid=65534,gid=65534"* ]]
	run petra run --rm --tmpfs /scratch:bogus wp:user true
	[ "$status" -eq 125 ]
	[[ "$output" == *"is not size=, mode=, uid=, gid=, copy or ro"* ]]
}

@test "copy: true fills the tmpfs with the image's content, owned and moded as in the image" {
	local probe='stat -c "%u %g %a" /srv/data /srv/data/seed; cat /srv/data/seed /srv/data/sub/deep; echo new >/srv/data/new && cat /srv/data/new; grep -c " /srv/data tmpfs " /proc/mounts'
	run petra run --rm wp:copy sh -c "$probe"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "65534 65534 750" ]
	[ "${lines[1]}" = "65534 65534 640" ]
	[ "${lines[2]}" = "seed" ]
	[ "${lines[3]}" = "deep" ]
	[ "${lines[4]}" = "new" ]
	[ "${lines[5]}" = "1" ]
	# --tmpfs PATH:copy is the same; a plain --tmpfs hides the content.
	run petra run --rm --tmpfs /srv/data:copy wp:user sh -c "$probe"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "65534 65534 750" ]
	[ "${lines[2]}" = "seed" ]
	[ "${lines[4]}" = "new" ]
	run petra run --rm --tmpfs /srv/data wp:user ls -A /srv/data
	[ "$output" = "" ]
	# The image's files stay as they were: nothing is written back.
	run petra run --rm wp:user sh -c 'cat /srv/data/seed; ls /srv/data'
	[ "${lines[0]}" = "seed" ]
	[[ "$output" != *new* ]]
	# A bundle asks runc for the same with tmpcopyup.
	petra bundle wp:copy "$BATS_TEST_TMPDIR/bundle" >/dev/null
	jq -e '.mounts[] | select(.destination == "/srv/data") | .options | index("tmpcopyup")' \
		"$BATS_TEST_TMPDIR/bundle/config.json"
}

@test "--learn finds files created and removed during the run, and proposes copy for small image directories" {
	run petra run --rm --learn --save wp:learned wp:user sh -c '
		echo $$ >/run/app/pid; rm /run/app/pid
		echo $$ >/srv/data/lock; rm /srv/data/lock
		touch /var/cache/small/t; rm /var/cache/small/t
		touch /var/cache/big/t; rm /var/cache/big/t'
	[ "$status" -eq 0 ]
	echo "$output"
	# Empty in the image: a plain tmpfs; small image content: a copy.
	[[ "$output" =~ /run/app\ +0B\ used\ +\(tmpfs\ size\ 1.05MB,\ mode\ 0755,\ uid\ 65534\) ]]
	[[ "$output" =~ /srv/data\ +0B\ used\ +\(tmpfs\ size\ 1.05MB,\ mode\ 0750,\ uid\ 65534,\ copy\ of\ the\ image\'s\ content\) ]]
	[[ "$output" =~ /var/cache/small\ +0B\ used.*copy ]]
	# More than 1 MiB of image content: a note, not a copy.
	[[ "$output" == *"petra: note: the container creates and removes entries in /var/cache/big, which holds the image's files"* ]]
	local label
	label=$(label_of wp:learned)
	[ "$(echo "$label" | jq -r '[.[].path] | join(",")')" = "/run/app,/srv/data,/var/cache/small" ]
	[ "$(echo "$label" | jq -r '[.[] | .copy // false] | map(tostring) | join(",")')" = "false,true,true" ]
	# Read-only, the same writes now work and the image content is there.
	run petra run --rm wp:learned sh -c '
		echo $$ >/run/app/pid && echo $$ >/srv/data/lock && cat /srv/data/seed /var/cache/small/keep
		touch /var/cache/big/t'
	[ "${lines[0]}" = "seed" ]
	[ "${lines[1]}" = "small" ]
	[[ "${lines[2]}" == *"Read-only file system"* ]]
}

@test "learning runs add up in one label, keeping the larger size" {
	run petra run --rm --learn --save wp:merged wp:user sh -c \
		'head -c 3145728 /dev/zero >/var/lib/counter/big'
	[ "$status" -eq 0 ]
	[ "$(label_of wp:merged | jq -r '.[] | select(.path == "/var/lib/counter") | .size')" = "6291456" ]
	# Twice what it used, in whole MiB.
	# A second run onto the same name: its paths are added, the larger size stays.
	run petra run --rm --learn --save wp:merged wp:user sh -c \
		'echo 1 >/var/lib/counter/small; echo 1 >/run/app/pid'
	[ "$status" -eq 0 ]
	[[ "$output" =~ /var/lib/counter\ +2B\ used\ +\(tmpfs\ size\ 1.05MB ]]
	local label
	label=$(label_of wp:merged)
	[ "$(echo "$label" | jq -r '[.[].path] | join(",")')" = "/run/app,/var/lib/counter" ]
	[ "$(echo "$label" | jq -r '.[] | select(.path == "/var/lib/counter") | .size')" = "6291456" ]
	# Learning on the saved image keeps its label too, and a path below
	# a learned one folds into it.
	run petra run --rm --learn --save wp:merged2 wp:merged sh -c \
		'mkdir -p /var/lib/counter/sub; echo 1 >/var/lib/counter/sub/x; echo 1 >/var/log/app/log'
	[ "$status" -eq 0 ]
	label=$(label_of wp:merged2)
	[ "$(echo "$label" | jq -r '[.[].path] | join(",")')" = "/run/app,/var/lib/counter,/var/log/app" ]
	# Sizes are bounded: at most 64 MiB however much was written.
	run petra run --rm --learn --save wp:bounded wp:user sh -c \
		'head -c 41943040 /dev/zero >/var/lib/counter/huge'
	[ "$status" -eq 0 ]
	[ "$(label_of wp:bounded | jq -r '.[0].size')" = "67108864" ]
}

@test "run -d --learn learns a service while it runs; stop or learn stop ends it and saves" {
	local svc='echo $$ >/run/app/svc.pid; trap "rm /run/app/svc.pid; exit 0" TERM; echo ready; while :; do sleep 0.1; done'
	local id
	id=$(petra run -d --learn --save wp:detached wp:user sh -c "$svc")
	# Nothing is learned or saved while it runs.
	run ! petra inspect wp:detached
	run petra stop "$id"
	[ "$status" -eq 0 ]
	[[ "$output" == *"wrote into 1 directory:"* ]]
	[[ "$output" =~ /run/app\ +0B\ used ]]
	[[ "$output" == *"petra: saved wp:detached (sha256:"* ]]
	[ "$(label_of wp:detached | jq -r '[.[].path] | join(",")')" = "/run/app" ]
	# learn stop with a name of its own; what run was given does not matter.
	id=$(petra run -d --learn wp:user sh -c 'mkdir /var/log/app/sub; while :; do sleep 0.1; done')
	run petra learn stop "$id" --save wp:detached -t 1
	[ "$status" -eq 0 ]
	[[ "$output" == *"petra: saved wp:detached (sha256:"* ]]
	[ "$(label_of wp:detached | jq -r '[.[].path] | join(",")')" = "/run/app,/var/log/app" ]
	# Only a learning container can be asked for what it learned.
	id=$(petra run -d wp:user sleep 60)
	run petra learn stop "$id"
	[ "$status" -eq 1 ]
	[[ "$output" == *"was not started with --learn"* ]]
	# A detached learner keeps its container until learning ends.
	run petra run -d --rm --learn wp:user true
	[ "$status" -eq 125 ]
	[[ "$output" == *"no --rm"* ]]
}
