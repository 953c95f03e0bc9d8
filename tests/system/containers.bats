#!/usr/bin/env bats
# Detached containers: run -d, ps, logs, stop, rm, exec, exec --all
# --filter, diff, and verify of the extracted layers.

load runtime-helpers
bats_require_minimum_version 1.5.0

setup_file() {
	runtime_setup_file
	# A derived image: bb:user plus one layer (umoci unpack, change,
	# repack), so base= filters have a layer chain to follow. (umoci insert
	# writes a truncated tar in the Debian 12 version.)
	local layout="$BATS_FILE_TMPDIR/derived" bundle="$BATS_FILE_TMPDIR/derived-bundle"
	petra export bb:user "oci:$layout:1"
	umoci unpack --image "$layout:1" "$bundle" >/dev/null
	echo extra >"$bundle/rootfs/extra.txt"
	umoci repack --image "$layout:1" "$bundle"
	rm -rf "$bundle"
	petra import -q "oci:$layout:1" --ref app:derived >/dev/null
	# An unrelated image (other content, so another layer).
	cp -a "$BATS_FILE_TMPDIR/rootfs" "$BATS_FILE_TMPDIR/other-rootfs"
	echo other >"$BATS_FILE_TMPDIR/other-rootfs/etc/other"
	import_with_config other:1 "$BATS_FILE_TMPDIR/other-rootfs" --config.user 65534 \
		--config.cmd /bin/sh --config.label tier=db
}

setup() {
	runtime_setup
}

teardown() {
	runtime_teardown
}

# A detached container that prints "ready" and waits for SIGTERM.
start_service() {
	local image=$1 name=$2
	shift 2
	petra run -d --name "$name" "$@" "$image" sh -c \
		'trap "echo stopping; exit 3" TERM; echo ready; while :; do sleep 0.05; done'
}

@test "run -d prints the id; ps, logs, stop and rm look after the container" {
	run start_service bb:user web
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^[0-9a-f]{64}$ ]]
	local id=$output
	run petra ps
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[1]}" == "${id:0:12}  bb:user"* ]]
	[[ "${lines[1]}" == *"Up"*"web" ]]
	run petra ps --format json
	[ "$(echo "$output" | jq -r '.[0].id')" = "$id" ]
	[ "$(echo "$output" | jq -r '.[0].running')" = "true" ]
	wait_for_file "$PETRA_RUN_DIR/$id/log"
	run petra logs web
	[ "$output" = "ready" ]
	run petra rm web
	[ "$status" -eq 1 ]
	[[ "$output" == *"is running (stop it first, or force)"* ]]
	run petra stop -t 5 web
	[ "$status" -eq 0 ]
	run petra ps -a --format json
	[ "$(echo "$output" | jq -r '.[0].running')" = "false" ]
	[ "$(echo "$output" | jq -r '.[0].exit_code')" = "3" ]
	run petra logs "${id:0:8}"
	[ "$output" = "$(printf 'ready\nstopping')" ]
	run petra rm web
	[ "$status" -eq 0 ]
	[ ! -e "$PETRA_RUN_DIR/$id" ]
	run petra ps -a -q
	[ -z "$output" ]
}

@test "stop kills after the grace period a container that ignores SIGTERM" {
	petra run -d --name stubborn bb:user sh -c 'trap "" TERM; while :; do sleep 0.05; done' >/dev/null
	local start=$SECONDS
	run petra stop -t 1 stubborn
	[ "$status" -eq 0 ]
	run petra ps -a --format json
	[ "$(echo "$output" | jq -r '.[0].exit_code')" = "137" ]
}

@test "stop is not fooled by a container that names itself like a zombie" {
	# /proc/PID/stat is "pid (comm) state ...": a comm of "x) Z" reads as
	# a zombie to a naive parser.
	petra run -d --name liar bb:user sh -c \
		'trap "" TERM; printf "x) Z" >/proc/self/comm; while :; do sleep 0.05; done' >/dev/null
	local pid i
	pid=$(petra ps --format json | jq -r '.[0].pid')
	for i in $(seq 1 500); do
		[ "$(cat "/proc/$pid/comm")" = "x) Z" ] && break
		sleep 0.01
	done
	[ "$(cat "/proc/$pid/comm")" = "x) Z" ]
	run petra stop -t 1 liar
	[ "$status" -eq 0 ]
	[ ! -e "/proc/$pid" ]
	run petra ps -a --format json
	[ "$(echo "$output" | jq -r '.[0].running')" = "false" ]
	[ "$(echo "$output" | jq -r '.[0].exit_code')" = "137" ]
}

@test "a state naming a host process, start time and all, is not taken for a container" {
	sleep 60 &
	local victim=$! id
	id=$(printf 'f%.0s' $(seq 1 64))
	mkdir -m 0700 "$PETRA_RUN_DIR" "$PETRA_RUN_DIR/$id"
	jq -n --arg id "$id" --argjson pid "$victim" \
		--argjson start "$(cut -d" " -f22 "/proc/$victim/stat")" \
		'{id: $id, name: "victim", pid: $pid, pid_start: $start, created: 1}' \
		>"$PETRA_RUN_DIR/$id/state.json"
	run petra stop -t 1 victim
	local alive=0
	kill -0 "$victim" 2>/dev/null && alive=1
	kill "$victim" 2>/dev/null || true
	wait "$victim" || true
	[ "$alive" -eq 1 ]
	run petra ps -q
	[ -z "$output" ]
}

@test "the supervisor of a detached container holds its exit status, and --rm removes it" {
	local id
	id=$(petra run -d bb:user sh -c 'exit 5')
	local i
	for i in $(seq 1 1500); do
		[ -e "$PETRA_RUN_DIR/$id/exit" ] && break
		sleep 0.01
	done
	[ "$(cat "$PETRA_RUN_DIR/$id/exit")" = "5" ]
	id=$(petra run -d --rm bb:user true)
	for i in $(seq 1 1500); do
		[ -e "$PETRA_RUN_DIR/$id" ] || break
		sleep 0.01
	done
	[ ! -e "$PETRA_RUN_DIR/$id" ]
}

@test "exec joins a running container: its namespaces, root, user and environment" {
	start_service bb:user svc -e GREETING=hi --tmpfs /data:uid=65534 >/dev/null
	run petra exec svc sh -c 'id -u; echo $GREETING; hostname; ps | grep -c "sleep\|sh -c"; echo x >/etc/x'
	[ "${lines[0]}" = "65534" ]
	[ "${lines[1]}" = "hi" ]
	[ "${lines[2]}" = "$(petra ps --format json | jq -r '.[0].id[0:12]')" ]
	[[ "$output" == *"Read-only file system"* ]]
	run petra exec svc sh -c 'grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status'
	[[ "$output" == *"CapEff:	0000000000000000"* ]]
	[[ "$output" == *"NoNewPrivs:	1"* ]]
	[[ "$output" == *"Seccomp:	2"* ]]
	run petra exec svc sh -c 'exit 9'
	[ "$status" -eq 9 ]
	run -127 petra exec svc no-such-command
	run petra exec -u root svc id -u
	[ "$output" = "0" ]
	# What exec wrote to the tmpfs shows in diff.
	petra exec svc sh -c 'echo 1 >/data/counter; mkdir /data/sub; touch /data/sub/f'
	run petra diff svc
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'A /data/counter\nA /data/sub\nA /data/sub/f')" ]
	run petra exec no-such-container true
	[ "$status" -eq 125 ]
	[[ "$output" == *'no container "no-such-container"'* ]]
}

@test "exec --all --filter reaches exactly the matching containers" {
	start_service bb:user a1 >/dev/null
	start_service bb:user a2 >/dev/null
	start_service app:derived d1 >/dev/null
	start_service other:1 o1 >/dev/null
	petra run --name ended bb:user true
	# image=: only the two containers of bb:user.
	run petra exec --all --filter image=bb:user -- sh -c 'echo hello from $(hostname)'
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | grep -c ' ok (exit 0) ')" -eq 2 ]
	[[ "$output" == *" a1 bb:user ok (exit 0)"* ]]
	[[ "$output" == *" a2 bb:user ok (exit 0)"* ]]
	[[ "$output" == *$'\na1\n----------------\nhello from '* ]]
	[[ "$output" != *" d1 "* && "$output" != *" o1 "* && "$output" != *"ended"* ]]
	# base=: the base image's layers start the derived image's chain.
	local base
	base=$(petra images --format json | jq -r '.[] | select(.name == "bb" and .tag == "user") | .digest')
	run petra exec --all --filter "base=$base" --format json -- true
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '[.[].name] | sort | join(",")')" = "a1,a2,d1" ]
	# label=: from the image config.
	run petra exec --all --filter label=tier=db -- true
	[ "$(echo "$output" | grep -c ' ok ')" -eq 1 ]
	[[ "$output" == *" o1 other:1 ok"* ]]
	# Several filters must all match.
	run petra exec --all --filter label=tier=web --filter name=a2 -- true
	[ "$(echo "$output" | grep -c ' ok ')" -eq 1 ]
	# Any failure makes the status 1; every container still gets its line.
	run petra exec --all -- sh -c 'test "$(hostname)" != "$(cat /etc/hostname 2>/dev/null || hostname)"'
	[ "$status" -eq 1 ]
	[ "$(echo "$output" | grep -c ' failed (exit 1) ')" -eq 4 ]
	# No match is no failure.
	run petra exec --all --filter name=nobody -- false
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run petra exec --all --filter colour=blue -- true
	[ "$status" -eq 125 ]
	[[ "$output" == *'filter "colour=blue"'* ]]
}

@test "verify catches tampering with the extracted layers" {
	petra run --rm bb:user true
	run petra verify bb:user
	[ "$status" -eq 0 ]
	[ "$output" = "ok: 1 image verified" ]
	local layer diff_id
	diff_id=$(petra inspect bb:user | jq -r '.[0].config.rootfs.diff_ids[0]')
	layer="$PETRA_ROOT/rootfs/layers/${diff_id#sha256:}/"
	[ -d "$layer" ]
	cp -a "$layer" "$BATS_TEST_TMPDIR/saved"
	echo "evil:x:0:0::/:/bin/sh" >>"$layer/etc/passwd"
	chmod 4755 "$layer/bin/pidfile-service"
	touch "$layer/bin/planted"
	rm "$layer/www/index.html"
	run petra verify bb:user
	[ "$status" -eq 1 ]
	[[ "$output" == *'"etc/passwd": is "f 644 0:0 '* ]]
	[[ "$output" == *'"bin/pidfile-service": is "f 4755'* ]]
	[[ "$output" == *'"bin/planted": not in the layer'* ]]
	[[ "$output" == *'"www/index.html": missing'* ]]
	run petra verify --format json
	[ "$status" -eq 1 ]
	[ "$(echo "$output" | jq -r '.ok')" = "false" ]
	# Restored, it verifies again.
	rm -rf "$layer"
	cp -a "$BATS_TEST_TMPDIR/saved" "${layer%/}"
	run petra verify bb:user
	[ "$status" -eq 0 ]
}

@test "a process joining with exec hands the container no descriptor and no memory of petra's" {
	# The probe, root in the container, watches for joining processes and
	# reports any directory descriptor or petra's environment it can read
	# through /proc. strace holds each execve for a second: the window
	# between joining and exec in which the joining process still runs
	# petra's code is then wide open.
	petra run -d --name watched bb:root /bin/grabfd "marker-$$" >/dev/null
	wait_for_file "$PETRA_RUN_DIR/$(petra ps --format json | jq -r '.[0].id')/log"
	# (LeakSanitizer cannot work under ptrace: off for an ASan build.)
	local held=(env PETRA_PROBE_MARKER="marker-$$" ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
		strace -f -qq -o /dev/null -e trace=execve -e inject=execve:delay_enter=1000000:when=2+)
	"${held[@]}" "$PETRA" exec watched true
	"${held[@]}" "$PETRA" exec -t watched true </dev/null
	run petra logs watched
	echo "$output"
	[ "${lines[0]}" = "watching" ]
	[[ "$output" != *LEAK* ]]
}

@test "exec refuses a state whose user id would leave the process root" {
	start_service bb:user svc >/dev/null
	local state
	state="$PETRA_RUN_DIR/$(petra ps --format json | jq -r '.[0].id')/state.json"
	local uid
	for uid in 4294967295 -1; do
		jq -c ".uid = $uid" "$state" >"$state.new"
		mv "$state.new" "$state"
		run petra exec svc id -u
		[ "$status" -eq 125 ]
		[[ "$output" == *"the state's uid is invalid"* ]]
	done
}

@test "a run directory another user could write is refused, with the states in it" {
	start_service bb:user real >/dev/null
	local pid start id
	pid=$(petra ps --format json | jq -r '.[0].pid')
	start=$(cut -d" " -f22 "/proc/$pid/stat")
	# Another user's directory holding a state that names our container.
	local evil="$BATS_TEST_TMPDIR/evil"
	id=$(printf 'e%.0s' $(seq 1 64))
	mkdir -p "$evil/$id"
	jq -n --arg id "$id" --argjson pid "$pid" --argjson start "$start" \
		'{id: $id, name: "victim", pid: $pid, pid_start: $start, created: 1}' >"$evil/$id/state.json"
	chown -R 4321:4321 "$evil"
	chmod 0700 "$evil"
	run env PETRA_RUN_DIR="$evil" "$PETRA" stop -t 1 victim
	[ "$status" -eq 1 ]
	[[ "$output" == *"run directory $evil belongs to uid 4321"* ]]
	# Ours, but writable by others; or a symbolic link.
	chown -R 0:0 "$evil"
	chmod 0777 "$evil"
	run env PETRA_RUN_DIR="$evil" "$PETRA" stop -t 1 victim
	[ "$status" -eq 1 ]
	[[ "$output" == *"run directory $evil is mode 0777"* ]]
	chmod 0700 "$evil"
	ln -s "$evil" "$BATS_TEST_TMPDIR/link"
	run env PETRA_RUN_DIR="$BATS_TEST_TMPDIR/link" "$PETRA" stop -t 1 victim
	[ "$status" -eq 1 ]
	[[ "$output" == *"is a symbolic link"* ]]
	# The container was never touched.
	[ "$(petra ps --format json | jq -r '.[0].running')" = "true" ]
}

@test "rootless without XDG_RUNTIME_DIR: /tmp/petra-run-UID is made 0700, and refused if another user made it" {
	rootless_setup
	local dir="/tmp/petra-run-$ROOTLESS_UID"
	rm -rf "$dir"
	local as_user=(setpriv --reuid="$ROOTLESS_UID" --regid="$ROOTLESS_UID" --clear-groups
		env -u PETRA_RUN_DIR -u XDG_RUNTIME_DIR PETRA_ROOT="$ROOTLESS/store" "$PETRA")
	run "${as_user[@]}" run --rm bb:rootless true
	local made
	made=$(stat -c "%a %u" "$dir")
	rm -rf "$dir"
	# Made by someone else first.
	mkdir -m 0755 "$dir"
	chown 4321:4321 "$dir"
	run "${as_user[@]}" ps
	local ps_status=$status ps_output=$output
	rm -rf "$dir"
	rootless_teardown
	[ "$made" = "700 $ROOTLESS_UID" ]
	[ "$ps_status" -eq 1 ]
	[[ "$ps_output" == *"run directory $dir belongs to uid 4321"* ]]
}

@test "diff quotes names the container chose, so they cannot forge lines or escapes" {
	start_service bb:user quoted --tmpfs /data:uid=65534 >/dev/null
	petra exec quoted sh -c 'touch "$(printf "/data/x\nD gone")" "$(printf "/data/\033[31mred")" /data/plain'
	run petra diff quoted
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	[ "${lines[0]}" = 'A "/data/\x1b[31mred"' ]
	[ "${lines[1]}" = "A /data/plain" ]
	[ "${lines[2]}" = 'A "/data/x\nD gone"' ]
}

@test "a name is one container's: another run with it is refused, also when they race" {
	start_service bb:user web >/dev/null
	local id
	id=$(petra ps --format json | jq -r '.[0].id')
	run petra run --rm --name web bb:user true
	[ "$status" -eq 125 ]
	[[ "$output" == *"the name \"web\" is already used by container ${id:0:12}"* ]]
	[ "$(petra ps -a -q | wc -l)" -eq 1 ]
	local i pids=()
	for i in 1 2 3 4; do
		"$PETRA" run -d --name race bb:user sleep 30 >/dev/null 2>&1 &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i" || true
	done
	[ "$(petra ps -a --format json | jq '[.[] | select(.name == "race")] | length')" -eq 1 ]
}
