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
