#!/usr/bin/env bats
# The example of examples/httpd: a loopback service answering with the
# request as JSON, checked with curl before and after petra harden. After,
# it serves under petra run with a read-only root and cannot change its
# own configuration, even where the root is writable (podman).

load runtime-helpers
bats_require_minimum_version 1.5.0

EXAMPLES="$BATS_TEST_DIRNAME/../../examples"

setup_file() {
	export PETRA_ROOT="$BATS_FILE_TMPDIR/store"
	"$EXAMPLES/busybox/make-rootfs.sh" "$BATS_FILE_TMPDIR/busybox"
	petra import -q "$BATS_FILE_TMPDIR/busybox" --ref busybox:1.35 >/dev/null
	PETRA=$PETRA "$EXAMPLES/httpd/build.sh" busybox:1.35 httpd-example:1 >/dev/null
	petra harden httpd-example:1 -t httpd-example:hardened --writable /tmp:1m >/dev/null
}

setup() {
	runtime_setup
}

teardown() {
	runtime_teardown
}

# serve IMAGE: start the image's httpd on a free loopback port, detached;
# sets PORT and ID.
serve() {
	PORT=$(free_port)
	ID=$(petra run -d --network host "$1" httpd -f -p "127.0.0.1:$PORT" -h /srv/www \
		-c /etc/httpd.conf)
	wait_for_http "http://127.0.0.1:$PORT/"
}

@test "before hardening: it serves, and it owns its configuration" {
	serve httpd-example:1
	run curl -fsS -A petra-test "http://127.0.0.1:$PORT/cgi-bin/request?hello=world"
	[ "$status" -eq 0 ]
	echo "$output"
	[ "$(echo "$output" | jq -r .method)" = "GET" ]
	[ "$(echo "$output" | jq -r .query)" = "hello=world" ]
	[ "$(echo "$output" | jq -r .user_agent)" = "petra-test" ]
	[ "$(echo "$output" | jq -r .remote_addr)" = "127.0.0.1" ]
	[ "$(echo "$output" | jq -r .uid)" = "1000" ]
	[ "$(echo "$output" | jq -r .config_owner)" = "1000" ]
	[[ "$(curl -fsS "http://127.0.0.1:$PORT/")" == *"hello from petra"* ]]
	run petra audit --format json --fail-on none httpd-example:1
	[ "$(echo "$output" | jq -r '.findings[] | select(.id == "writable-by-user") | .path' | sort | tr '\n' ' ')" = \
		"/etc/httpd.conf /srv/www " ]
	run petra audit httpd-example:1
	[ "$status" -eq 1 ]
}

@test "after hardening: it serves under petra run, read-only, and cannot change its configuration" {
	run petra audit httpd-example:hardened
	[ "$status" -eq 0 ]
	[[ "${lines[-1]}" == "0 errors, 0 warnings, 0 info; "* ]]
	serve httpd-example:hardened
	run curl -fsS -A petra-test "http://127.0.0.1:$PORT/cgi-bin/request?after=harden"
	[ "$status" -eq 0 ]
	echo "$output"
	[ "$(echo "$output" | jq -r .query)" = "after=harden" ]
	[ "$(echo "$output" | jq -r .uid)" = "1000" ]
	[ "$(echo "$output" | jq -r .config_owner)" = "0" ]
	[ "$(echo "$output" | jq -r .config_writable)" = "false" ]
	# From inside: the root is read-only, the files are root's, only /tmp
	# can be written.
	run petra exec "$ID" sh -c 'grep " / " /proc/mounts | cut -d" " -f4 | cut -d, -f1
		echo x >>/etc/httpd.conf 2>&1; chmod 666 /etc/httpd.conf 2>&1
		echo x >/srv/www/index.html 2>&1; echo x >/tmp/t && echo tmp-writable
		stat -c "%U %a" /etc/httpd.conf /srv/www /srv/www/cgi-bin/request'
	echo "$output"
	[ "${lines[0]}" = "ro" ]
	[[ "${lines[1]}" == *"/etc/httpd.conf: Read-only file system" ]]
	[[ "${lines[2]}" == "chmod: /etc/httpd.conf: "* ]]
	[[ "${lines[3]}" == *"/srv/www/index.html: Read-only file system" ]]
	[ "${lines[4]}" = "tmp-writable" ]
	[ "${lines[5]}" = "root 644" ]
	[ "${lines[6]}" = "root 755" ]
	[ "${lines[7]}" = "root 755" ]
	# The configuration is as it was built.
	run petra exec "$ID" cat /etc/httpd.conf
	[ "$output" = "$(cat "$EXAMPLES/httpd/httpd.conf")" ]
}

@test "on a writable root (podman) the hardened service still cannot change its configuration" {
	local p="/tmp/petra-podman-$$-$RANDOM"
	petra export httpd-example:1 "oci:$p/layout:1"
	petra export httpd-example:hardened "oci:$p/layout:2"
	local podman=(podman --root "$p/root" --runroot "$p/runroot" --storage-driver vfs
		--events-backend file --runtime runc --cgroup-manager cgroupfs)
	local cgi=(--network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024
		-e REQUEST_METHOD=GET -e QUERY_STRING=q=1)
	run "${podman[@]}" run --rm -q "${cgi[@]}" "oci:$p/layout:1" /srv/www/cgi-bin/request
	local before=$output
	run "${podman[@]}" run --rm -q "${cgi[@]}" "oci:$p/layout:2" /srv/www/cgi-bin/request
	local after=$output
	"${podman[@]}" system reset -f >/dev/null 2>&1 || true
	rm -rf "$p"
	echo "before: $before"
	echo "after: $after"
	[ "$(echo "$before" | tail -n 1 | jq -r .config_writable)" = "true" ]
	[ "$(echo "$after" | tail -n 1 | jq -r .config_writable)" = "false" ]
	[ "$(echo "$after" | tail -n 1 | jq -r .query)" = "q=1" ]
}
