# Registries for the registry-*.bats tests: Debian's docker-registry on a
# free loopback port, plain or behind TLS (a CA and a server certificate
# made here), with htpasswd Basic auth or Bearer tokens from a small token
# server (python3-jwt), and a fault proxy. Everything started is stopped by
# its pid in registry_teardown.

PY=/usr/bin/python3

# make_certs DIR: DIR/ca.crt, DIR/server.crt and DIR/server.key for 127.0.0.1.
make_certs() {
	local dir=$1
	mkdir -p "$dir"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/ca.key" -out "$dir/ca.crt" \
		-subj /CN=petra-test-ca -days 2 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -keyout "$dir/server.key" -out "$dir/server.csr" \
		-subj /CN=127.0.0.1 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\n' >"$dir/ext"
	openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
		-CAcreateserial -out "$dir/server.crt" -days 2 -extfile "$dir/ext" 2>/dev/null
}

free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_port PORT PID: until something listens on 127.0.0.1:PORT.
wait_port() {
	local port=$1 pid=$2 i
	for i in $(seq 1 100); do
		if $PY -c "import socket; socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# start_registry_with [tls] [htpasswd FILE] [token REALM SERVICE CERT]: sets
# REG (host:port), REG_PID, REG_LOG. The log level is info, so every
# request is in REG_LOG.
start_registry_with() {
	local dir="$BATS_TEST_TMPDIR/reg" tls="" auth=""
	mkdir -p "$dir/data"
	while [ $# -gt 0 ]; do
		case $1 in
		tls)
			tls="  tls:
    certificate: $BATS_TEST_TMPDIR/certs/server.crt
    key: $BATS_TEST_TMPDIR/certs/server.key"
			shift
			;;
		htpasswd)
			auth="auth:
  htpasswd:
    realm: petra-test
    path: $2"
			shift 2
			;;
		token)
			auth="auth:
  token:
    realm: $2
    service: $3
    issuer: petra-test-issuer
    rootcertbundle: $4"
			shift 4
			;;
		*) return 1 ;;
		esac
	done
	local port
	port=$(free_port)
	cat >"$dir/config.yml" <<YAML
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
$tls
$auth
YAML
	REG_LOG="$dir/log"
	docker-registry serve "$dir/config.yml" >"$REG_LOG" 2>&1 &
	REG_PID=$!
	if ! wait_port "$port" "$REG_PID"; then
		echo "docker-registry did not start: $(cat "$REG_LOG")" >&2
		return 1
	fi
	REG="127.0.0.1:$port"
	export REG REG_PID REG_LOG
}

# start_token_server CERT KEY USERS: a Bearer token server (the Docker token
# spec) on a free port; USERS is "user:password:actions" lines (actions
# like "pull" or "pull,push"), granted on every repository. Sets TOKEN_URL.
start_token_server() {
	local cert=$1 key=$2 users=$3 port
	port=$(free_port)
	cat >"$BATS_TEST_TMPDIR/token-server.py" <<'PYEOF'
import base64, json, sys, time, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization

port, cert_path, key_path, users_path, log_path = sys.argv[1:6]
cert = x509.load_pem_x509_certificate(open(cert_path, 'rb').read())
key = serialization.load_pem_private_key(open(key_path, 'rb').read(), None)
x5c = [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]
users = {}
for line in open(users_path):
    u, p, actions = line.strip().split(':')
    users[u] = (p, actions.split(','))
log = open(log_path, 'a')

class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_GET(self):
        q = parse_qs(urlparse(self.path).query)
        who, allowed = None, []
        h = self.headers.get('Authorization', '')
        if h.startswith('Basic '):
            u, _, p = base64.b64decode(h[6:]).decode().partition(':')
            if u not in users or users[u][0] != p:
                log.write('denied %s\n' % u); log.flush()
                self.send_response(401); self.end_headers(); return
            who, allowed = u, users[u][1]
        access = []
        for scope in q.get('scope', []):
            typ, name, actions = scope.split(':')
            granted = [a for a in actions.split(',') if a in allowed]
            access.append({'type': typ, 'name': name, 'actions': granted})
        log.write('token for %s: %s\n' % (who, json.dumps(access))); log.flush()
        now = int(time.time())
        claims = {'iss': 'petra-test-issuer', 'sub': who or '', 'aud': q.get('service', [''])[0],
                  'exp': now + 300, 'nbf': now - 10, 'iat': now, 'jti': str(uuid.uuid4()),
                  'access': access}
        token = jwt.encode(claims, key, algorithm='RS256', headers={'x5c': x5c})
        body = json.dumps({'token': token, 'expires_in': 300}).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

ThreadingHTTPServer(('127.0.0.1', int(port)), H).serve_forever()
PYEOF
	printf '%s\n' "$users" >"$BATS_TEST_TMPDIR/token-users"
	TOKEN_LOG="$BATS_TEST_TMPDIR/token.log"
	$PY "$BATS_TEST_TMPDIR/token-server.py" "$port" "$cert" "$key" \
		"$BATS_TEST_TMPDIR/token-users" "$TOKEN_LOG" 2>"$BATS_TEST_TMPDIR/token.err" &
	TOKEN_PID=$!
	wait_port "$port" "$TOKEN_PID" || { cat "$BATS_TEST_TMPDIR/token.err" >&2; return 1; }
	TOKEN_URL="http://127.0.0.1:$port/token"
	export TOKEN_URL TOKEN_PID TOKEN_LOG
}

# start_fault_proxy MODE: a plain HTTP proxy in front of $REG that passes
# everything through but, for the first blob GET larger than 4 KiB,
# corrupts one byte (corrupt), closes the connection half way (drop),
# sends half and stalls (slow) or answers 500 (error500). Sets PROXY (host:port) and PROXY_LOG.
start_fault_proxy() {
	local mode=$1 port
	port=$(free_port)
	cat >"$BATS_TEST_TMPDIR/proxy.py" <<'PYEOF'
import http.client, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, upstream, mode, log_path = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
fired = threading.Lock()
state = {'fired': False}
log = open(log_path, 'a')

class H(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def log_message(self, *a):
        pass
    def relay(self, head):
        conn = http.client.HTTPConnection(upstream)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ('host', 'connection')}
        conn.request(self.command, self.path, headers=headers)
        r = conn.getresponse()
        body = b'' if head else r.read()
        log.write('%s %s %s %d\n' % (self.command, self.path, self.headers.get('Range', '-'), r.status)); log.flush()
        fault = None
        if not head and '/blobs/sha256:' in self.path and len(body) > 4096 and r.status in (200, 206):
            with fired:
                if not state['fired']:
                    state['fired'] = True
                    fault = mode
        if fault == 'error500':
            log.write('fault 500\n'); log.flush()
            self.send_response(500)
            self.send_header('Content-Length', '0')
            self.end_headers()
            return
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ('connection', 'transfer-encoding'):
                self.send_header(k, v)
        self.end_headers()
        if head:
            return
        if fault == 'corrupt':
            log.write('fault corrupt\n'); log.flush()
            mid = len(body) // 2
            body = body[:mid] + bytes([body[mid] ^ 0xff]) + body[mid + 1:]
        if fault == 'slow':
            # Half the blob, then nothing for a long while: the test kills
            # the client meanwhile.
            log.write('fault slow\n'); log.flush()
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            time.sleep(60)
            return
        if fault == 'drop':
            log.write('fault drop\n'); log.flush()
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.wfile.write(body)
    def do_GET(self):
        self.relay(False)
    def do_HEAD(self):
        self.relay(True)

ThreadingHTTPServer(('127.0.0.1', int(port)), H).serve_forever()
PYEOF
	PROXY_LOG="$BATS_TEST_TMPDIR/proxy.log"
	: >"$PROXY_LOG"
	$PY "$BATS_TEST_TMPDIR/proxy.py" "$port" "$REG" "$mode" "$PROXY_LOG" \
		2>"$BATS_TEST_TMPDIR/proxy.err" &
	PROXY_PID=$!
	wait_port "$port" "$PROXY_PID" || { cat "$BATS_TEST_TMPDIR/proxy.err" >&2; return 1; }
	PROXY="127.0.0.1:$port"
	export PROXY PROXY_PID PROXY_LOG
}

registry_teardown() {
	local pid
	for pid in ${PROXY_PID:-} ${TOKEN_PID:-} ${REG_PID:-}; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	unset PROXY_PID TOKEN_PID REG_PID
}

# make_two_layer_image NAME [KIB]: busybox plus a layer of KIB (default
# 512) random KiB, so blobs are big enough for the fault proxy and chunks.
make_two_layer_image() {
	local name=$1 size_kib=${2:-512} d="$BATS_TEST_TMPDIR/two-layers"
	rm -rf "$d" && mkdir -p "$d/bb" "$d/data/data"
	make_busybox_rootfs "$d/bb"
	head -c $((size_kib * 1024)) /dev/urandom >"$d/data/data/blob.bin"
	tar -C "$d/bb" -czf "$d/l1.tar.gz" --owner=0 --group=0 .
	tar -C "$d/data" -czf "$d/l2.tar.gz" --owner=0 --group=0 .
	make_layout_with_layers "$d/layout" t "$d/l1.tar.gz" "$d/l2.tar.gz"
	petra import -q "oci:$d/layout:t" --ref "$name" >/dev/null
}

# Blob uploads the registry's access log saw (PUT/PATCH/POST on blobs/uploads).
count_uploads() {
	grep -c '"\(PATCH\|PUT\) /v2/[^ ]*/blobs/uploads/' "$REG_LOG" || true
}
