#!/usr/bin/env bats
# petra run: a read-only, hardened container, with the real kernel
# features (namespaces, overlayfs, seccomp, capabilities). Run as root.

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

@test "the root is read-only: writes anywhere outside the writable paths fail with EROFS" {
	run petra run --rm bb:user sh -c '
		for p in /x /etc/x /bin/x /tmp/x /root/x /run/app/x /var/log/app/x /dev/x; do
			echo data >"$p" 2>/dev/null && echo "wrote $p"
		done
		touch /etc/passwd; mkdir /newdir; rm /bin/cat; true'
	[ "$status" -eq 0 ]
	[[ "$output" != *"wrote"* ]]
	[[ "$output" == *"touch: /etc/passwd: Read-only file system"* ]]
	[[ "$output" == *"mkdir: can't create directory '/newdir': Read-only file system"* ]]
	[[ "$output" == *"rm: can't remove '/bin/cat': Read-only file system"* ]]
	# Also as root inside the container.
	run petra run --rm --user 0 bb:user sh -c 'echo x >/etc/passwd'
	[ "$status" -ne 0 ]
	[[ "$output" == *"Read-only file system"* ]]
	# And nothing changed in the image.
	run petra run --rm bb:user cat /etc/passwd
	[[ "${lines[0]}" == "root:x:0:0:root:/root:/bin/sh" ]]
}

@test "a tmpfs path is writable, with the size, mode and owner asked for" {
	run petra run --rm --tmpfs /scratch:size=1m,mode=0700,uid=65534 bb:user sh -c '
		echo hello >/scratch/f && cat /scratch/f && stat -c "%a %u" /scratch
		dd if=/dev/zero of=/scratch/big bs=1024 count=2048 2>/dev/null || echo FULL
		stat -c %s /scratch/big'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "hello" ]
	[ "${lines[1]}" = "700 65534" ]
	[ "${lines[2]}" = "FULL" ]
	[ "${lines[3]}" -le 1048576 ]
	# tmpfs contents do not outlive the container.
	run petra run --rm --tmpfs /scratch:uid=65534 bb:user ls -A /scratch
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "the process runs as the image's non-root user, with no capabilities" {
	run petra run --rm bb:user sh -c 'id -u; id -g; grep -E "^(CapEff|CapPrm|CapAmb|NoNewPrivs|Seccomp):" /proc/self/status'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "65534" ]
	[ "${lines[1]}" = "65534" ]
	[[ "$output" == *"CapEff:	0000000000000000"* ]]
	[[ "$output" == *"CapPrm:	0000000000000000"* ]]
	[[ "$output" == *"NoNewPrivs:	1"* ]]
	[[ "$output" == *"Seccomp:	2"* ]]
	# --user by name, from the image's /etc/passwd, overrides the image.
	run petra run --rm --user root bb:user id -u
	[ "$output" = "0" ]
	# --non-root refuses a root user.
	run petra run --rm --non-root bb:root true
	[ "$status" -eq 125 ]
	[[ "$output" == *"non-root is required"* ]]
}

@test "an /etc/passwd id that means (uid_t)-1 cannot make --non-root or USER run as root" {
	# setresuid(-1, -1, -1) changes nothing: such a user would stay root.
	local rootfs="$BATS_TEST_TMPDIR/rootfs"
	cp -a "$BATS_FILE_TMPDIR/rootfs" "$rootfs"
	printf 'evil:x:4294967295:4294967295::/:/bin/sh\nhuge:x:99999999999999999999:0::/:/bin/sh\nminus:x:-1:-1::/:/bin/sh\n' \
		>>"$rootfs/etc/passwd"
	import_with_config evil:1 "$rootfs" --config.user evil --config.cmd /bin/sh
	run petra run --rm --non-root evil:1 id -u
	[ "$status" -eq 125 ]
	[[ "$output" == *'"evil" in the image'"'"'s /etc/passwd: "4294967295" is not a valid uid'* ]]
	local user
	for user in evil huge minus 4294967295 -1 0:4294967295; do
		run petra run --rm --user "$user" bb:user id -u
		[ "$status" -eq 125 ]
		run petra run --rm --user "$user" evil:1 id -u
		[ "$status" -eq 125 ]
		[ "$output" != 0 ]
	done
}

@test "even root in the container keeps only the default capabilities" {
	run petra run --rm bb:root grep -E "^Cap(Eff|Bnd):" /proc/self/status
	[ "$status" -eq 0 ]
	# CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
	# NET_BIND_SERVICE SETFCAP = 0x800005fb
	[ "${lines[0]}" = "CapEff:	00000000800005fb" ]
	[ "${lines[1]}" = "CapBnd:	00000000800005fb" ]
	run petra run --rm --cap-add NET_ADMIN bb:root grep "^CapEff:" /proc/self/status
	[ "$output" = "CapEff:	00000000800015fb" ]
	# A non-root user gets an added capability as an ambient one.
	run petra run --rm --cap-add net_bind_service bb:user grep "^CapEff:" /proc/self/status
	[ "$output" = "CapEff:	0000000000000400" ]
}

@test "--cap-add ALL gives what petra's own bounding set allows" {
	local user mask
	for user in 0 65534; do
		run setpriv --bounding-set -sys_module "$PETRA" run --rm --cap-add ALL --user $user \
			bb:user grep -E "^Cap(Eff|Bnd):" /proc/self/status
		[ "$status" -eq 0 ]
		for mask in "${lines[@]}"; do
			mask=$((16#${mask##*[[:space:]]}))
			(((mask >> 16 & 1) == 0)) # SYS_MODULE: not petra's to give
			(((mask >> 21 & 1) == 1)) # SYS_ADMIN: asked for and given
		done
	done
}

@test "file capabilities on the command grant nothing beyond the container's" {
	local rootfs="$BATS_TEST_TMPDIR/rootfs"
	cp -a "$BATS_FILE_TMPDIR/rootfs" "$rootfs"
	setcap cap_setuid,cap_chown,cap_net_bind_service+eip "$rootfs/bin/caps"
	import_with_config fcaps:1 "$rootfs" --config.user 65534 --config.cmd /bin/caps
	# A non-root user: nothing, as without the file capabilities.
	run petra run --rm fcaps:1
	[ "$status" -eq 0 ]
	[[ "$output" == *"CapInh:	0000000000000000"* ]]
	[[ "$output" == *"CapPrm:	0000000000000000"* ]]
	[[ "$output" == *"CapEff:	0000000000000000"* ]]
	[[ "$output" == *"setuid(0): Operation not permitted"* ]]
	# An added capability is ambient, and still the only one.
	run petra run --rm --cap-add net_bind_service fcaps:1
	[[ "$output" == *"CapInh:	0000000000000400"* ]]
	[[ "$output" == *"CapPrm:	0000000000000400"* ]]
	[[ "$output" == *"CapEff:	0000000000000400"* ]]
	[[ "$output" == *"setuid(0): Operation not permitted"* ]]
	# Root keeps its set, with no inheritable capabilities (CVE-2022-24769).
	run petra run --rm --user 0 fcaps:1
	[[ "$output" == *"CapInh:	0000000000000000"* ]]
	[[ "$output" == *"CapEff:	00000000800005fb"* ]]
}

@test "it cannot remount / read-write, mknod, load modules or write /proc/sys" {
	for user in 0 65534; do
		run petra run --rm --user $user --tmpfs /w:mode=1777 bb:user sh -c '
			mount -o remount,rw / && echo REMOUNTED
			mknod /w/null c 1 3 && echo MKNOD
			insmod /bin/busybox && echo INSMOD
			echo 1 >/proc/sys/kernel/domainname && echo PROCSYS
			echo 1 >/proc/sysrq-trigger && echo SYSRQ
			touch /w/ok && echo WRITABLE'
		[[ "$output" != *REMOUNTED* ]]
		[[ "$output" != *MKNOD* ]]
		[[ "$output" != *INSMOD* ]]
		[[ "$output" != *PROCSYS* ]]
		[[ "$output" != *SYSRQ* ]]
		[[ "$output" == *WRITABLE* ]]
		[[ "$output" == *"mknod: /w/null: Operation not permitted"* ]]
		[[ "$output" == *"insmod: can't insert '/bin/busybox': Operation not permitted"* ]]
		[[ "$output" == *"/proc/sys/kernel/domainname: Read-only file system"* ]]
	done
	# The mount system call itself is refused, whatever the options.
	run petra run --rm --user 0 bb:user mount -t tmpfs none /tmp
	[ "$status" -ne 0 ]
	[[ "$output" == *"ermission denied"* || "$output" == *"not permitted"* ]]
}

@test "vsock, which no network namespace covers, is refused; so is TIOCSTI with high bits" {
	local net
	for net in none host; do
		run petra run --rm --network $net bb:user /bin/syscalls
		[ "$status" -eq 0 ]
		[ "${lines[0]}" = "socket(AF_VSOCK): Operation not permitted" ]
		[ "${lines[1]}" = "socket(AF_VSOCK | 1 << 32): Operation not permitted" ]
		[ "${lines[2]}" = "ioctl(TIOCSTI | 1 << 32): Operation not permitted" ]
	done
}

@test "it cannot see host processes: its command is PID 1" {
	sleep 60 &
	local host_pid=$!
	run petra run --rm bb:user sh -c 'echo $$; ls /proc | grep -E "^[0-9]+$" | wc -l; test -e /proc/'"$host_pid"' && echo SEES_HOST; true'
	kill "$host_pid"
	wait "$host_pid" || true
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "1" ]
	# sh itself, ls and grep (and wc): a handful, not the host's hundreds.
	[ "${lines[1]}" -le 4 ]
	[[ "$output" != *SEES_HOST* ]]
}

@test "it has its own cgroup namespace: /proc/self/cgroup shows no host paths" {
	run petra run --rm bb:user sh -c 'readlink /proc/self/ns/cgroup; cat /proc/self/cgroup'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" != "$(readlink /proc/self/ns/cgroup)" ]
	local line
	for line in "${lines[@]:1}"; do
		[[ "$line" == *:/ ]]
	done
	# A process joining with exec joins it too.
	petra run -d --name cg bb:user sleep 60 >/dev/null
	local pid
	pid=$(petra ps --format json | jq -r '.[0].pid')
	run petra exec cg readlink /proc/self/ns/cgroup
	[ "$output" = "$(readlink "/proc/$pid/ns/cgroup")" ]
}

@test "a setuid binary gains no privileges (no_new_privs)" {
	# The probe works: outside petra, setuid root takes effect.
	local probe="$BATS_FILE_TMPDIR/rootfs/bin/euid"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$probe"
	[ "$output" = "0" ]
	run petra run --rm bb:user /bin/euid
	[ "$status" -eq 0 ]
	[ "$output" = "65534" ]
}

@test "kernel paths of /proc and /sys are masked" {
	# They have contents on the host...
	[ "$(cat /proc/timer_list | wc -c)" -gt 0 ]
	[ "$(ls -A /sys/firmware | wc -l)" -gt 0 ]
	# ...and none in the container.
	run petra run --rm bb:user sh -c 'cat /proc/timer_list /proc/keys | wc -c; ls -A /sys/firmware | wc -l'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "0" ]
	[ "${lines[1]}" = "0" ]
}

@test "the exit status and signals pass through" {
	run petra run --rm bb:user sh -c 'exit 7'
	[ "$status" -eq 7 ]
	run -127 petra run --rm bb:user no-such-command
	[ "$status" -eq 127 ]
	[[ "$output" == *'exec "no-such-command": No such file or directory'* ]]
	run -126 petra run --rm bb:user /etc/passwd
	[ "$status" -eq 126 ]
	local out="$BATS_TEST_TMPDIR/out"
	# "$PETRA", not the petra function: $! must be petra itself.
	"$PETRA" run --rm bb:user sh -c 'trap "echo got TERM; exit 42" TERM; echo ready; while :; do sleep 0.05; done' >"$out" &
	local pid=$!
	wait_for_file "$out"
	kill -TERM "$pid"
	local code=0
	wait "$pid" || code=$?
	[ "$code" -eq 42 ]
	grep -q "got TERM" "$out"
	# Killed from outside (PID 1 ignores even SIGKILL from inside): 128+9.
	: >"$out"
	"$PETRA" run --name victim bb:user sh -c 'echo ready; exec sleep 60' >"$out" &
	pid=$!
	wait_for_file "$out"
	kill -KILL "$(petra ps --format json | jq -r '.[] | select(.name == "victim") | .pid')"
	code=0
	wait "$pid" || code=$?
	[ "$code" -eq 137 ]
}

@test "standard input only with -i; a terminal with -t" {
	run bash -c 'echo from-stdin | "$PETRA" run --rm bb:user cat'
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run bash -c 'echo from-stdin | "$PETRA" run --rm -i bb:user cat'
	[ "$output" = "from-stdin" ]
	run script -qec "$PETRA run --rm -t bb:user sh -c 'tty; test -t 0 && echo TTY'" /dev/null
	[ "$status" -eq 0 ]
	[[ "$output" == *"/dev/console"* ]]
	[[ "$output" == *"TTY"* ]]
}

@test "without -t the container gets no terminal, not even the caller's" {
	# petra runs on a terminal (script's), as an operator's shell would.
	local probe='for fd in 0 1 2; do test -t $fd && echo "fd $fd is a terminal"; done
		cat /dev/tty; echo done'
	run script -qec "$PETRA run --rm bb:user sh -c '$probe'" /dev/null
	[ "$status" -eq 0 ]
	[[ "$output" != *"is a terminal"* ]]
	[[ "$output" == *"can't open '/dev/tty': No such device or address"* ]]
	[[ "$output" == *done* ]]
	# -i passes what is typed, through a pipe.
	run script -qec "$PETRA run --rm -i bb:user sh -c 'test -t 0 && echo TTY; read line; echo got \$line'" /dev/null <<<"typed"
	[[ "$output" != *TTY* ]]
	[[ "$output" == *"got typed"* ]]
	# exec too.
	petra run -d --name tty-victim bb:user sleep 60 >/dev/null
	run script -qec "$PETRA exec tty-victim sh -c '$probe'" /dev/null
	[[ "$output" != *"is a terminal"* ]]
	[[ "$output" == *"No such device or address"* ]]
	[[ "$output" == *done* ]]
}

@test "--network none has loopback only; --network host shares the host's" {
	run petra run --rm bb:user sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "'
	[ "$status" -eq 0 ]
	[ "$output" = "lo" ]
	run petra run --rm bb:user sh -c 'ifconfig lo | grep -c UP'
	[ "$output" = "1" ]
	local host_count
	host_count=$(tail -n +3 /proc/net/dev | wc -l)
	run petra run --rm --network host bb:user sh -c 'tail -n +3 /proc/net/dev | wc -l'
	[ "$output" = "$host_count" ]
}

@test "volumes are bound read-only or read-write; env, workdir and hostname are set" {
	local vol="$BATS_TEST_TMPDIR/vol"
	mkdir -p "$vol"
	echo host-data >"$vol/in"
	chmod 777 "$vol"
	run petra run --rm -v "$vol:/data:ro" bb:user sh -c 'cat /data/in; echo x >/data/out'
	[ "${lines[0]}" = "host-data" ]
	[[ "$output" == *"Read-only file system"* ]]
	[ ! -e "$vol/out" ]
	run petra run --rm -v "$vol:/data" bb:user sh -c 'echo from-container >/data/out'
	[ "$status" -eq 0 ]
	[ "$(cat "$vol/out")" = "from-container" ]
	run petra run --rm -e FOO=bar -w /etc bb:user sh -c 'echo $FOO; pwd; echo $HOME; hostname'
	[ "${lines[0]}" = "bar" ]
	[ "${lines[1]}" = "/etc" ]
	[ "${lines[2]}" = "/" ]
	[ "${#lines[3]}" -eq 12 ]
}

@test "a read-only volume is read-only all the way down, submounts included" {
	local vol="$BATS_TEST_TMPDIR/vol"
	mkdir -p "$vol/sub"
	mount -t tmpfs -o size=1m,mode=1777 tmpfs "$vol/sub"
	run petra run --rm --user 0 -v "$vol:/data:ro" bb:user sh -c '
		echo x >/data/sub/f && echo WROTE
		grep -E " /data(/sub)? " /proc/mounts | cut -d" " -f2,4 | cut -d, -f1-3'
	umount "$vol/sub"
	[[ "$output" != *WROTE* ]]
	[[ "$output" == *"/data/sub/f: Read-only file system"* ]]
	[[ "$output" == *"/data ro,nosuid,nodev"* ]]
	[[ "$output" == *"/data/sub ro,nosuid,nodev"* ]]
}

@test "rootless, the host's /sys bound in its place is read-only all the way down" {
	rootless_setup
	# With the host's network a user namespace cannot mount sysfs: the
	# host's /sys is bound instead, with its cgroup and other submounts.
	run rootless_petra run --rm --network host bb:rootless sh -c '
		id -u; grep " /sys/" /proc/mounts | cut -d" " -f4 | cut -d, -f1 | sort -u'
	rootless_teardown
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "0" ]
	[ "${#lines[@]}" -eq 2 ]
	[ "${lines[1]}" = "ro" ]
}

@test "--tmpfs and -v targets with . or .. are refused before anything is made on the host" {
	local up="/nothere/../../../../../../../../../../../../../.." marker="petra-escape-$$-$RANDOM"
	run petra run --rm --tmpfs "$up/tmp/$marker.d" bb:user true
	local tmpfs_status=$status tmpfs_output=$output
	echo data >"$BATS_TEST_TMPDIR/file"
	run petra run --rm -v "$BATS_TEST_TMPDIR/file:$up/tmp/$marker.f" bb:user true
	local made
	made=$(ls -d /tmp/"$marker".* 2>/dev/null || true)
	rm -rf /tmp/"$marker".*
	[ -z "$made" ]
	[ "$tmpfs_status" -eq 125 ]
	[[ "$tmpfs_output" == *"--tmpfs wants a clean absolute path"* ]]
	[ "$status" -eq 125 ]
	[[ "$output" == *"-v wants a clean absolute DST"* ]]
	run petra run --rm --tmpfs /./run bb:user true
	[ "$status" -eq 125 ]
}

@test "the writable-paths label of the image becomes tmpfs mounts" {
	import_with_config bb:labelled "$BATS_FILE_TMPDIR/rootfs" --config.user 65534 \
		--config.cmd /bin/pidfile-service \
		--config.label 'org.petra.writable-paths=[{"path":"/run/app","size":1048576,"mode":"0755","uid":65534},{"path":"/var/log/app","size":2097152,"mode":"0750","uid":65534}]'
	run petra run --rm bb:labelled
	[ "$status" -eq 0 ]
	[ "$output" = "service ok" ]
	run petra run --rm bb:labelled sh -c 'stat -c "%a %u" /run/app /var/log/app; grep -E " /(run/app|var/log/app) " /proc/mounts | cut -d" " -f3,4'
	[ "${lines[0]}" = "755 65534" ]
	[ "${lines[1]}" = "750 65534" ]
	[[ "${lines[2]}" == "tmpfs rw,nosuid,nodev,relatime,size=1024k,mode=755,uid=65534,gid=65534" ]]
	[[ "${lines[3]}" == "tmpfs rw,nosuid,nodev,relatime,size=2048k,mode=750,uid=65534,gid=65534" ]]
	# Without the label the same service cannot start.
	run petra run --rm bb:user /bin/pidfile-service
	[ "$status" -eq 1 ]
	[[ "$output" == *"Read-only file system"* ]]
}

@test "an image's label cannot ask for an unbounded or setuid tmpfs; the operator can override it" {
	import_with_config bb:greedy "$BATS_FILE_TMPDIR/rootfs" --config.user 65534 --config.cmd /bin/sh \
		--config.label 'org.petra.writable-paths=[{"path":"/run/app","size":1000000000000000000,"mode":"6777","uid":65534}]'
	run petra run --rm bb:greedy sh -c 'grep " /run/app " /proc/mounts | cut -d" " -f4'
	[ "$status" -eq 0 ]
	[ "$output" = "rw,nosuid,nodev,relatime,size=65536k,mode=777,uid=65534,gid=65534" ]
	# A --tmpfs of the same path replaces the label's.
	run petra run --rm --tmpfs /run/app:size=100m,mode=0700,uid=65534 bb:greedy sh -c \
		'grep " /run/app " /proc/mounts | cut -d" " -f4'
	[ "$output" = "rw,nosuid,nodev,relatime,size=102400k,mode=700,uid=65534" ]
}

@test "the root is mounted nosuid, however it is mounted" {
	local how
	for how in "" --copy-root --read-write; do
		run petra run --rm $how bb:user sh -c 'grep " / " /proc/mounts | cut -d" " -f4'
		[[ ",$output," == *,nosuid,* ]]
	done
}

@test "--copy-root shows the same read-only tree without overlayfs" {
	local a b
	local list='find /bin /etc /www /run /var | sort | xargs stat -c "%n %a %u:%g %F"
		find /bin /etc /www -type f ! -name hosts | sort | xargs md5sum
		grep " / " /proc/mounts | cut -d" " -f1'
	a=$(petra run --rm bb:user sh -c "$list")
	b=$(petra run --rm --copy-root bb:user sh -c "$list")
	[ "$(echo "$a" | wc -l)" -gt 40 ]
	[ "$(echo "$a" | head -n -1)" = "$(echo "$b" | head -n -1)" ]
	[ "$(echo "$a" | tail -n 1)" = "overlay" ]
	[ "$(echo "$b" | tail -n 1)" = "tmpfs" ]
	run petra run --rm --copy-root bb:user touch /etc/x
	[[ "$output" == *"Read-only file system"* ]]
}

@test "--read-write is the loud exception, and diff shows its changes" {
	run petra run --name rw --read-write bb:root sh -c 'echo new >/etc/newfile; echo changed >>/etc/group; rm /bin/wc'
	[ "$status" -eq 0 ]
	[[ "$output" == *"--read-write: the container's root filesystem is writable"* ]]
	run petra diff rw
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'C /bin\nD /bin/wc\nC /etc\nC /etc/group\nA /etc/newfile')" ]
	# The image is untouched.
	run petra run --rm bb:root sh -c 'test -e /etc/newfile || test ! -e /bin/wc || echo intact'
	[ "$output" = "intact" ]
}

@test "petra run leaves no mounts, processes or state behind" {
	petra run --rm --tmpfs /x bb:user true
	[ -z "$(ls -A "$PETRA_RUN_DIR")" ]
	! grep -q "$BATS_TEST_TMPDIR" /proc/self/mountinfo
	! grep -q "$PETRA_ROOT" /proc/self/mountinfo
	# Without --rm the state stays, with the exit status.
	petra run --name kept bb:user sh -c 'exit 3' || true
	run petra ps -a --format json
	[ "$(echo "$output" | jq -r '.[0].exit_code')" = "3" ]
	[ "$(echo "$output" | jq -r '.[0].running')" = "false" ]
}

@test "layers are extracted once, also by concurrent runs" {
	export PETRA_ROOT="$BATS_TEST_TMPDIR/store2"
	petra import -q "$BATS_FILE_TMPDIR/rootfs" --ref fresh:1 >/dev/null
	local pids=() i
	for i in 1 2 3 4; do
		"$PETRA" run --rm fresh:1 /bin/true &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i"
	done
	[ "$(ls -A "$PETRA_ROOT/rootfs/layers" | wc -l)" -eq 1 ]
	run petra verify fresh:1
	[ "$status" -eq 0 ]
}

@test "usage errors of run exit 125 and name the problem" {
	run petra run
	[ "$status" -eq 125 ]
	[[ "$output" == *"expects an IMAGE"* ]]
	run petra run --network bridge bb:user true
	[ "$status" -eq 125 ]
	[[ "$output" == *"--network is none or host"* ]]
	run petra run --cap-add CAP_NOPE bb:user true
	[ "$status" -eq 125 ]
	[[ "$output" == *'unknown capability "CAP_NOPE"'* ]]
	run petra run no-such-image:1 true
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" == 'petra: image "no-such-image:1" not found'* ]]
}
