#!/usr/bin/env bats
# What a container with an added capability still cannot reach: the host's
# kernel log, and a personality that turns off address randomisation.
# Each test tries the attack from inside a real container. Run as root.

load runtime-helpers
bats_require_minimum_version 1.5.0

setup_file() {
	runtime_setup_file
}

setup() {
	runtime_setup
}

teardown() {
	runtime_teardown
}

@test "with --cap-add SYSLOG, /proc/kmsg (the host's kernel log) is masked" {
	[ -e /proc/kmsg ]
	run petra run --rm --cap-add SYSLOG bb:root sh -c '
		grep "^CapEff:" /proc/self/status
		head -c 64 /proc/kmsg | wc -c
		stat -c "%t:%T" /proc/kmsg'
	echo "$output"
	[ "$status" -eq 0 ]
	# CAP_SYSLOG (34) really is in the effective set...
	local capeff=$((16#$(echo "${lines[0]}" | awk '{print $2}')))
	[ $(((capeff >> 34) & 1)) -eq 1 ]
	# ...and what it reads is /dev/null (char 1:3): nothing.
	[ "${lines[1]}" = "0" ]
	[ "${lines[2]}" = "1:3" ]
}

@test "personality() allows only the container default's values: ADDR_NO_RANDOMIZE is refused" {
	local user
	for user in 65534 0; do
		run petra run --rm --user $user --cap-add ALL bb:root /bin/syscalls
		echo "$output"
		[ "$status" -eq 0 ]
		[[ "$output" == *"personality(ADDR_NO_RANDOMIZE): Operation not permitted"* ]]
		[[ "$output" == *"personality(ADDR_NO_RANDOMIZE | 1 << 32): Operation not permitted"* ]]
		[[ "$output" == *"personality(0xffffffff): allowed"* ]]
		[[ "$output" == *"personality(PER_LINUX32): allowed"* ]]
		[[ "$output" == *"personality(PER_LINUX): allowed"* ]]
	done
}

@test "the bundle tells runc the same: /proc/kmsg masked, personality limited" {
	run petra bundle bb:root "$BATS_TEST_TMPDIR/b"
	[ "$status" -eq 0 ]
	local cfg="$BATS_TEST_TMPDIR/b/config.json"
	# (bundle.bats runs the probe under runc: the same calls are refused.)
	[ "$(jq '[.linux.seccomp.syscalls[] | select(.names == ["personality"])] | length' "$cfg")" = "32" ]
	[ "$(jq -r '.linux.maskedPaths | index("/proc/kmsg") != null' "$cfg")" = "true" ]
}

# labelled NAME LABEL-VALUE: bb:root's rootfs with that writable-paths label.
labelled() {
	import_with_config "$1" "$BATS_FILE_TMPDIR/rootfs" --config.user 65534 \
		--config.cmd /bin/sh --config.label "org.petra.writable-paths=$2"
}

@test "a label with 300 entries cannot take more than 512 MiB of host memory in all" {
	local entries
	entries=$(seq 1 300 | jq -cs 'map({path: "/w\(.)", size: 16777216})')
	labelled wp:many "$entries"
	run petra run --rm wp:many true
	echo "$output"
	[ "$status" -eq 125 ]
	[[ "$output" == *"label org.petra.writable-paths asks for 4800 MiB of tmpfs across 300 paths; an image may ask for at most 512 MiB in all"* ]]
	# Without sizes (1 MiB each) they fit; the operator's --tmpfs replaces
	# a label path and is not counted against the image.
	entries=$(seq 1 300 | jq -cs 'map({path: "/w\(.)"})')
	labelled wp:many-small "$entries"
	run petra run --rm wp:many-small sh -c 'grep -c " /w[0-9]* tmpfs" /proc/mounts'
	[ "$status" -eq 0 ]
	[ "$output" = "300" ]
	entries='[{"path":"/a","size":"64m"},{"path":"/b","size":"64m"},{"path":"/c","size":"64m"},{"path":"/d","size":"64m"},{"path":"/e","size":"64m"},{"path":"/f","size":"64m"},{"path":"/g","size":"64m"},{"path":"/h","size":"64m"},{"path":"/i","size":"1m"}]'
	labelled wp:over "$entries"
	run petra run --rm wp:over true
	[ "$status" -eq 125 ]
	[[ "$output" == *"asks for 513 MiB of tmpfs across 9 paths"* ]]
	run petra run --rm --tmpfs /i:size=1m wp:over true
	[ "$status" -eq 0 ]
}

@test "a label size written as a string is parsed (\"64m\" is 64 MiB), garbage refused" {
	labelled wp:str '[{"path":"/m","size":"64m"},{"path":"/k","size":"512k"},{"path":"/b","size":"2097152"},{"path":"/mib","size":"3MiB"}]'
	run petra run --rm wp:str sh -c 'for p in /m /k /b /mib; do grep " $p tmpfs" /proc/mounts | grep -o "size=[0-9]*k"; done; df -k /m | tail -n 1'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "size=65536k" ]
	[ "${lines[1]}" = "size=1024k" ] # below the 1 MiB floor: raised to it
	[ "${lines[2]}" = "size=2048k" ]
	[ "${lines[3]}" = "size=3072k" ]
	[ "$(echo "${lines[4]}" | awk '{print $2}')" = "65536" ]
	local bad
	for bad in '"64x"' '"lots"' '"-1m"' '"64 m"' '""' '1.5' 'true' '-5' '"99999999999g"'; do
		labelled wp:bad "[{\"path\":\"/x\",\"size\":$bad}]"
		run petra run --rm wp:bad true
		echo "$bad: $output"
		[ "$status" -eq 125 ]
		[[ "$output" == *'label org.petra.writable-paths: entry 1 (/x) has an invalid "size" (bytes, or a string such as "64m")'* ]]
	done
}
