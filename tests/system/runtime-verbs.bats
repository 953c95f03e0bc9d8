#!/usr/bin/env bats
# kill, start, restart, cp, top and info.

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

# A detached service that records each SIGUSR1 and ends at SIGTERM.
start_service() {
	petra run -d --name "$1" bb:root sh -c \
		'trap "echo usr1" USR1; trap "echo term; exit 5" TERM; echo ready; while :; do sleep 0.05; done'
}

@test "kill sends a signal (SIGKILL by default) and does not wait" {
	local id
	id=$(start_service svc)
	wait_for_file "$PETRA_RUN_DIR/$id/log"
	run petra kill -s USR1 svc
	[ "$status" -eq 0 ]
	[ "$output" = svc ]
	local i
	for i in $(seq 200); do grep -q usr1 "$PETRA_RUN_DIR/$id/log" && break; sleep 0.02; done
	grep -q usr1 "$PETRA_RUN_DIR/$id/log"
	run petra ps --format json
	[ "$(echo "$output" | jq -r '.[0].running')" = true ]
	run petra kill -s sigterm svc
	[ "$status" -eq 0 ]
	petra stop svc >/dev/null
	run petra ps -a --format json
	[ "$(echo "$output" | jq -r '.[0].exit_code')" = 5 ]
	# A container that ended cannot be signalled; SIGKILL by default.
	run petra kill svc
	[ "$status" -eq 1 ]
	[[ "$output" == *"is not running"* ]]
	start_service other >/dev/null
	run petra kill other
	[ "$status" -eq 0 ]
	petra stop other >/dev/null
	run petra ps -a --format json
	[ "$(echo "$output" | jq -r '.[] | select(.name == "other") | .exit_code')" = 137 ]
	run petra kill -s NOPE other
	[ "$status" -eq 2 ]
	[[ "$output" == *'unknown signal "NOPE"'* ]]
}

@test "start runs a stopped container again with its options; restart stops and starts" {
	local id
	id=$(petra run -d --name counter --tmpfs /data:uid=65534 -e GREETING=hi bb:user \
		sh -c 'echo "$GREETING $(id -u)"; touch /data/x; exec sleep 60')
	wait_for_file "$PETRA_RUN_DIR/$id/log"
	local created
	created=$(jq -r .created "$PETRA_RUN_DIR/$id/state.json")
	sleep 1
	petra stop -t 1 counter >/dev/null
	run petra ps -a --format json
	[ "$(echo "$output" | jq -r '.[0].running')" = false ]
	run petra start counter
	[ "$status" -eq 0 ]
	[ "$output" = counter ]
	run petra ps --format json
	[ "$(echo "$output" | jq -r '.[0].id')" = "$id" ]
	[ "$(echo "$output" | jq -r '.[0].running')" = true ]
	# Created when first run; started now.
	[ "$(jq -r .created "$PETRA_RUN_DIR/$id/state.json")" = "$created" ]
	[ "$(jq -r .started "$PETRA_RUN_DIR/$id/state.json")" -gt "$created" ]
	# The same command, environment, user and tmpfs; the log goes on.
	for i in $(seq 200); do [ "$(grep -c 'hi 65534' "$PETRA_RUN_DIR/$id/log")" -eq 2 ] && break; sleep 0.02; done
	run petra exec counter ls /data
	[ "$output" = x ]
	for i in $(seq 200); do [ "$(grep -c 'hi 65534' "$PETRA_RUN_DIR/$id/log")" -eq 2 ] && break; sleep 0.02; done
	[ "$(grep -c 'hi 65534' "$PETRA_RUN_DIR/$id/log")" -eq 2 ]
	run petra start counter
	[ "$status" -eq 1 ]
	[[ "$output" == *"is running"* ]]
	local pid_before
	pid_before=$(jq -r .pid "$PETRA_RUN_DIR/$id/state.json")
	run petra restart -t 1 counter
	[ "$status" -eq 0 ]
	[ "$(jq -r .pid "$PETRA_RUN_DIR/$id/state.json")" != "$pid_before" ]
	run petra ps --format json
	[ "$(echo "$output" | jq -r '.[0].running')" = true ]
	for i in $(seq 200); do [ "$(grep -c 'hi 65534' "$PETRA_RUN_DIR/$id/log")" -eq 3 ] && break; sleep 0.02; done
	[ "$(grep -c 'hi 65534' "$PETRA_RUN_DIR/$id/log")" -eq 3 ]
}

@test "start keeps a --read-write container's root" {
	local id
	id=$(petra run -d --read-write bb:root sh -c 'echo run >>/state; exec sleep 60')
	petra stop -t 1 "$id" >/dev/null
	petra start "$id" >/dev/null
	run petra exec "$id" sh -c 'sleep 0.2; cat /state'
	[ "$output" = "$(printf 'run\nrun')" ]
}

@test "cp copies files, directories and links out of a running container, inside it" {
	local id out="$BATS_TEST_TMPDIR/out"
	id=$(petra run -d --tmpfs /data bb:root sh -c \
		'mkdir -p /data/d; echo hello >/data/d/f; chmod 4755 /data/d/f; ln -s /etc/passwd /data/d/link; ln -s ../../.. /data/d/up; mkfifo /data/d/fifo; echo ready >/data/ready; exec sleep 60')
	for i in $(seq 500); do petra exec "$id" test -e /data/ready 2>/dev/null && break; sleep 0.02; done
	mkdir "$out"
	run petra cp "$id:/data/d" "$out"
	[ "$status" -eq 0 ]
	[[ "$output" == *"left out 1 device, fifo or socket"* ]]
	[ "$(cat "$out/d/f")" = hello ]
	# Permission bits, not setuid.
	[ "$(stat -c %a "$out/d/f")" = 755 ]
	[ "$(readlink "$out/d/link")" = /etc/passwd ]
	[ ! -e "$out/d/fifo" ]
	# A file as a new name; the image's files too.
	run petra cp "$id:/etc/passwd" "$out/passwd"
	[ "$status" -eq 0 ]
	grep -q '^nobody:' "$out/passwd"
	# A link in the path resolves inside the container: /data/d/up is
	# its root, not the host's.
	run petra cp "$id:/data/d/up/etc/passwd" "$out/via-link"
	[ "$status" -eq 0 ]
	cmp "$out/passwd" "$out/via-link"
	run petra cp "$id:/no/such" "$out/x"
	[ "$status" -eq 1 ]
	run petra cp "$id:../etc" "$out/x"
	[ "$status" -eq 2 ]
	run petra cp "$id" "$out/x"
	[ "$status" -eq 2 ]
	petra stop -t 0 "$id" >/dev/null
	run petra cp "$id:/etc/passwd" "$out/y"
	[ "$status" -eq 1 ]
	[[ "$output" == *"is not running"* ]]
}

@test "top lists the container's processes and only those" {
	local id
	id=$(petra run -d --init bb:user sh -c 'sleep 61 & exec sleep 62')
	for i in $(seq 200); do [ "$(petra top "$id" | grep -c 'sleep 6')" -eq 2 ] && break; sleep 0.02; done
	run petra top "$id"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "PID"*"HOST PID"*"UID"*"TIME"*"COMMAND" ]]
	[ "${#lines[@]}" -eq 4 ]
	[[ "${lines[1]}" == "1 "*"/.petra-init -- sh -c"* ]]
	[[ "$output" == *"65534"*"sleep 62"* ]]
	[[ "$output" == *"sleep 61"* ]]
	run petra top --format json "$id"
	[ "$(echo "$output" | jq -r '.[0].pid')" = 1 ]
	[ "$(echo "$output" | jq -r '.[0].host_pid')" = "$(jq -r .pid "$PETRA_RUN_DIR/$id/state.json")" ]
	[ "$(echo "$output" | jq -r '[.[] | select(.command | startswith("sleep"))] | length')" = 2 ]
	# Host pids are real: each is in the container's pid namespace.
	local hp
	for hp in $(echo "$output" | jq -r '.[].host_pid'); do
		[ "$(readlink /proc/$hp/ns/pid)" = "$(readlink /proc/"$(jq -r .pid "$PETRA_RUN_DIR/$id/state.json")"/ns/pid)" ]
	done
	petra stop "$id" >/dev/null
	run petra top "$id"
	[ "$status" -eq 1 ]
}

@test "info shows the store, the run directory, the helpers and the kernel features" {
	run petra info --format json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .store)" = "$PETRA_ROOT" ]
	[ "$(echo "$output" | jq -r .run_dir)" = "$PETRA_RUN_DIR" ]
	[ "$(echo "$output" | jq -r .kernel.kernel)" = "$(uname -r)" ]
	# What this host has: overlayfs, pidfds, seccomp.
	[ "$(echo "$output" | jq -r .kernel.overlay)" = true ]
	[ "$(echo "$output" | jq -r .kernel.pidfd)" = true ]
	[ "$(echo "$output" | jq -r .kernel.seccomp)" = true ]
	local cg=none
	if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then cg=v2; elif [ -d /sys/fs/cgroup/memory ]; then cg=v1; fi
	[ "$(echo "$output" | jq -r .kernel.cgroup)" = "$cg" ]
	[ -x "$(echo "$output" | jq -r .helpers.init)" ]
	[ -x "$(echo "$output" | jq -r .helpers.supervisor)" ]
	# Without PETRA_RUN_DIR: the store's own directory.
	run env -u PETRA_RUN_DIR "$PETRA" --root /tmp/some-store info --format json
	[ "$(echo "$output" | jq -r .run_dir)" = "/run/petra/$(printf /tmp/some-store | sha256sum | cut -c1-16)" ]
	run petra info
	[ "$status" -eq 0 ]
	[[ "$output" == *"overlay            yes"* ]]
	run petra info extra
	[ "$status" -eq 2 ]
}
