#!/usr/bin/env bats
# --init (petra-init as PID 1) and the second Ctrl-C of a foreground run.

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

@test "--init: petra stop ends at once a PID 1 with no SIGTERM handler (busybox httpd)" {
	# As PID 1 without --init, httpd never sees SIGTERM: stop waits the
	# grace period and kills it (137).
	petra run -d --name bare bb:user httpd -f -p 8080 -h /www >/dev/null
	run petra stop -t 1 bare
	[ "$status" -eq 0 ]
	run petra ps -a --format json
	[ "$(echo "$output" | jq -r '.[] | select(.name == "bare") | .exit_code')" = "137" ]
	# With --init, SIGTERM reaches httpd through petra-init and ends it:
	# 143 (128+SIGTERM), long before a 60 s grace period would kill it.
	petra run -d --init --name web bb:user httpd -f -p 8080 -h /www >/dev/null
	run petra exec web ps -o pid,comm
	[[ "$output" == *"1 .petra-init"* ]]
	[[ "$output" == *"httpd"* ]]
	run petra stop -t 60 web
	[ "$status" -eq 0 ]
	run petra ps -a --format json
	[ "$(echo "$output" | jq -r '.[] | select(.name == "web") | .exit_code')" = "143" ]
}

@test "--init reaps orphans; without it they stay zombies" {
	local cmd='(sleep 0 &); exec sleep 60'
	petra run -d --name plain bb:user sh -c "$cmd" >/dev/null
	petra run -d --init --name reaped bb:user sh -c "$cmd" >/dev/null
	# The orphan exits at once; on a loaded machine, give it time.
	local i
	for i in $(seq 1 50); do
		run petra exec plain ps -o stat,comm
		[[ "$output" == *"Z    sleep"* ]] && break
		sleep 0.2
	done
	[[ "$output" == *"Z    sleep"* ]]
	run petra exec reaped ps -o stat,comm
	[ "$status" -eq 0 ]
	[[ "$output" != *"Z "* ]]
	[[ "$output" == *"S    sleep"* ]]
}

@test "--init passes the command's status on, 127 when it is not found" {
	run petra run --rm --init bb:user sh -c 'exit 7'
	[ "$status" -eq 7 ]
	run petra run --rm --init bb:user no-such-command
	[ "$status" -eq 127 ]
	[[ "$output" == *"no-such-command"* ]]
}

@test "a second SIGINT kills a foreground container that ignores the first" {
	local out="$BATS_TEST_TMPDIR/out"
	"$PETRA" run --rm bb:user sh -c 'trap "" INT TERM; echo ready; while :; do sleep 0.05; done' \
		>"$out" 2>&1 &
	local pid=$!
	wait_for_file "$out"
	kill -INT "$pid"
	sleep 0.3
	# The first is passed on (and ignored): still running.
	kill -0 "$pid"
	kill -INT "$pid"
	local status=0
	wait "$pid" || status=$?
	[ "$status" -eq 137 ]
	grep -q "interrupted again: killing" "$out"
}
