#!/usr/bin/env bats
# petra bundle: the OCI runtime bundle runs unchanged under runc with the
# same result as petra run; podman, given the same image read-only, agrees
# on what the container sees.

load runtime-helpers

setup_file() {
	runtime_setup_file
	import_with_config bb:labelled "$BATS_FILE_TMPDIR/rootfs" --config.user 65534 \
		--config.cmd /bin/pidfile-service --config.env GREETING=hello \
		--config.label 'org.petra.writable-paths=[{"path":"/run/app","size":1048576,"mode":"0755","uid":65534},{"path":"/var/log/app","size":1048576,"mode":"0755","uid":65534}]'
}

setup() {
	runtime_setup
}

teardown() {
	runtime_teardown
}

# What a container sees of itself, as lines that do not depend on who
# started it (no pids, no hostnames, no times).
# (One output stream from the start: runc and petra may hand stdout and
# stderr over as different pipes, which would make the order racy.)
PROBE='exec 2>&1; id; echo "$GREETING"; pwd
grep -E "^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):" /proc/self/status
touch /x /etc/x /tmp/x 2>&1
echo pid >/run/app/pid && echo run-app-writable
echo log >/var/log/app/log && echo var-log-app-writable
echo 1 >/proc/sys/kernel/domainname 2>&1
mknod /run/app/null c 1 3 2>&1
wc -c </proc/timer_list; ls -A /sys/firmware | wc -l
tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "
/bin/euid
/bin/syscalls
grep -E " / " /proc/mounts | cut -d" " -f4 | cut -d, -f1
ls /'

@test "the bundle's config.json says what petra run does" {
	run petra bundle bb:labelled "$BATS_TEST_TMPDIR/b"
	[ "$status" -eq 0 ]
	local cfg="$BATS_TEST_TMPDIR/b/config.json"
	[ "$(jq -r '.root.readonly' "$cfg")" = "true" ]
	[ "$(jq -r '.root.path' "$cfg")" = "rootfs" ]
	[ "$(jq -r '.process.user.uid' "$cfg")" = "65534" ]
	[ "$(jq -r '.process.args | join(" ")' "$cfg")" = "/bin/pidfile-service" ]
	[ "$(jq -r '.process.noNewPrivileges' "$cfg")" = "true" ]
	[ "$(jq -r '.process.capabilities.bounding | length' "$cfg")" = "10" ]
	[ "$(jq -r '.process.env[]' "$cfg" | grep -c GREETING=hello)" = "1" ]
	[ "$(jq -r '.mounts[] | select(.destination == "/run/app") | .type' "$cfg")" = "tmpfs" ]
	[ "$(jq -r '.mounts[] | select(.destination == "/run/app") | .options | join(",")' "$cfg")" = \
		"nosuid,nodev,size=1048576,mode=0755,uid=65534,gid=65534" ]
	[ "$(jq -r '.linux.maskedPaths | index("/proc/timer_list") != null' "$cfg")" = "true" ]
	[ "$(jq -r '.linux.readonlyPaths | index("/proc/sys") != null' "$cfg")" = "true" ]
	[ "$(jq -r '.linux.seccomp.syscalls[0].names | index("mount") != null' "$cfg")" = "true" ]
	[ "$(jq -r '[.linux.namespaces[].type] | sort | join(",")' "$cfg")" = "cgroup,ipc,mount,network,pid,uts" ]
	[ -x "$BATS_TEST_TMPDIR/b/rootfs/bin/busybox" ]
}

@test "runc runs the bundle unchanged, with the same result as petra run" {
	petra bundle bb:labelled "$BATS_TEST_TMPDIR/b" sh -c "$PROBE"
	local runc_out petra_out
	runc_out=$(runc --root "$BATS_TEST_TMPDIR/runc" run -b "$BATS_TEST_TMPDIR/b" "petra-test-$$-$BATS_TEST_NUMBER" 2>&1)
	petra_out=$(petra run --rm bb:labelled sh -c "$PROBE" 2>&1)
	echo "runc:"
	echo "$runc_out"
	[ "$runc_out" = "$petra_out" ]
	# And the probe saw what it should.
	[[ "$petra_out" == *"uid=65534(nobody) gid=65534(nogroup)"* ]]
	[[ "$petra_out" == *"touch: /x: Read-only file system"* ]]
	[[ "$petra_out" == *"run-app-writable"* ]]
	[[ "$petra_out" == *"mknod: /run/app/null: Operation not permitted"* ]]
	# The seccomp profile refuses the same calls under runc, high bits and all.
	[[ "$petra_out" == *"socket(AF_VSOCK): Operation not permitted"* ]]
	[[ "$petra_out" == *"socket(AF_VSOCK | 1 << 32): Operation not permitted"* ]]
	[[ "$petra_out" == *"ioctl(TIOCSTI | 1 << 32): Operation not permitted"* ]]
	[[ "$petra_out" == *"personality(ADDR_NO_RANDOMIZE): Operation not permitted"* ]]
	[[ "$petra_out" == *"personality(0xffffffff): allowed"* ]]
	# The plain service runs too.
	petra bundle bb:labelled "$BATS_TEST_TMPDIR/svc"
	run runc --root "$BATS_TEST_TMPDIR/runc" run -b "$BATS_TEST_TMPDIR/svc" "petra-svc-$$-$BATS_TEST_NUMBER"
	[ "$status" -eq 0 ]
	[ "$output" = "service ok" ]
}

@test "podman, given the same image read-only, agrees on user and root; only petra stops setuid" {
	# podman names the image after the layout's path, which must be lower case.
	local p="/tmp/petra-podman-$$-$RANDOM"
	local layout="$p/layout"
	petra export bb:labelled "oci:$layout:1"
	local podman=(podman --root "$p/root" --runroot "$p/runroot" --storage-driver vfs
		--events-backend file --runtime runc --cgroup-manager cgroupfs)
	local probe='id -u; id -g; touch /x 2>&1; /bin/euid'
	run "${podman[@]}" run --rm -q --network none --read-only --read-only-tmpfs=false \
		--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 "oci:$layout:1" sh -c "$probe"
	local podman_lines=("${lines[@]}")
	"${podman[@]}" system reset -f >/dev/null 2>&1 || true
	rm -rf "$p"
	run petra run --rm bb:labelled sh -c "$probe"
	[ "${podman_lines[0]}" = "65534" ] && [ "${lines[0]}" = "65534" ]
	[ "${podman_lines[1]}" = "65534" ] && [ "${lines[1]}" = "65534" ]
	[ "${podman_lines[2]}" = "touch: /x: Read-only file system" ]
	[ "${lines[2]}" = "touch: /x: Read-only file system" ]
	# podman leaves no_new_privs off by default: the setuid probe becomes
	# root there, not under petra.
	[ "${podman_lines[3]}" = "0" ]
	[ "${lines[3]}" = "65534" ]
}
