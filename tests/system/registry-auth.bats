#!/usr/bin/env bats
# TLS, Basic and Bearer auth with Debian's docker-registry: certificates
# made by the test, htpasswd behind TLS, a token server signing with a key
# the test makes; credentials never leak.

load helpers
load registry-helpers

PASSWORD='s3cret-Pa55-w0rd'

setup() {
	petra_setup_store
	make_certs "$BATS_TEST_TMPDIR/certs"
	# The default auth file, which skopeo reads too. (Not REGISTRY_AUTH_FILE:
	# docker-registry takes REGISTRY_* variables as its configuration.)
	export XDG_RUNTIME_DIR="$BATS_TEST_TMPDIR/run"
	AUTH="$XDG_RUNTIME_DIR/containers/auth.json"
	# No registries.conf of the host's changes what these tests see.
	export CONTAINERS_REGISTRIES_CONF="$BATS_TEST_TMPDIR/registries.conf"
	: >"$CONTAINERS_REGISTRIES_CONF"
}

teardown() {
	registry_teardown
}

cert_dir() {
	mkdir -p "$BATS_TEST_TMPDIR/certs.d"
	cp "$BATS_TEST_TMPDIR/certs/ca.crt" "$BATS_TEST_TMPDIR/certs.d/ca.crt"
	echo "$BATS_TEST_TMPDIR/certs.d"
}

@test "TLS: the test's CA through --cert-dir; unknown CA refused; --tls-verify=false accepted" {
	start_registry_with tls
	make_two_layer_image app:1 64
	run petra push app:1 "$REG/app:1"
	[ "$status" -eq 1 ]
	[[ "$output" == *"certificate"* ]]
	run petra push --cert-dir "$(cert_dir)" app:1 "$REG/app:1"
	[ "$status" -eq 0 ]
	local digest=${lines[-1]}
	run petra pull -q --tls-verify=false "$REG/app:1"
	[ "$status" -eq 0 ]
	[ "$output" = "$digest" ]
	PETRA_ROOT="$BATS_TEST_TMPDIR/s2" run petra pull -q --cert-dir "$(cert_dir)" "$REG/app:1"
	[ "$status" -eq 0 ]
	[ "$output" = "$digest" ]
	[ "$(skopeo inspect --cert-dir "$(cert_dir)" "docker://$REG/app:1" | jq -r .Digest)" = "$digest" ]
}

@test "htpasswd Basic behind TLS: login --password-stdin, push, pull, logout; wrong password refused" {
	htpasswd -Bbn alice "$PASSWORD" >"$BATS_TEST_TMPDIR/htpasswd"
	start_registry_with tls htpasswd "$BATS_TEST_TMPDIR/htpasswd"
	make_two_layer_image app:1 64
	local cd
	cd=$(cert_dir)
	run petra push --cert-dir "$cd" app:1 "$REG/app:1"
	[ "$status" -eq 1 ]
	[[ "$output" == *"(401 UNAUTHORIZED)"* ]]
	run petra login --cert-dir "$cd" -u alice --password-stdin "$REG" <<<"wrong"
	[ "$status" -eq 1 ]
	[[ "$output" == "petra: login $REG: "* ]]
	[ ! -e "$AUTH" ]
	run petra login --cert-dir "$cd" -u alice --password-stdin "$REG" <<<"$PASSWORD"
	[ "$status" -eq 0 ]
	[ "$(stat -c %a "$AUTH")" = 600 ]
	[ "$(jq -r --arg r "$REG" '.auths[$r].auth' "$AUTH" | base64 -d)" = "alice:$PASSWORD" ]
	run petra push --cert-dir "$cd" app:1 "$REG/app:1"
	[ "$status" -eq 0 ]
	local digest=${lines[-1]}
	# skopeo reads the same auth file.
	[ "$(skopeo inspect --cert-dir "$cd" "docker://$REG/app:1" | jq -r .Digest)" = "$digest" ]
	PETRA_ROOT="$BATS_TEST_TMPDIR/s2" run petra pull --cert-dir "$cd" "$REG/app:1"
	[ "$status" -eq 0 ]
	# --creds wins over the file.
	PETRA_ROOT="$BATS_TEST_TMPDIR/s3" run petra pull --cert-dir "$cd" --creds alice:nope "$REG/app:1"
	[ "$status" -eq 1 ]
	run petra logout "$REG"
	[ "$status" -eq 0 ]
	[ "$(jq -r --arg r "$REG" '.auths[$r]' "$AUTH")" = null ]
	run petra logout "$REG"
	[ "$status" -eq 1 ]
	[[ "$output" == *"not logged in to $REG"* ]]
	# Docker's config.json is read too.
	export XDG_RUNTIME_DIR="$BATS_TEST_TMPDIR/run2" HOME="$BATS_TEST_TMPDIR/home"
	mkdir -p "$HOME/.docker"
	printf '{"auths":{"https://%s":{"auth":"%s"}}}' "$REG" \
		"$(printf 'alice:%s' "$PASSWORD" | base64 -w0)" >"$HOME/.docker/config.json"
	PETRA_ROOT="$BATS_TEST_TMPDIR/s4" run petra pull -q --cert-dir "$cd" "$REG/app:1"
	[ "$status" -eq 0 ]
	[ "$output" = "$digest" ]
	# The password is in no output and no log.
	! grep -rq "$PASSWORD" "$REG_LOG"
}

@test "Bearer tokens: scopes enforced (pull-only user cannot push), tokens cached per scope" {
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$BATS_TEST_TMPDIR/token.key" \
		-out "$BATS_TEST_TMPDIR/token.crt" -subj /CN=petra-token -days 2 2>/dev/null
	start_token_server "$BATS_TEST_TMPDIR/token.crt" "$BATS_TEST_TMPDIR/token.key" \
		"$(printf 'writer:%s:pull,push\nreader:r-pass:pull' "$PASSWORD")"
	start_registry_with token "$TOKEN_URL" petra-registry "$BATS_TEST_TMPDIR/token.crt"
	make_two_layer_image app:1 64
	run petra push --tls-verify=false app:1 "$REG/team/app:1"
	[ "$status" -eq 1 ]
	[[ "$output" == *"(401 UNAUTHORIZED)"* ]]
	run petra push --tls-verify=false --creds "writer:$PASSWORD" app:1 "$REG/team/app:1"
	[ "$status" -eq 0 ]
	local digest=${lines[-1]}
	grep -q 'token for writer: .*"name": "team/app", "actions": \["pull", "push"\]' "$TOKEN_LOG"
	# One token per scope for the whole push, not one per request.
	[ "$(grep -c 'token for writer' "$TOKEN_LOG")" -le 2 ]
	run petra push --tls-verify=false --creds reader:r-pass app:1 "$REG/team/other:1"
	[ "$status" -eq 1 ]
	[[ "$output" == *"(401 UNAUTHORIZED)"* ]] || [[ "$output" == *"DENIED"* ]]
	run petra pull -q --tls-verify=false --creds reader:r-pass "$REG/team/app:1"
	[ "$status" -eq 0 ]
	[ "$output" = "$digest" ]
	run petra pull --tls-verify=false --creds reader:bad "$REG/team/app:1"
	[ "$status" -eq 1 ]
	[[ "$output" == *"token server"* ]]
	# Login through the token server; then a pull with the stored login.
	run petra login --tls-verify=false -u writer --password-stdin "$REG" <<<"$PASSWORD"
	[ "$status" -eq 0 ]
	PETRA_ROOT="$BATS_TEST_TMPDIR/s2" run petra pull --tls-verify=false "$REG/team/app:1"
	[ "$status" -eq 0 ]
	! grep -rq "$PASSWORD" "$REG_LOG" "$TOKEN_LOG"
}

@test "credentials never appear in errors, progress or ps" {
	htpasswd -Bbn alice "$PASSWORD" >"$BATS_TEST_TMPDIR/htpasswd"
	start_registry_with tls htpasswd "$BATS_TEST_TMPDIR/htpasswd"
	make_two_layer_image app:1 64
	local cd
	cd=$(cert_dir)
	petra login --cert-dir "$cd" -u alice --password-stdin "$REG" <<<"$PASSWORD" 2>/dev/null
	run petra --debug push --cert-dir "$cd" app:1 "$REG/app:1"
	[ "$status" -eq 0 ]
	[[ "$output" != *"$PASSWORD"* ]]
	[[ "$output" != *"$(printf 'alice:%s' "$PASSWORD" | base64 -w0)"* ]]
	run petra --debug pull --cert-dir "$cd" "$REG/missing:1"
	[ "$status" -eq 1 ]
	[[ "$output" != *"$PASSWORD"* ]]
	# A slow login (password from stdin) is not visible in ps.
	(sleep 1; echo "$PASSWORD") | petra login --cert-dir "$cd" -u alice --password-stdin "$REG" 2>/dev/null &
	local pid=$!
	sleep 0.3
	! ps -eo args | grep -q -- "$PASSWORD"
	wait "$pid"
	# The image holds no credential either.
	petra unpack app:1 "$BATS_TEST_TMPDIR/rootfs"
	! grep -rq "$PASSWORD" "$BATS_TEST_TMPDIR/rootfs" "$PETRA_ROOT/blobs"
}
