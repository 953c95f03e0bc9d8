#!/usr/bin/env bats
# A push killed (SIGKILL) in the middle of a large blob's chunked upload is
# continued by the next push from the offset the registry reports, through
# the upload session recorded in the store. A proxy in front of the
# registry logs every request with the bytes of its body and holds one
# PATCH chunk: whole, as a request-buffering proxy (nginx's default) does,
# so the registry never sees it; or after passing half of it on, which
# distribution 2.8 keeps and then refuses to continue from.

load helpers
load registry-helpers

CHUNK=262144
HOLD_AT=$((12 * 262144))

setup() {
	petra_setup_store
	start_registry_with
	make_two_layer_image big:1 8192
	BIG=$(petra inspect --manifest big:1 | jq -r '.layers[-1].digest')
	BIG_SIZE=$(petra inspect --manifest big:1 | jq -r '.layers[-1].size')
	DIGEST=$(petra images --format json | jq -r '.[] | select(.name == "big") | .digest')
}

teardown() {
	registry_teardown
}

# start_push_proxy MODE: a proxy that passes requests on with their Host (so
# the registry's Locations name the proxy), logging "METHOD PATH
# CONTENT-RANGE BODY-BYTES STATUS", and holds the first PATCH whose
# Content-Range starts at HOLD_AT or later: entirely (hold) or after sending
# half of it to the registry and closing that connection (partial).
start_push_proxy() {
	local mode=$1 port
	port=$(free_port)
	cat >"$BATS_TEST_TMPDIR/push-proxy.py" <<'PYEOF'
import http.client, socket, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, upstream, mode, hold_at, log_path = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
lock = threading.Lock()
state = {'held': False}
log = open(log_path, 'a')

def write(line):
    with lock:
        log.write(line + '\n')
        log.flush()

class H(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def log_message(self, *a):
        pass
    def handle_one(self):
        n = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(n) if n else b''
        path = self.path.split('?')[0]
        cr = self.headers.get('Content-Range', '-')
        hold = False
        if self.command == 'PATCH' and cr != '-' and int(cr.split('-')[0]) >= hold_at:
            with lock:
                if not state['held']:
                    state['held'] = hold = True
        if hold:
            if mode == 'partial':
                host, p = upstream.split(':')
                s = socket.create_connection((host, int(p)))
                head = '%s %s HTTP/1.1\r\n' % (self.command, self.path)
                for k, v in self.headers.items():
                    head += '%s: %s\r\n' % (k, v)
                s.sendall(head.encode() + b'\r\n' + body[:len(body) // 2])
                time.sleep(0.5)
                s.close()
            write('HELD %s %s %s %d' % (self.command, path, cr, len(body)))
            time.sleep(600)
            return
        conn = http.client.HTTPConnection(upstream)
        headers = {k: v for k, v in self.headers.items() if k.lower() != 'connection'}
        conn.request(self.command, self.path, body=body if n or self.command in ('PUT', 'PATCH', 'POST') else None, headers=headers)
        r = conn.getresponse()
        data = r.read()
        write('%s %s %s %d %d' % (self.command, path, cr, len(body), r.status))
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ('connection', 'transfer-encoding', 'content-length'):
                self.send_header(k, v)
        self.send_header('Content-Length', r.getheader('Content-Length') if self.command == 'HEAD' and r.getheader('Content-Length') else str(len(data)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(data)
    do_GET = do_HEAD = do_PUT = do_PATCH = do_POST = do_DELETE = handle_one

ThreadingHTTPServer(('127.0.0.1', int(port)), H).serve_forever()
PYEOF
	PROXY_LOG="$BATS_TEST_TMPDIR/push-proxy.log"
	: >"$PROXY_LOG"
	$PY "$BATS_TEST_TMPDIR/push-proxy.py" "$port" "$REG" "$mode" "$HOLD_AT" "$PROXY_LOG" \
		2>"$BATS_TEST_TMPDIR/push-proxy.err" &
	PROXY_PID=$!
	wait_port "$port" "$PROXY_PID" || { cat "$BATS_TEST_TMPDIR/push-proxy.err" >&2; return 1; }
	PROXY="127.0.0.1:$port"
	export PROXY PROXY_PID PROXY_LOG
}

# Push through the proxy until it holds a chunk of the big layer, then
# SIGKILL the push. Sets SESSION (the session file the push left).
push_and_kill() {
	"$PETRA" push -q --tls-verify=false --jobs 1 --chunk-size 256k big:1 "$PROXY/big:1" \
		>"$BATS_TEST_TMPDIR/killed.out" 2>&1 &
	local pid=$! i
	for i in $(seq 1 300); do
		grep -q '^HELD PATCH' "$PROXY_LOG" && break
		sleep 0.1
	done
	grep -q '^HELD PATCH' "$PROXY_LOG"
	kill -9 "$pid"
	wait "$pid" || true
	SESSION=$(ls "$PETRA_ROOT"/registry-uploads/*.json)
	[ "$(echo "$SESSION" | wc -l)" -eq 1 ]
	# What the registry acknowledged before the held chunk.
	[ "$(jq -r .digest "$SESSION")" = "$BIG" ]
	[ "$(jq -r .acknowledged "$SESSION")" -eq "$HOLD_AT" ]
	run skopeo inspect --tls-verify=false "docker://$REG/big:1"
	[ "$status" -ne 0 ]
	: >"$PROXY_LOG"
}

# Bytes the PATCH requests of the log carried.
patched_bytes() {
	awk '$1 == "PATCH" { s += $4 } END { print s + 0 }' "$PROXY_LOG"
}

image_is_intact() {
	skopeo copy -q --src-tls-verify=false "docker://$REG/big:1" "oci:$BATS_TEST_TMPDIR/sk:1"
	[ "$(layout_digest "$BATS_TEST_TMPDIR/sk" 1)" = "$DIGEST" ]
	[ -z "$(ls "$PETRA_ROOT/registry-uploads/")" ]
	petra fsck
}

@test "a killed push resumes the registry's upload session: only the rest of the blob is sent" {
	start_push_proxy hold
	push_and_kill
	local uuid location
	location=$(jq -r .location "$SESSION")
	uuid=${location##*/uploads/}
	uuid=${uuid%%\?*}
	run petra push --tls-verify=false --chunk-size 256k big:1 "$PROXY/big:1"
	echo "$output"
	cat "$PROXY_LOG"
	[ "$status" -eq 0 ]
	[[ "$output" == *"resuming blob ${BIG:7:12} ("*") at byte $HOLD_AT"* ]]
	# The session's offset asked for, then PATCHes from there on, in the
	# same session: no new upload started.
	grep -q "^GET /v2/big/blobs/uploads/$uuid - 0 204" "$PROXY_LOG"
	grep -q "\"GET /v2/big/blobs/uploads/$uuid?_state=[^ ]* HTTP/1.1\" 204" "$REG_LOG"
	! grep -q '^POST ' "$PROXY_LOG"
	[ "$(grep '^PATCH ' "$PROXY_LOG" | head -1 | awk '{print $3}')" = "$HOLD_AT-$((HOLD_AT + CHUNK - 1))" ]
	! grep '^PATCH ' "$PROXY_LOG" | grep -v -q " /v2/big/blobs/uploads/$uuid "
	local sent
	sent=$(patched_bytes)
	[ "$sent" -eq $((BIG_SIZE - HOLD_AT)) ]
	[ "$sent" -lt "$BIG_SIZE" ]
	grep -q "^PUT /v2/big/blobs/uploads/$uuid - 0 201" "$PROXY_LOG"
	image_is_intact
}

@test "a session the registry no longer knows starts a new upload" {
	start_push_proxy hold
	push_and_kill
	# The registry forgets the session (as when it purges old uploads).
	curl -fsS -X DELETE "$(jq -r .location "$SESSION")"
	run petra push -q --tls-verify=false --chunk-size 256k big:1 "$PROXY/big:1"
	cat "$PROXY_LOG"
	[ "$status" -eq 0 ]
	grep -q '^GET /v2/big/blobs/uploads/[^ ]* - 0 404' "$PROXY_LOG"
	grep -q '^POST /v2/big/blobs/uploads/ - 0 202' "$PROXY_LOG"
	[ "$(patched_bytes)" -eq "$BIG_SIZE" ]
	image_is_intact
}

@test "distribution refuses a session whose chunk it got only part of; the push starts over" {
	# Half the held chunk reaches the registry, which keeps those bytes: its
	# session's signed offset no longer matches and it cancels the session
	# when it is asked for it. petra then uploads the blob anew.
	start_push_proxy partial
	push_and_kill
	run petra push -q --tls-verify=false --chunk-size 256k big:1 "$PROXY/big:1"
	cat "$PROXY_LOG"
	[ "$status" -eq 0 ]
	grep -Eq 'upload resumed at wrong (offset|offest)' "$REG_LOG"
	grep -q '^GET /v2/big/blobs/uploads/[^ ]* - 0 404' "$PROXY_LOG"
	[ "$(patched_bytes)" -eq "$BIG_SIZE" ]
	image_is_intact
}

@test "a store blob that no longer matches its digest is refused by the registry, chunked or whole" {
	# push does not hash blobs again on their way out: the registry checks
	# every digest before it accepts a blob, and the tag never appears.
	local file="$PETRA_ROOT/blobs/sha256/${BIG#sha256:}"
	chmod u+w "$file"
	$PY -c 'import sys; f = open(sys.argv[1], "r+b"); f.seek(1000000); b = f.read(1); f.seek(1000000); f.write(bytes([b[0] ^ 0xff]))' "$file"
	run petra push -q --tls-verify=false --chunk-size 256k big:1 "$REG/bad:1"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"blob $BIG: "*"(400 DIGEST_INVALID)"* ]]
	run petra push -q --tls-verify=false big:1 "$REG/bad:1"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"blob $BIG: "*"(400 DIGEST_INVALID)"* ]]
	run skopeo inspect --tls-verify=false "docker://$REG/bad:1"
	[ "$status" -ne 0 ]
	run curl -s -o /dev/null -w '%{http_code}' "http://$REG/v2/bad/blobs/$BIG"
	[ "$output" = 404 ]
	run petra fsck
	[ "$status" -ne 0 ]
}

@test "a layer listed twice in a manifest is uploaded once" {
	local d="$BATS_TEST_TMPDIR/twice"
	mkdir -p "$d/x"
	head -c 1000000 /dev/urandom >"$d/x/f"
	tar -C "$d/x" -czf "$d/l.tar.gz" --owner=0 --group=0 .
	make_layout_with_layers "$d/layout" t "$d/l.tar.gz" "$d/l.tar.gz"
	petra import -q "oci:$d/layout:t" --ref twice:1 >/dev/null
	local layer
	layer=$(petra inspect --manifest twice:1 | jq -r '.layers[0].digest')
	[ "$(petra inspect --manifest twice:1 | jq -r '.layers[1].digest')" = "$layer" ]
	run petra push --tls-verify=false --chunk-size 256k twice:1 "$REG/twice:1"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c "^petra: pushed blob ${layer:7:12} " <<<"$output")" -eq 1 ]
	[ "$(grep -c '"POST /v2/twice/blobs/uploads/' "$REG_LOG")" -eq 2 ]
	skopeo copy -q --src-tls-verify=false "docker://$REG/twice:1" "oci:$BATS_TEST_TMPDIR/sk2:1"
	[ "$(layout_digest "$BATS_TEST_TMPDIR/sk2" 1)" = "${lines[-1]}" ]
}

@test "upload sessions older than a week are swept by the next push; younger ones stay" {
	mkdir -p "$PETRA_ROOT/registry-uploads"
	echo '{}' >"$PETRA_ROOT/registry-uploads/old.json"
	echo '{}' >"$PETRA_ROOT/registry-uploads/young.json"
	touch -d '8 days ago' "$PETRA_ROOT/registry-uploads/old.json"
	touch -d '6 days ago' "$PETRA_ROOT/registry-uploads/young.json"
	petra push -q --tls-verify=false big:1 "$REG/swept:1" >/dev/null
	[ ! -e "$PETRA_ROOT/registry-uploads/old.json" ]
	[ -e "$PETRA_ROOT/registry-uploads/young.json" ]
}
