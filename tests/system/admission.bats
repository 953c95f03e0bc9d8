#!/usr/bin/env bats
# petra admission serve: AdmissionReview requests (the shape the Kubernetes
# documentation gives) posted with curl over TLS, with a CA made here.

load runtime-helpers
load kube-helpers
bats_require_minimum_version 1.5.0

CORPUS="$TESTS_DATA/kube"
EXAMPLES="$BATS_TEST_DIRNAME/../../examples"

setup_file() {
	local d="$BATS_FILE_TMPDIR/tls"
	mkdir -p "$d"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca.key" -out "$d/ca.crt" -days 1 \
		-subj /CN=petra-test-ca 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -keyout "$d/server.key" -out "$d/server.csr" \
		-subj /CN=localhost 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$d/ext"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
		-CAcreateserial -out "$d/server.crt" -days 1 -extfile "$d/ext" 2>/dev/null
}

setup() {
	export PETRA_ROOT="$BATS_TEST_TMPDIR/store"
	TLS="$BATS_FILE_TMPDIR/tls"
	PORT=$(free_port)
	URL="https://127.0.0.1:$PORT"
	# $PETRA itself, not the petra function: $! must be the server (petra
	# execs petra-admission in place), and fd 3 closed so bats does not
	# wait for it.
	"$PETRA" admission serve --listen "127.0.0.1:$PORT" --tls-cert "$TLS/server.crt" \
		--tls-key "$TLS/server.key" 2>"$BATS_TEST_TMPDIR/server.log" 3>&- &
	SERVER_PID=$!
	for _ in $(seq 1 500); do
		curl -fsS --cacert "$TLS/ca.crt" "$URL/healthz" >/dev/null 2>&1 && return 0
		sleep 0.02
	done
	cat "$BATS_TEST_TMPDIR/server.log" >&2
	return 1
}

teardown() {
	if [ -n "${SERVER_PID:-}" ]; then
		kill "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
}

# review OPERATION MANIFEST [OLD_MANIFEST]: an AdmissionReview request
# for the first object of MANIFEST (YAML), as the API server sends it.
review() {
	local op=$1 obj old=null
	obj=$(yaml_to_json "$2" | jq -c '.[0]')
	[ -n "${3:-}" ] && old=$(yaml_to_json "$3" | jq -c '.[0]')
	jq -cn --arg op "$op" --argjson obj "$obj" --argjson old "$old" '{
	  apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview",
	  request: {
	    uid: "705ab4f5-6393-11e8-b7cc-42010a800002",
	    kind: {group: ($obj.apiVersion | split("/") | if length > 1 then .[0] else "" end),
	           version: ($obj.apiVersion | split("/") | last), kind: $obj.kind},
	    resource: {group: "apps", version: "v1", resource: "deployments"},
	    requestKind: {group: "apps", version: "v1", kind: $obj.kind},
	    name: $obj.metadata.name, namespace: "default", operation: $op,
	    userInfo: {username: "admin", uid: "014fbff9a07c", groups: ["system:authenticated"]},
	    object: (if $op == "DELETE" then null else $obj end),
	    oldObject: (if $op == "CREATE" then null else ($old // $obj) end),
	    dryRun: false,
	    options: {apiVersion: "meta.k8s.io/v1", kind: "CreateOptions"}
	  }}'
}

# post BODY-FILE: the response body; HTTP status in $CODE.
post() {
	curl -sS --cacert "$TLS/ca.crt" -H 'Content-Type: application/json' \
		-o "$BATS_TEST_TMPDIR/resp" -w '%{http_code}' --data-binary "@$1" "$URL/validate"
}

@test "a pod that is mutable or privileged is refused with its reasons, uid echoed; a good one allowed" {
	review CREATE "$CORPUS/09-root-writable.yaml" >"$BATS_TEST_TMPDIR/req"
	run -0 post "$BATS_TEST_TMPDIR/req"
	[ "$output" = 200 ]
	local r
	r=$(cat "$BATS_TEST_TMPDIR/resp")
	[ "$(jq -r '.apiVersion + " " + .kind' <<<"$r")" = "admission.k8s.io/v1 AdmissionReview" ]
	[ "$(jq -r .response.uid <<<"$r")" = 705ab4f5-6393-11e8-b7cc-42010a800002 ]
	[ "$(jq -r .response.allowed <<<"$r")" = false ]
	[ "$(jq -r .response.status.code <<<"$r")" = 403 ]
	[[ "$(jq -r .response.status.message <<<"$r")" == *"KL101 Deployment/web: container app: the root filesystem is writable"* ]]
	# Two reasons at once, both given.
	review CREATE "$CORPUS/29-ephemeral-container.yaml" >"$BATS_TEST_TMPDIR/req"
	post "$BATS_TEST_TMPDIR/req" >/dev/null
	r=$(cat "$BATS_TEST_TMPDIR/resp")
	[[ "$(jq -r .response.status.message <<<"$r")" == *KL101*KL103*KL104* ]]
	# Warnings below the threshold go to warnings, and do not refuse.
	review CREATE "$CORPUS/24-image-by-tag.yaml" >"$BATS_TEST_TMPDIR/req"
	post "$BATS_TEST_TMPDIR/req" >/dev/null
	r=$(cat "$BATS_TEST_TMPDIR/resp")
	[ "$(jq -r .response.allowed <<<"$r")" = true ]
	[[ "$(jq -r '.response.warnings[0]' <<<"$r")" == "KL111 Deployment/web: "* ]]
	review CREATE "$CORPUS/01-pod-good.yaml" >"$BATS_TEST_TMPDIR/req"
	post "$BATS_TEST_TMPDIR/req" >/dev/null
	r=$(cat "$BATS_TEST_TMPDIR/resp")
	[ "$(jq -c .response <<<"$r")" = '{"uid":"705ab4f5-6393-11e8-b7cc-42010a800002","allowed":true}' ]
	grep -q "200 uid=705ab4f5-6393-11e8-b7cc-42010a800002 refused: KL101" "$BATS_TEST_TMPDIR/server.log"
}

@test "UPDATE: a change to the pod is linted, scaling is not; DELETE is always allowed" {
	# Scaling a bad Deployment: the pod template is the same.
	sed 's/^  selector:/  replicas: 1\n  selector:/' "$CORPUS/09-root-writable.yaml" >"$BATS_TEST_TMPDIR/scaled.yaml"
	review UPDATE "$BATS_TEST_TMPDIR/scaled.yaml" "$CORPUS/09-root-writable.yaml" >"$BATS_TEST_TMPDIR/req"
	post "$BATS_TEST_TMPDIR/req" >/dev/null
	[ "$(jq -r .response.allowed "$BATS_TEST_TMPDIR/resp")" = true ]
	# Making a good Deployment bad is refused.
	review UPDATE "$CORPUS/09-root-writable.yaml" "$CORPUS/02-deployment-good.yaml" >"$BATS_TEST_TMPDIR/req"
	post "$BATS_TEST_TMPDIR/req" >/dev/null
	[ "$(jq -r .response.allowed "$BATS_TEST_TMPDIR/resp")" = false ]
	review DELETE "$CORPUS/14-privileged.yaml" >"$BATS_TEST_TMPDIR/req"
	post "$BATS_TEST_TMPDIR/req" >/dev/null
	[ "$(jq -c .response "$BATS_TEST_TMPDIR/resp")" = '{"uid":"705ab4f5-6393-11e8-b7cc-42010a800002","allowed":true}' ]
}

@test "malformed JSON, a 10 MB body, a slow client and a wrong method do not take it down" {
	printf '{"apiVersion": "admission.k8s.io/v1", "kind": ' >"$BATS_TEST_TMPDIR/bad"
	run -0 post "$BATS_TEST_TMPDIR/bad"
	[ "$output" = 400 ]
	echo '{"apiVersion":"v1","kind":"Pod"}' >"$BATS_TEST_TMPDIR/notreview"
	run -0 post "$BATS_TEST_TMPDIR/notreview"
	[ "$output" = 400 ]
	head -c 10485760 /dev/zero | tr '\0' ' ' >"$BATS_TEST_TMPDIR/big"
	run -0 post "$BATS_TEST_TMPDIR/big"
	[ "$output" = 400 ]
	# A slow client: TLS up, headers promise a body that never comes.
	{
		printf 'POST /validate HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"apiVersion"'
		sleep 4
	} | timeout 6 openssl s_client -quiet -connect "127.0.0.1:$PORT" >/dev/null 2>&1 3>&- &
	local slow=$!
	sleep 0.5
	review CREATE "$CORPUS/01-pod-good.yaml" >"$BATS_TEST_TMPDIR/req"
	run -0 post "$BATS_TEST_TMPDIR/req"
	[ "$output" = 200 ]
	[ "$(jq -r .response.allowed "$BATS_TEST_TMPDIR/resp")" = true ]
	wait "$slow" || true
	run -0 curl -sS -o /dev/null -w '%{http_code}' --cacert "$TLS/ca.crt" -X PUT "$URL/validate"
	[ "$output" = 405 ]
	kill -0 "$SERVER_PID"
	run -0 curl -fsS --cacert "$TLS/ca.crt" "$URL/healthz"
	[ "$output" = ok ]
}

@test "TLS is real: a client without the CA refuses the server" {
	run curl -sS "$URL/healthz"
	[ "$status" -ne 0 ]
	[[ "$output" == *"certificate"* ]]
}

@test "usage errors and a server that cannot start" {
	run -2 petra admission
	run -2 petra admission reload
	run -0 petra admission --help
	[[ "${lines[0]}" == "Usage: petra admission serve"* ]]
	run -2 petra admission serve --listen 127.0.0.1:1
	run -1 petra admission serve --listen 127.0.0.1:1 --tls-cert /nonexistent --tls-key /nonexistent
	[[ "$output" == *"/nonexistent"* ]]
}

# start_server ARGS...: a second server on $PORT2 with ARGS; its pid in SERVER2_PID.
start_server() {
	PORT2=$(free_port)
	"$PETRA" admission serve --listen "127.0.0.1:$PORT2" --tls-cert "$BATS_TEST_TMPDIR/cur.crt" \
		--tls-key "$BATS_TEST_TMPDIR/cur.key" "$@" 2>"$BATS_TEST_TMPDIR/server2.log" 3>&- &
	SERVER2_PID=$!
	for _ in $(seq 1 500); do
		curl -fsS --cacert "$TLS/ca.crt" "https://127.0.0.1:$PORT2/healthz" >/dev/null 2>&1 && return 0
		sleep 0.02
	done
	cat "$BATS_TEST_TMPDIR/server2.log" >&2
	return 1
}

stop_server() {
	kill "$SERVER2_PID" 2>/dev/null || true
	wait "$SERVER2_PID" 2>/dev/null || true
}

post2() {
	curl -sS --cacert "$TLS/ca.crt" -H 'Content-Type: application/json' \
		-o "$BATS_TEST_TMPDIR/resp" -w '%{http_code}' --data-binary "@$1" \
		"https://127.0.0.1:$PORT2/validate"
}

@test "the trust gate: a banned base is refused (KL203), --on-unknown-image deny refuses what is not in the store; SIGHUP reloads the policy; JSON log" {
	cd "$BATS_TEST_TMPDIR"
	cp "$TLS/server.crt" cur.crt
	cp "$TLS/server.key" cur.key
	"$EXAMPLES/busybox/make-rootfs.sh" bb >/dev/null
	petra import -q bb --ref busybox:1.35 >/dev/null
	sed 's/image: localhost\/web:2/image: busybox:1.35/' "$CORPUS/43-image-base-banned.yaml" >pod.yaml
	review CREATE pod.yaml >req.json
	printf 'bases:\n  ban: []\n' >policy.yaml
	start_server --policy policy.yaml --log-format json
	[ "$(post2 req.json)" = 200 ]
	jq -e '.response.allowed == true' resp
	# Banned, then SIGHUP: the new policy refuses, with the reason.
	printf 'bases:\n  ban:\n    - image: busybox:1.35\n      reason: CVE-2099-0001\n' >policy.yaml
	kill -HUP "$SERVER2_PID"
	for _ in $(seq 1 100); do grep -q '"event":"reloaded"' server2.log && break; sleep 0.05; done
	[ "$(post2 req.json)" = 200 ]
	jq -e '.response.allowed == false and (.response.status.message | test("KL203 .*CVE-2099-0001"))' resp
	# The decision log is JSON, one object a line.
	grep '"uid"' server2.log | tail -1 | jq -e '.allowed == false and .status == 200 and (.reason | test("KL203"))'
	# A policy that does not parse: the reload fails, the old one serves on.
	printf 'bases: [\n' >policy.yaml
	kill -HUP "$SERVER2_PID"
	for _ in $(seq 1 100); do grep -q 'reload failed' server2.log && break; sleep 0.05; done
	grep -q 'reload failed' server2.log
	[ "$(post2 req.json)" = 200 ]
	jq -e '.response.allowed == false' resp
	stop_server
	# An image not in the store: allowed by default (the server above), refused with deny.
	sed 's/image: busybox:1.35/image: registry.example\/nowhere:1/' pod.yaml >unknown.yaml
	review CREATE unknown.yaml >unknown.json
	start_server --on-unknown-image deny
	[ "$(post2 unknown.json)" = 200 ]
	jq -e '.response.allowed == false and (.response.status.message | test("not in the store"))' resp
	stop_server
	start_server --on-unknown-image allow
	[ "$(post2 unknown.json)" = 200 ]
	jq -e '.response.allowed == true' resp
	stop_server
	run -2 "$PETRA" admission serve --listen 127.0.0.1:1 --tls-cert cur.crt --tls-key cur.key --on-unknown-image maybe
}

@test "SIGHUP reloads the certificate: curl sees the new one, connections go on" {
	cd "$BATS_TEST_TMPDIR"
	cp "$TLS/server.crt" cur.crt
	cp "$TLS/server.key" cur.key
	start_server --no-images
	local url="https://127.0.0.1:$PORT2/healthz" before after
	before=$(openssl s_client -connect "127.0.0.1:$PORT2" </dev/null 2>/dev/null | openssl x509 -noout -serial)
	[ "$before" = "$(openssl x509 -noout -serial -in "$TLS/server.crt")" ]
	# A new certificate from the same CA, new key.
	openssl req -newkey rsa:2048 -nodes -keyout new.key -out new.csr -subj /CN=localhost 2>/dev/null
	openssl x509 -req -in new.csr -CA "$TLS/ca.crt" -CAkey "$TLS/ca.key" -CAcreateserial \
		-out new.crt -days 1 -extfile "$TLS/ext" 2>/dev/null
	cp new.crt cur.crt
	cp new.key cur.key
	kill -HUP "$SERVER2_PID"
	for _ in $(seq 1 100); do grep -q 'reloaded' server2.log && break; sleep 0.05; done
	after=$(openssl s_client -connect "127.0.0.1:$PORT2" </dev/null 2>/dev/null | openssl x509 -noout -serial)
	[ "$after" = "$(openssl x509 -noout -serial -in new.crt)" ]
	[ "$after" != "$before" ]
	curl -fsS --cacert "$TLS/ca.crt" "$url" | grep -qx ok
	kill -0 "$SERVER2_PID"
	stop_server
}

@test "admission manifests: Service, petra's Deployment (read-only, non-root, by digest), a ValidatingWebhookConfiguration; schema and strict checks pass" {
	cd "$BATS_TEST_TMPDIR"
	"$EXAMPLES/busybox/make-rootfs.sh" bb >/dev/null
	petra import -q bb --ref busybox:1.35 >/dev/null
	mkdir ctx
	printf '%s\n' 'FROM busybox:1.35' 'USER 1000' \
		"LABEL org.petra.writable-paths='[{\"path\":\"/tmp\",\"size\":1048576}]'" >ctx/Dockerfile
	petra build -q -t localhost/petra:1 ctx >/dev/null
	local digest
	digest=$(petra images --format json | jq -r '.[] | select(.name == "localhost/petra") | .digest')
	run -0 petra admission manifests --image localhost/petra:1 --ca-bundle "$TLS/ca.crt" \
		--namespace guard --failure-policy Ignore --timeout 3 --on-unknown-image deny -o m.yaml
	[[ "$output" == *"Secret guard/petra-admission-tls"* ]]
	local j
	j=$(yaml_to_json m.yaml)
	[ "$(jq -r 'map(.kind) | join(",")' <<<"$j")" = "Service,Deployment,ValidatingWebhookConfiguration" ]
	local pod='.[1].spec.template.spec'
	[ "$(jq -r "$pod.containers[0].image" <<<"$j")" = "localhost/petra@$digest" ]
	[ "$(jq -c "$pod.securityContext" <<<"$j")" = \
		'{"runAsNonRoot":true,"runAsUser":1000,"runAsGroup":1000,"seccompProfile":{"type":"RuntimeDefault"}}' ]
	[ "$(jq -c "$pod.containers[0].securityContext" <<<"$j")" = \
		'{"allowPrivilegeEscalation":false,"readOnlyRootFilesystem":true,"capabilities":{"drop":["ALL"]}}' ]
	jq -e "$pod.containers[0].command | index(\"--on-unknown-image\") as \$i | .[\$i + 1] == \"deny\"" <<<"$j"
	[ "$(jq -c "[$pod.volumes[] | .name]" <<<"$j")" = '["tls","w0-tmp"]' ]
	local w='.[2].webhooks[0]'
	[ "$(jq -r "$w.sideEffects, $w.failurePolicy, $w.timeoutSeconds" <<<"$j" | paste -sd,)" = "None,Ignore,3" ]
	[ "$(jq -r "$w.clientConfig.caBundle" <<<"$j" | base64 -d)" = "$(cat "$TLS/ca.crt")" ]
	[ "$(jq -c "$w.clientConfig.service" <<<"$j")" = \
		'{"name":"petra-admission","namespace":"guard","path":"/validate","port":443}' ]
	[ "$(jq -c "$w.namespaceSelector.matchExpressions[0].values" <<<"$j")" = '["guard"]' ]
	[ "$(jq -c "[$w.rules[].resources[]] | sort" <<<"$j")" = \
		'["cronjobs","daemonsets","deployments","jobs","pods","replicasets","replicationcontrollers","statefulsets"]' ]
	# The default failure policy is written too (Fail, closed).
	petra admission manifests --image localhost/petra:1 --ca-bundle "$TLS/ca.crt" -o d.yaml 2>/dev/null
	[ "$(yaml_to_json d.yaml | jq -r '.[2].webhooks[0].failurePolicy')" = Fail ]
	run kube_schema_check m.yaml
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c ': valid$' <<<"$output")" -eq 3 ]
	run -0 kube_strict_check m.yaml
	# petra's own Deployment passes kube-lint.
	run -0 petra kube-lint --failure-threshold warning m.yaml
	# A root USER is refused; usage errors.
	printf 'FROM busybox:1.35\n' >ctx/Dockerfile
	petra build -q -t localhost/rootpetra:1 ctx >/dev/null
	run -1 petra admission manifests --image localhost/rootpetra:1 --ca-bundle "$TLS/ca.crt"
	[[ "$output" == *"root"* ]]
	run -2 petra admission manifests --image localhost/petra:1
	run -2 petra admission manifests --image localhost/petra:1 --ca-bundle "$TLS/ca.crt" --failure-policy Maybe
	run -2 petra admission manifests --image localhost/petra:1 --ca-bundle "$TLS/ca.crt" --timeout 31
	run -1 petra admission manifests --image localhost/petra:1 --ca-bundle "$TLS/server.key"
}
