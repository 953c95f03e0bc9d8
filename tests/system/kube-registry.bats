#!/usr/bin/env bats
# Image facts from a registry for kube-lint and the admission webhook: an
# image only in a loopback docker-registry (not in the store) is read
# (its config: the writable-paths label, USER), cached on disk by manifest
# digest; kube-lint asks the registry at once, the webhook never on the
# request path (a miss is answered by --on-unknown-image, and the
# background refresher fills the cache).

load runtime-helpers
load kube-helpers
load registry-helpers
bats_require_minimum_version 1.5.0

EXAMPLES="$BATS_TEST_DIRNAME/../../examples"
CORPUS="$TESTS_DATA/kube"

setup_file() {
	# The image is made in a store of its own and only pushed: the store
	# kube-lint and the webhook read never has it.
	export PETRA_ROOT="$BATS_FILE_TMPDIR/build-store"
	"$EXAMPLES/busybox/make-rootfs.sh" "$BATS_FILE_TMPDIR/busybox" >/dev/null
	petra import -q "$BATS_FILE_TMPDIR/busybox" --ref busybox:1.35 >/dev/null
	local ctx="$BATS_FILE_TMPDIR/web"
	mkdir -p "$ctx/www"
	echo '<h1>x</h1>' >"$ctx/www/index.html"
	printf '%s\n' 'FROM busybox:1.35' 'COPY www/ /srv/www/' 'USER app' 'EXPOSE 8080' \
		'CMD ["httpd", "-f", "-p", "8080", "-h", "/srv/www"]' >"$ctx/Dockerfile"
	petra build -q -t localhost/web:1 "$ctx" >/dev/null
	petra harden -q localhost/web:1 -t localhost/web:2 --writable /tmp:1m \
		--writable /var/cache/web:2m >/dev/null
}

setup() {
	export PETRA_ROOT="$BATS_TEST_TMPDIR/store"
	CACHE="$BATS_TEST_TMPDIR/image-cache"
	start_registry_with
	DIGEST=$(PETRA_ROOT="$BATS_FILE_TMPDIR/build-store" petra push -q --tls-verify=false \
		localhost/web:2 "$REG/shop/web:2" | tail -n1)
	[[ "$DIGEST" == sha256:* ]]
	# The corpus's manifests, naming the registry's image: one with both
	# writable paths mounted, one without /var/cache/web (KL201).
	sed "s|image: localhost/web:2|image: $REG/shop/web:2|" "$CORPUS/36-image-writable-mounted.yaml" \
		>"$BATS_TEST_TMPDIR/good.yaml"
	sed "s|image: localhost/web:2|image: $REG/shop/web:2|" "$CORPUS/37-image-writable-missing.yaml" \
		>"$BATS_TEST_TMPDIR/missing.yaml"
}

teardown() {
	if [ -n "${SERVER_PID:-}" ]; then
		kill "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	registry_teardown || true
}

# rules FILE ARGS...: the rule IDs kube-lint finds, comma-separated.
rules() {
	local file=$1
	shift
	petra kube-lint --format json --failure-threshold none "$@" "$file" 2>/dev/null |
		jq -r '[.[0].findings[].rule] | join(",")'
}

@test "kube-lint reads an image only in the registry: KL201 fires from its label, cached by manifest digest" {
	# Without --registry the image is unknown: a note, no image-aware rule.
	run -0 rules "$BATS_TEST_TMPDIR/missing.yaml"
	[ "$output" = KL111 ]
	run -0 petra kube-lint --failure-threshold none "$BATS_TEST_TMPDIR/missing.yaml"
	[[ "$output" == *"the image-aware rules (KL2xx) are left out"* ]]
	# From the registry (plain HTTP: --tls-verify=false implies --registry).
	run -0 rules "$BATS_TEST_TMPDIR/missing.yaml" --tls-verify=false --image-cache "$CACHE"
	[ "$output" = KL111,KL201 ]
	run -1 petra kube-lint --tls-verify=false --image-cache "$CACHE" "$BATS_TEST_TMPDIR/missing.yaml"
	[[ "$output" == *"KL201 error Deployment/web: container app: $REG/shop/web:2 must write /var/cache/web"* ]]
	run -0 rules "$BATS_TEST_TMPDIR/good.yaml" --tls-verify=false --image-cache "$CACHE"
	[ "$output" = KL111 ]
	# The cache: the config under the manifest digest, the tag's digest.
	[ -f "$CACHE/configs/sha256-${DIGEST#sha256:}.json" ]
	[ "$(jq -r '.config.Labels["org.petra.writable-paths"]' "$CACHE/configs/sha256-${DIGEST#sha256:}.json" |
		jq -r '[.[].path] | join(",")')" = /tmp,/var/cache/web ]
	grep -qx "$DIGEST" "$CACHE"/refs/*
	# With the registry gone, the cache answers, by tag and by digest.
	registry_teardown || true
	run -0 rules "$BATS_TEST_TMPDIR/missing.yaml" --tls-verify=false --image-cache "$CACHE"
	[ "$output" = KL111,KL201 ]
	sed "s|image: $REG/shop/web:2|image: $REG/shop/web@$DIGEST|" "$BATS_TEST_TMPDIR/missing.yaml" \
		>"$BATS_TEST_TMPDIR/by-digest.yaml"
	run -0 rules "$BATS_TEST_TMPDIR/by-digest.yaml" --tls-verify=false --image-cache "$CACHE"
	[ "$output" = KL201 ]
	# A registry that cannot be reached, nothing cached: a note, not a crash.
	run -0 petra kube-lint --failure-threshold none --tls-verify=false --image-cache "$BATS_TEST_TMPDIR/empty" \
		"$BATS_TEST_TMPDIR/missing.yaml"
	[[ "$output" == *"image $REG/shop/web:2: "*"left out for it"* ]]
}

@test "KL202 on an image only in the registry: its layers' paths, read from their tar headers once and kept as a path list" {
	cd "$BATS_TEST_TMPDIR"
	for f in 40-emptydir-over-content 41-emptydir-filled-by-init; do
		sed "s|image: localhost/web:2|image: $REG/shop/web:2|" "$CORPUS/$f.yaml" >"$BATS_TEST_TMPDIR/$f.yaml"
	done
	# The same finding, with the same count, as for the image in a store.
	run -0 petra kube-lint --failure-threshold none --tls-verify=false --image-cache "$CACHE" \
		"$BATS_TEST_TMPDIR/40-emptydir-over-content.yaml"
	echo "$output"
	[[ "$output" == *"KL202 warning Deployment/web: container app: the emptyDir www at /srv/www hides 1 entry of $REG/shop/web:2"* ]]
	local want
	want=$(PETRA_ROOT="$BATS_FILE_TMPDIR/build-store" petra kube-lint --failure-threshold none \
		"$CORPUS/40-emptydir-over-content.yaml" | grep -o "KL202.*" | sed "s|localhost/web:2|$REG/shop/web:2|")
	[ -n "$want" ]
	[[ "$output" == *"$want"* ]]
	# Filled by an init container: no KL202.
	run -0 rules "$BATS_TEST_TMPDIR/41-emptydir-filled-by-init.yaml" --tls-verify=false --image-cache "$CACHE"
	[[ "$output" != *KL202* ]]
	# The list: paths only (directories with a trailing /), the layers'
	# files not kept.
	local list="$CACHE/paths/sha256-${DIGEST#sha256:}.txt"
	grep -qx /srv/www/index.html "$list"
	grep -qx /srv/www/ "$list"
	grep -qx /bin/ "$list"
	[ "$(sort "$list")" = "$(cat "$list")" ]
	[ "$(find "$CACHE" -type f | grep -vc '\.json$\|\.txt$\|/refs/')" -eq 0 ]
	# A later layer that removes the content (a whiteout): the emptyDir
	# hides nothing any more; one that empties the directory and adds a
	# file back (an opaque directory or whiteouts, as the builder writes
	# them): one entry again.
	local ctx="$BATS_TEST_TMPDIR/rm"
	mkdir -p "$ctx"
	printf '%s\n' 'FROM localhost/web:2' 'USER root' 'RUN rm /srv/www/index.html' 'USER app' >"$ctx/Dockerfile"
	PETRA_ROOT="$BATS_FILE_TMPDIR/build-store" petra build -q -t localhost/web:rm "$ctx" >/dev/null
	PETRA_ROOT="$BATS_FILE_TMPDIR/build-store" petra push -q --tls-verify=false localhost/web:rm "$REG/shop/web:rm" >/dev/null
	sed "s|image: $REG/shop/web:2|image: $REG/shop/web:rm|" "$BATS_TEST_TMPDIR/40-emptydir-over-content.yaml" >rm.yaml
	run -0 rules rm.yaml --tls-verify=false --image-cache "$CACHE"
	[[ "$output" != *KL202* ]]
	printf '%s\n' 'FROM localhost/web:rm' 'USER root' 'RUN rm -r /srv/www && mkdir /srv/www && echo a >/srv/www/a' >"$ctx/Dockerfile"
	PETRA_ROOT="$BATS_FILE_TMPDIR/build-store" petra build -q -t localhost/web:back "$ctx" >/dev/null
	PETRA_ROOT="$BATS_FILE_TMPDIR/build-store" petra push -q --tls-verify=false localhost/web:back "$REG/shop/web:back" >/dev/null
	sed "s|image: $REG/shop/web:2|image: $REG/shop/web:back|" "$BATS_TEST_TMPDIR/40-emptydir-over-content.yaml" >back.yaml
	run -0 petra kube-lint --failure-threshold none --tls-verify=false --image-cache "$CACHE" back.yaml
	[[ "$output" == *"KL202 warning"*"hides 1 entry of $REG/shop/web:back"* ]]
	# With the registry gone the cached list answers.
	registry_teardown || true
	run -0 petra kube-lint --failure-threshold none --tls-verify=false --image-cache "$CACHE" \
		"$BATS_TEST_TMPDIR/40-emptydir-over-content.yaml"
	[[ "$output" == *"KL202 warning"*"hides 1 entry"* ]]
}

@test "KL203 on an image only in the registry: its banned base (from the manifest), a signature the policy requires from the registry's .sig tag" {
	cd "$BATS_TEST_TMPDIR"
	local m="$BATS_TEST_TMPDIR/missing.yaml"
	# Without a policy: no KL203 (and no note that it is left out).
	run -0 petra kube-lint --failure-threshold none --tls-verify=false --image-cache "$CACHE" "$m"
	[[ "$output" != *KL203* ]]
	[[ "$output" != *"KL203 needs"* ]]
	# The base the builder recorded in the manifest, banned by name.
	run -1 petra kube-lint --tls-verify=false --image-cache "$CACHE" \
		--policy "$CORPUS/43-image-base-banned.policy" "$m"
	echo "$output"
	[[ "$output" == *"KL203 error Deployment/web: container app: refused by the trust gate: base busybox:1.35@sha256:"*"banned"*"CVE-2099-0001"* ]]
	[ -f "$CACHE/manifests/sha256-${DIGEST#sha256:}.json" ]
	# Banned by the base's digest alone.
	local base
	base=$(jq -r '.annotations["org.opencontainers.image.base.digest"]' \
		"$CACHE/manifests/sha256-${DIGEST#sha256:}.json")
	[[ "$base" == sha256:* ]]
	printf 'bases:\n  ban:\n    - digest: %s\n      reason: rebuilt\n' "$base" >by-digest.policy
	run -1 petra kube-lint --tls-verify=false --image-cache "$CACHE" --policy by-digest.policy "$m"
	[[ "$output" == *"KL203 error"*"banned"*rebuilt* ]]
	# A signature the policy requires: the registry has none yet.
	export PETRA_PASSWORD=pw
	petra keygen -o prod >/dev/null
	printf 'trust:\n  scopes:\n    %s/**:\n      require: signed-by\n      keys: [prod.pub]\n' "$REG" >signed.yaml
	run -1 petra kube-lint --tls-verify=false --image-cache "$CACHE" --policy signed.yaml "$m"
	echo "$output"
	[[ "$output" == *"KL203 error Deployment/web: container app: refused by the trust gate: signature requirement"*"no signature"* ]]
	# Signed in the registry (cosign's .sig tag); a fresh cache reads it.
	petra sign --tls-verify=false --key prod.key "docker://$REG/shop/web:2" >/dev/null
	run -0 petra kube-lint --failure-threshold none --tls-verify=false --image-cache "$BATS_TEST_TMPDIR/cache2" \
		--policy signed.yaml "$m"
	[[ "$output" != *KL203* ]]
	[ "$(jq length "$BATS_TEST_TMPDIR/cache2/sigs/sha256-${DIGEST#sha256:}.json")" -eq 1 ]
	# Signed by another key: still refused.
	petra keygen -o other >/dev/null
	printf 'trust:\n  scopes:\n    %s/**:\n      require: signed-by\n      keys: [other.pub]\n' "$REG" >other.yaml
	run -1 petra kube-lint --tls-verify=false --image-cache "$BATS_TEST_TMPDIR/cache2" --policy other.yaml "$m"
	[[ "$output" == *"KL203 error"*"signature requirement"* ]]
	# A containers-policy.json that rejects everything.
	printf '{"default": [{"type": "reject"}]}' >reject.json
	run -1 petra kube-lint --tls-verify=false --image-cache "$CACHE" --signature-policy reject.json "$m"
	[[ "$output" == *"KL203 error"*"reject.json"* ]]
}

# serve ARGS...: petra admission serve on a free port with the test's CA.
serve() {
	local d="$BATS_TEST_TMPDIR/tls"
	mkdir -p "$d"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca.key" -out "$d/ca.crt" -days 1 \
		-subj /CN=petra-test-ca 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -keyout "$d/server.key" -out "$d/server.csr" \
		-subj /CN=localhost 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\n' >"$d/ext"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
		-CAcreateserial -out "$d/server.crt" -days 1 -extfile "$d/ext" 2>/dev/null
	TLS=$d
	local port
	port=$(free_port)
	URL="https://127.0.0.1:$port"
	"$PETRA" admission serve --listen "127.0.0.1:$port" --tls-cert "$d/server.crt" \
		--tls-key "$d/server.key" "$@" 2>"$BATS_TEST_TMPDIR/server.log" 3>&- &
	SERVER_PID=$!
	for _ in $(seq 1 500); do
		curl -fsS --cacert "$TLS/ca.crt" "$URL/healthz" >/dev/null 2>&1 && return 0
		sleep 0.02
	done
	cat "$BATS_TEST_TMPDIR/server.log" >&2
	return 1
}

# review MANIFEST: a CREATE AdmissionReview for its first object.
review() {
	local obj
	obj=$(yaml_to_json "$1" | jq -c '.[0]')
	jq -cn --argjson obj "$obj" '{
	  apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview",
	  request: {
	    uid: "b3a1c2d4-0000-4000-8000-000000000001",
	    kind: {group: "apps", version: "v1", kind: $obj.kind},
	    resource: {group: "apps", version: "v1", resource: "deployments"},
	    name: $obj.metadata.name, namespace: "default", operation: "CREATE",
	    userInfo: {username: "admin"}, object: $obj, oldObject: null, dryRun: false}}'
}

# post REQUEST-FILE: the response's .response, compact.
post() {
	curl -sS --cacert "$TLS/ca.crt" -H 'Content-Type: application/json' \
		--data-binary "@$1" "$URL/validate" | jq -c .response
}

@test "the webhook answers a miss by policy at once, never asking the registry on the request path, then the refresher's facts" {
	serve --tls-verify=false --image-cache "$CACHE" --on-unknown-image deny --refresh 1
	review "$BATS_TEST_TMPDIR/good.yaml" >"$BATS_TEST_TMPDIR/good.req"
	review "$BATS_TEST_TMPDIR/missing.yaml" >"$BATS_TEST_TMPDIR/missing.req"
	# The first review: not in the store, not cached yet: refused by
	# --on-unknown-image deny, at once.
	local start end r
	start=$(date +%s%N)
	r=$(post "$BATS_TEST_TMPDIR/good.req")
	end=$(date +%s%N)
	echo "$r"
	[ "$(jq -r .allowed <<<"$r")" = false ]
	[[ "$(jq -r .status.message <<<"$r")" == *"$REG/shop/web:2 is neither in the store nor yet in the image cache"*"unknown images are refused"* ]]
	[ $(((end - start) / 1000000)) -lt 1000 ]
	# The refresher fetches it in the background; then the facts answer:
	# the good manifest allowed, the one missing a writable path refused.
	for _ in $(seq 1 100); do
		r=$(post "$BATS_TEST_TMPDIR/good.req")
		[ "$(jq -r .allowed <<<"$r")" = true ] && break
		sleep 0.1
	done
	echo "$r"
	[ "$(jq -r .allowed <<<"$r")" = true ]
	[ -f "$CACHE/configs/sha256-${DIGEST#sha256:}.json" ]
	r=$(post "$BATS_TEST_TMPDIR/missing.req")
	echo "$r"
	[ "$(jq -r .allowed <<<"$r")" = false ]
	[[ "$(jq -r .status.message <<<"$r")" == *"KL201 Deployment/web: container app: $REG/shop/web:2 must write /var/cache/web"* ]]
	# The registry was asked by the refresher, for the tag's manifest.
	grep -q "GET /v2/shop/web/manifests/2" "$REG_LOG"
}

@test "the webhook with --on-unknown-image allow: a miss is allowed without the image's rules, later judged by them" {
	serve --tls-verify=false --image-cache "$CACHE" --refresh 1
	review "$BATS_TEST_TMPDIR/missing.yaml" >"$BATS_TEST_TMPDIR/missing.req"
	local r
	r=$(post "$BATS_TEST_TMPDIR/missing.req")
	echo "$r"
	# Allowed (KL111 is only a warning): the label is not known yet.
	[ "$(jq -r .allowed <<<"$r")" = true ]
	for _ in $(seq 1 100); do
		r=$(post "$BATS_TEST_TMPDIR/missing.req")
		[ "$(jq -r .allowed <<<"$r")" = false ] && break
		sleep 0.1
	done
	echo "$r"
	[ "$(jq -r .allowed <<<"$r")" = false ]
	[[ "$(jq -r .status.message <<<"$r")" == *KL201* ]]
	# KL202 from the path list the refresher read: a warning, allowed.
	sed "s|image: localhost/web:2|image: $REG/shop/web:2|" "$CORPUS/40-emptydir-over-content.yaml" \
		>"$BATS_TEST_TMPDIR/40.yaml"
	review "$BATS_TEST_TMPDIR/40.yaml" >"$BATS_TEST_TMPDIR/40.req"
	r=$(post "$BATS_TEST_TMPDIR/40.req")
	echo "$r"
	[ "$(jq -r .allowed <<<"$r")" = true ]
	[[ "$(jq -r '.warnings | join("\n")' <<<"$r")" == *"KL202"*"/srv/www hides 1 entry"* ]]
	# Without --registry (and no store image) it stays allowed: no facts.
	kill "$SERVER_PID"
	wait "$SERVER_PID" 2>/dev/null || true
	serve
	r=$(post "$BATS_TEST_TMPDIR/missing.req")
	[ "$(jq -r .allowed <<<"$r")" = true ]
}

@test "the webhook's trust gate on a registry image: a miss answered by --on-unknown-image at once, then the banned base refused with the reason, a signature that comes later seen by the refresher" {
	cd "$BATS_TEST_TMPDIR"
	serve --tls-verify=false --image-cache "$CACHE" --on-unknown-image deny --refresh 1 \
		--policy "$CORPUS/43-image-base-banned.policy"
	review "$BATS_TEST_TMPDIR/good.yaml" >"$BATS_TEST_TMPDIR/good.req"
	local start end r
	start=$(date +%s%N)
	r=$(post "$BATS_TEST_TMPDIR/good.req")
	end=$(date +%s%N)
	echo "$r"
	[ "$(jq -r .allowed <<<"$r")" = false ]
	[[ "$(jq -r .status.message <<<"$r")" == *"unknown images are refused"* ]]
	[ $(((end - start) / 1000000)) -lt 1000 ]
	for _ in $(seq 1 100); do
		r=$(post "$BATS_TEST_TMPDIR/good.req")
		[[ "$(jq -r .status.message <<<"$r")" == *"banned"* ]] && break
		sleep 0.1
	done
	echo "$r"
	[ "$(jq -r .allowed <<<"$r")" = false ]
	[[ "$(jq -r .status.message <<<"$r")" == *"KL203 Deployment/web: container app: refused by the trust gate: base busybox:1.35@sha256:"*"banned"*"CVE-2099-0001"* ]]
	[[ "$(jq -r .status.message <<<"$r")" != *"unknown images"* ]]
	kill "$SERVER_PID"
	wait "$SERVER_PID" 2>/dev/null || true
	# A policy requiring a signature: refused until the registry has one;
	# the refresher reads the .sig tag again and the pod is allowed.
	export PETRA_PASSWORD=pw
	petra keygen -o prod >/dev/null
	printf 'trust:\n  scopes:\n    %s/**:\n      require: signed-by\n      keys: [%s/prod.pub]\n' \
		"$REG" "$BATS_TEST_TMPDIR" >signed.yaml
	serve --tls-verify=false --image-cache "$CACHE" --refresh 1 --policy "$BATS_TEST_TMPDIR/signed.yaml"
	for _ in $(seq 1 100); do
		r=$(post "$BATS_TEST_TMPDIR/good.req")
		[[ "$(jq -r .status.message <<<"$r")" == *"signature requirement"* ]] && break
		sleep 0.1
	done
	echo "$r"
	[ "$(jq -r .allowed <<<"$r")" = false ]
	[[ "$(jq -r .status.message <<<"$r")" == *"KL203"*"signature requirement"*"no signature"* ]]
	petra sign --tls-verify=false --key prod.key "docker://$REG/shop/web:2" >/dev/null
	for _ in $(seq 1 100); do
		r=$(post "$BATS_TEST_TMPDIR/good.req")
		[ "$(jq -r .allowed <<<"$r")" = true ] && break
		sleep 0.1
	done
	echo "$r"
	[ "$(jq -r .allowed <<<"$r")" = true ]
}

@test "admission manifests pass the registry options to serve: the image cache on an emptyDir, the auth and certificate Secrets mounted; that command line serves registry images" {
	cd "$BATS_TEST_TMPDIR"
	export PETRA_ROOT="$BATS_TEST_TMPDIR/store"
	"$EXAMPLES/busybox/make-rootfs.sh" bb >/dev/null
	petra import -q bb --ref busybox:1.35 >/dev/null
	mkdir ctx
	printf '%s\n' 'FROM busybox:1.35' 'USER 1000' >ctx/Dockerfile
	petra build -q -t localhost/petra:1 ctx >/dev/null
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 1 \
		-subj /CN=petra-test-ca 2>/dev/null
	# Without a registry option: none of it.
	petra admission manifests --image localhost/petra:1 --ca-bundle ca.crt -o plain.yaml 2>/dev/null
	[ "$(yaml_to_json plain.yaml | jq -r '.[1].spec.template.spec.containers[0].command | index("--registry")')" = null ]
	run -0 petra admission manifests --image localhost/petra:1 --ca-bundle ca.crt \
		--registry-auth-secret regcred --cert-dir-secret regcerts --tls-verify=false --refresh 7 -o m.yaml
	local j pod='.[1].spec.template.spec'
	j=$(yaml_to_json m.yaml)
	local cmd
	cmd=$(jq -c "$pod.containers[0].command" <<<"$j")
	echo "$cmd"
	[[ "$cmd" == *'"--registry","--image-cache","/var/cache/petra-admission","--registry-auth","/etc/petra-admission/registry-auth/auth.json","--cert-dir","/etc/petra-admission/registry-certs","--tls-verify=false","--refresh","7"'* ]]
	[ "$(jq -c "[$pod.volumes[] | select(.name != \"tls\")]" <<<"$j")" = \
		'[{"name":"image-cache","emptyDir":{"sizeLimit":"4Gi"}},{"name":"registry-auth","secret":{"secretName":"regcred","defaultMode":288,"items":[{"key":".dockerconfigjson","path":"auth.json"}]}},{"name":"registry-certs","secret":{"secretName":"regcerts","defaultMode":288}}]' ]
	[ "$(jq -c "[$pod.containers[0].volumeMounts[] | select(.name != \"tls\") | .mountPath]" <<<"$j")" = \
		'["/var/cache/petra-admission","/etc/petra-admission/registry-auth","/etc/petra-admission/registry-certs"]' ]
	run -0 kube_strict_check m.yaml
	run -0 petra kube-lint --failure-threshold warning m.yaml
	# A bad Secret name is a usage error.
	run -2 petra admission manifests --image localhost/petra:1 --ca-bundle ca.crt --registry-auth-secret Bad_Name
	# The command line it writes, its in-pod paths made local, serves the
	# registry's image: the refresher fetches it, KL201 refuses.
	mkdir -p pod/auth pod/certs pod/cache
	echo '{"auths":{}}' >pod/auth/auth.json
	local args=() a skip=0
	for a in $(jq -r '.[3:][]' <<<"$cmd"); do
		if [ $skip = 1 ]; then skip=0; continue; fi
		case "$a" in
		--listen | --tls-cert | --tls-key) skip=1; continue ;;
		esac
		a=${a//\/var\/cache\/petra-admission/$BATS_TEST_TMPDIR/pod/cache}
		a=${a//\/etc\/petra-admission\/registry-auth/$BATS_TEST_TMPDIR/pod/auth}
		a=${a//\/etc\/petra-admission\/registry-certs/$BATS_TEST_TMPDIR/pod/certs}
		args+=("$a")
	done
	echo "${args[@]}"
	serve "${args[@]}"
	review "$BATS_TEST_TMPDIR/missing.yaml" >missing.req
	local r
	for _ in $(seq 1 100); do
		r=$(post missing.req)
		[ "$(jq -r .allowed <<<"$r")" = false ] && break
		sleep 0.1
	done
	echo "$r"
	[[ "$(jq -r .status.message <<<"$r")" == *"KL201"*"/var/cache/web"* ]]
	[ -f "pod/cache/configs/sha256-${DIGEST#sha256:}.json" ]
}
