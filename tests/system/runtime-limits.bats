#!/usr/bin/env bats
# --memory, --cpus and --pids-limit through the container's own cgroup.

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

# The container's cgroup directories that exist now (v2 or v1 layout).
cgroups_of() {
	ls -d /sys/fs/cgroup/petra/"$1" /sys/fs/cgroup/*/petra/"$1" 2>/dev/null || true
}

@test "--memory: a process over the limit is killed (137); under it, it runs" {
	run petra run --rm --memory 32m bb:user dd if=/dev/zero of=/dev/null bs=64M count=1
	[ "$status" -eq 137 ]
	run petra run --rm --memory 64m bb:user dd if=/dev/zero of=/dev/null bs=8M count=1
	[ "$status" -eq 0 ]
	run petra run --rm bb:user dd if=/dev/zero of=/dev/null bs=64M count=1
	[ "$status" -eq 0 ]
}

@test "--pids-limit stops a fork bomb; without it the same forks succeed" {
	local bomb='i=0; while [ $i -lt 40 ]; do sleep 2 & i=$((i+1)); done; echo forked $i'
	run petra run --rm --pids-limit 10 bb:user sh -c "$bomb"
	[[ "$output" == *"can't fork"* ]]
	[[ "$output" != *"forked 40"* ]]
	run petra run --rm bb:user sh -c "$bomb"
	[ "$status" -eq 0 ]
	[[ "$output" == *"forked 40"* ]]
}

@test "the cgroup holds the limits while the container runs and goes with it" {
	local id
	id=$(petra run -d --memory 48m --cpus 0.5 --pids-limit 20 bb:user sleep 60)
	local dirs
	dirs=$(cgroups_of "$id")
	[ -n "$dirs" ]
	jq -e '.cgroups | length > 0' "$PETRA_RUN_DIR/$id/state.json"
	if [ -d "/sys/fs/cgroup/petra/$id" ]; then
		[ "$(cat "/sys/fs/cgroup/petra/$id/memory.max")" = $((48 << 20)) ]
		[ "$(cat "/sys/fs/cgroup/petra/$id/cpu.max")" = "50000 100000" ]
		[ "$(cat "/sys/fs/cgroup/petra/$id/pids.max")" = 20 ]
		grep -qx "$(jq -r .pid "$PETRA_RUN_DIR/$id/state.json")" \
			"/sys/fs/cgroup/petra/$id/cgroup.procs"
	else
		[ "$(cat "/sys/fs/cgroup/memory/petra/$id/memory.limit_in_bytes")" = $((48 << 20)) ]
		[ "$(cat "/sys/fs/cgroup/cpu/petra/$id/cpu.cfs_quota_us")" = 50000 ]
		[ "$(cat "/sys/fs/cgroup/pids/petra/$id/pids.max")" = 20 ]
		grep -qx "$(jq -r .pid "$PETRA_RUN_DIR/$id/state.json")" \
			"/sys/fs/cgroup/pids/petra/$id/cgroup.procs"
	fi
	petra stop -t 1 "$id" >/dev/null
	[ -z "$(cgroups_of "$id")" ]
	# A foreground container's too: in it while it runs, gone after.
	run petra run --pids-limit 5 --name fg bb:user sh -c 'echo ok'
	[ "$output" = ok ]
	id=$(petra ps -a --format json | jq -r '.[] | select(.name == "fg") | .id')
	jq -e '.cgroups | length > 0' "$PETRA_RUN_DIR/$id/state.json"
	[ -z "$(cgroups_of "$id")" ]
}

@test "limits are checked on the command line" {
	run petra run --rm --memory lots bb:user true
	[ "$status" -eq 125 ]
	[[ "$output" == *"--memory wants a size"* ]]
	run petra run --rm --cpus 0 bb:user true
	[ "$status" -eq 125 ]
	[[ "$output" == *"--cpus wants"* ]]
	run petra run --rm --pids-limit -1 bb:user true
	[ "$status" -eq 125 ]
	[[ "$output" == *"--pids-limit wants"* ]]
}

@test "rm -f removes the cgroups a killed supervisor left behind" {
	local id pid sup
	id=$(petra run -d --pids-limit 50 bb:user sleep 60)
	pid=$(jq -r .pid "$PETRA_RUN_DIR/$id/state.json")
	sup=$(awk '/^PPid:/ {print $2}' "/proc/$pid/status")
	[ "$(cat "/proc/$sup/comm")" = petra-superviso ]
	kill -KILL "$sup"
	[ -n "$(cgroups_of "$id")" ]
	run petra rm -f "$id"
	[ "$status" -eq 0 ]
	[ -z "$(cgroups_of "$id")" ]
}
