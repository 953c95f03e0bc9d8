# Helpers for the runtime tests (run, containers, bundle, learn): busybox
# images with a user, labels and a setuid probe, built once per file.

load helpers
export PETRA

# The applets the runtime tests use, on top of make_busybox_rootfs's.
RUNTIME_APPLETS="mount mknod ps insmod hostname kill ifconfig cp dd printf tr seq
  tty stty sort uniq date basename dirname find xargs test [ expr mkfifo cut md5sum
  tail"

# make_runtime_rootfs DIR: a busybox rootfs with more applets, a setuid-root
# probe that prints its effective uid, the other probes of tests/data/probe
# (grabfd, caps, syscalls), and directories owned by the service user
# (65534) for the programs the learn tests run.
make_runtime_rootfs() {
	local dir=$1 applet
	make_busybox_rootfs "$dir"
	for applet in $RUNTIME_APPLETS; do
		ln -sf busybox "$dir/bin/$applet"
	done
	mkdir -p "$dir/sbin" "$dir/run/app" "$dir/var/log/app" "$dir/var/lib/counter" \
		"$dir/www/cgi-bin"
	ln -sf ../bin/busybox "$dir/sbin/httpd"
	cc -static -O2 -o "$dir/bin/euid" "$TESTS_DATA/probe/euid.c"
	chmod 4755 "$dir/bin/euid"
	local probe
	for probe in grabfd caps syscalls; do
		cc -static -O2 -o "$dir/bin/$probe" "$TESTS_DATA/probe/$probe.c"
	done
	chown 65534:65534 "$dir/run/app" "$dir/var/log/app" "$dir/var/lib/counter"
	# A CGI that counts its hits in a file: what a small service writes.
	cat >"$dir/www/cgi-bin/count" <<'CGI'
#!/bin/sh
n=$(cat /var/lib/counter/hits 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" >/var/lib/counter/hits
printf 'Content-Type: text/plain\r\n\r\n%s\n' "$n"
CGI
	chmod 755 "$dir/www/cgi-bin/count"
	echo hello >"$dir/www/index.html"
	# A service that writes a pid file and a log, then exits.
	cat >"$dir/bin/pidfile-service" <<'SH'
#!/bin/sh
echo $$ >/run/app/service.pid || exit 1
echo "started" >>/var/log/app/service.log || exit 1
echo service ok
SH
	chmod 755 "$dir/bin/pidfile-service"
}

# import_with_config NAME ROOTFS [umoci config options...]: import ROOTFS
# and set its config with umoci (the real tool), store it as NAME.
import_with_config() {
	local name=$1 rootfs=$2
	shift 2
	local layout="$BATS_FILE_TMPDIR/layout-$RANDOM$RANDOM"
	petra import -q "$rootfs" --ref tmp-import:1 >/dev/null
	petra export tmp-import:1 "oci:$layout:1"
	if [ $# -gt 0 ]; then
		umoci config --image "$layout:1" "$@"
	fi
	petra import -q "oci:$layout:1" --ref "$name" >/dev/null
	petra rmi tmp-import:1 >/dev/null
	rm -rf "$layout"
}

# One store per test file (images are built once); one run dir per test.
runtime_setup_file() {
	export PETRA_ROOT="$BATS_FILE_TMPDIR/store"
	make_runtime_rootfs "$BATS_FILE_TMPDIR/rootfs"
	import_with_config bb:root "$BATS_FILE_TMPDIR/rootfs" --config.cmd /bin/sh
	import_with_config bb:user "$BATS_FILE_TMPDIR/rootfs" --config.user 65534 \
		--config.cmd /bin/sh --config.workingdir / --config.label tier=web
}

runtime_setup() {
	export PETRA_ROOT="$BATS_FILE_TMPDIR/store"
	export PETRA_RUN_DIR="$BATS_TEST_TMPDIR/run"
}

# Remove every container the test left, by id (killing running ones).
runtime_teardown() {
	local id
	for id in $(petra ps -a -q 2>/dev/null); do
		petra rm -f "$id" >/dev/null 2>&1 || true
	done
}

# wait_for_file FILE [TRIES]: poll (10 ms steps, 15 s by default) until FILE
# is non-empty.
wait_for_file() {
	local file=$1 tries=${2:-1500}
	while [ "$tries" -gt 0 ]; do
		[ -s "$file" ] && return 0
		sleep 0.01
		tries=$((tries - 1))
	done
	echo "timed out waiting for $file" >&2
	return 1
}

# wait_for_http URL: poll (20 ms steps, 15 s at most) until URL answers.
wait_for_http() {
	local i
	for i in $(seq 1 750); do
		curl -fsS "$1" >/dev/null 2>&1 && return 0
		sleep 0.02
	done
	echo "timed out waiting for $1" >&2
	return 1
}

# A free TCP port on 127.0.0.1 (nothing listens on it right now).
free_port() {
	local port
	while :; do
		port=$((20000 + RANDOM % 20000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return
		fi
	done
}

# rootless_setup: a directory $ROOTLESS (under /tmp, which the user can
# reach) owned by the unprivileged uid $ROOTLESS_UID, with a store holding
# the runtime rootfs as bb:rootless. rootless_petra ARGS... runs petra as
# that user with its own XDG_RUNTIME_DIR. rootless_teardown removes it all.
rootless_setup() {
	ROOTLESS_UID=$((40000 + RANDOM % 20000))
	ROOTLESS=$(mktemp -d /tmp/petra-rootless.XXXXXX)
	mkdir -m 0700 "$ROOTLESS/xdg"
	cp -a "$BATS_FILE_TMPDIR/rootfs" "$ROOTLESS/rootfs"
	chown -R "$ROOTLESS_UID:$ROOTLESS_UID" "$ROOTLESS"
	chmod 0755 "$ROOTLESS"
	rootless_petra import -q "$ROOTLESS/rootfs" --ref bb:rootless >/dev/null
}

rootless_petra() {
	setpriv --reuid="$ROOTLESS_UID" --regid="$ROOTLESS_UID" --clear-groups \
		env -u PETRA_RUN_DIR PETRA_ROOT="$ROOTLESS/store" XDG_RUNTIME_DIR="$ROOTLESS/xdg" \
		"$PETRA" "$@"
}

rootless_teardown() {
	[ -n "${ROOTLESS:-}" ] && rm -rf "$ROOTLESS"
	return 0
}
