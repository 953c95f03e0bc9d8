#!/usr/bin/env bats
# -p: ports of a container in its own network namespace, published on the
# host by a userspace forwarder.

load runtime-helpers
bats_require_minimum_version 1.5.0

setup_file() {
	runtime_setup_file
	cc -static -O2 -o "$BATS_FILE_TMPDIR/udpecho" "$TESTS_DATA/probe/udpecho.c"
}

setup() {
	runtime_setup
}

teardown() {
	runtime_teardown
}

# The forwarders of this test's containers (by their parent, the
# container's supervisor or petra run): none may outlive the container.
forwarders_of() {
	local pid
	for pid in $(pgrep -x petra-ports || true); do
		[ "$(awk '/^PPid:/ {print $2}' /proc/$pid/status 2>/dev/null)" = "$1" ] && echo "$pid"
	done
	return 0
}

@test "-p publishes a busybox httpd of a network-less container; curl gets the page" {
	local port id
	port=$(free_port)
	id=$(petra run -d --name web -p "127.0.0.1:$port:8080" bb:user httpd -f -p 8080 -h /www)
	wait_for_http "http://127.0.0.1:$port/index.html"
	run curl -fsS "http://127.0.0.1:$port/index.html"
	[ "$status" -eq 0 ]
	[ "$output" = hello ]
	# Many connections, some at once.
	local i
	for i in $(seq 20); do curl -fsS "http://127.0.0.1:$port/index.html" >/dev/null & done
	wait
	run curl -fsS "http://127.0.0.1:$port/cgi-bin/count"
	[ "$status" -eq 0 ] || [ "$status" -eq 22 ]
	# ps shows it.
	run petra ps
	[[ "${lines[0]}" == *"PORTS"*"NAME" ]]
	[[ "${lines[1]}" == *"127.0.0.1:$port->8080/tcp"*"web" ]]
	run petra ps --format json
	[ "$(echo "$output" | jq -r '.[0].ports[0]')" = "127.0.0.1:$port->8080/tcp" ]
	# The container still has no network but its loopback.
	run petra exec web cat /proc/net/dev
	[[ "$output" != *"eth"* ]]
	# Stopped, the port is closed and the forwarder gone.
	local sup
	sup=$(awk '/^PPid:/ {print $2}' "/proc/$(jq -r .pid "$PETRA_RUN_DIR/$id/state.json")/status")
	[ -n "$(forwarders_of "$sup")" ]
	petra stop -t 1 web >/dev/null
	for i in $(seq 100); do [ -z "$(forwarders_of "$sup")" ] && break; sleep 0.02; done
	[ -z "$(forwarders_of "$sup")" ]
	run curl -sS "http://127.0.0.1:$port/index.html"
	[ "$status" -ne 0 ]
	# start publishes it again.
	petra start web >/dev/null
	wait_for_http "http://127.0.0.1:$port/index.html"
}

@test "-p in the foreground, over UDP too; the forwarder ends with the container" {
	local tport uport out="$BATS_TEST_TMPDIR/out"
	tport=$(free_port)
	uport=$(free_port)
	cp "$BATS_FILE_TMPDIR/udpecho" "$BATS_TEST_TMPDIR/udpecho"
	"$PETRA" run --rm --init -v "$BATS_TEST_TMPDIR/udpecho:/udpecho:ro" -p "127.0.0.1:$tport:80" \
		-p "127.0.0.1:$uport:5353/udp" bb:root \
		sh -c 'httpd -p 80 -h /www; exec /udpecho 5353' >"$out" 2>&1 &
	local pid=$!
	wait_for_http "http://127.0.0.1:$tport/index.html"
	wait_for_file "$out"
	run python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.sendto(b'ping', ('127.0.0.1', $uport))
print(s.recvfrom(100)[0].decode())"
	[ "$output" = "echo:ping" ]
	[ -n "$(forwarders_of "$pid")" ]
	kill -TERM "$pid"
	wait "$pid" || true
	[ -z "$(forwarders_of "$pid")" ]
	run curl -sS "http://127.0.0.1:$tport/index.html"
	[ "$status" -ne 0 ]
}

@test "-p: a port in use, a bad spec and --network host are refused" {
	local port id
	port=$(free_port)
	id=$(petra run -d -p "127.0.0.1:$port:80" bb:user sleep 60)
	run petra run --rm -p "127.0.0.1:$port:80" bb:user true
	[ "$status" -eq 125 ]
	[[ "$output" == *"publish 127.0.0.1:$port->80/tcp"*"in use"* ]]
	run petra ps -a -q
	[ "$output" = "${id:0:12}" ]
	run petra run --rm -p 80 bb:user true
	[ "$status" -eq 125 ]
	[[ "$output" == *"[IP:]HOST:CONTAINER"* ]]
	run petra run --rm -p 1:99999 bb:user true
	[ "$status" -eq 125 ]
	run petra run --rm -p 80:80/sctp bb:user true
	[ "$status" -eq 125 ]
	[[ "$output" == *"tcp or udp"* ]]
	run petra run --rm --network host -p "127.0.0.1:$port:80" bb:user true
	[ "$status" -eq 125 ]
	[[ "$output" == *"--network host"* ]]
}
