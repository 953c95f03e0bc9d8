#!/usr/bin/env bats
# GPG simple signing in registries as skopeo does it: signature-N files in
# a registries.d lookaside (file:// and http://), written by `skopeo copy
# --sign-by` and read by petra, written by petra (push --sign-by-gpg, and
# store signatures made by sign --sign-by-gpg) and accepted by `skopeo copy`
# under a signedBy policy.json (refused with another key).

load helpers
load registry-helpers

setup() {
	petra_setup_store
	cd "$BATS_TEST_TMPDIR"
	export GNUPGHOME="$BATS_TEST_TMPDIR/gnupg"
	mkdir -m 700 "$GNUPGHOME"
	start_registry_with
	T=--tls-verify=false
	FPR=$(new_gpg_key alice)
	OTHER=$(new_gpg_key bob)
	gpg --export alice@example.org >alice.gpg
	gpg --export bob@example.org >bob.gpg
	LOOK="$BATS_TEST_TMPDIR/look"
	mkdir -p "$LOOK" regd
	# The current spelling, for the registry's ns/ namespace.
	cat >regd/registry.yaml <<YAML
docker:
  $REG/ns:
    lookaside: file://$LOOK
    lookaside-staging: file://$LOOK
YAML
	for k in alice bob; do
		cat >"policy-$k.json" <<JSON
{"default": [{"type": "reject"}],
 "transports": {"docker": {"$REG/ns": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "$PWD/$k.gpg"}]}}}
JSON
	done
}

teardown() {
	[ -n "${HTTP_PID:-}" ] && { kill "$HTTP_PID"; wait "$HTTP_PID" 2>/dev/null || true; }
	registry_teardown || true
	gpgconf --kill all 2>/dev/null || true
}

# A new ed25519 signing key in $GNUPGHOME; prints its fingerprint.
new_gpg_key() {
	gpg --batch --passphrase '' --quick-gen-key "$1 <$1@example.org>" ed25519 sign never 2>/dev/null
	gpg --list-keys --with-colons "$1@example.org" | awk -F: '/^fpr/ { print $10; exit }'
}

# An HTTP server (python3 http.server) for DIR on a free port: HTTP_URL, HTTP_LOG.
start_http() {
	local port
	port=$(free_port)
	HTTP_LOG="$BATS_TEST_TMPDIR/http.log"
	python3 -m http.server --bind 127.0.0.1 --directory "$1" "$port" >"$HTTP_LOG" 2>&1 &
	HTTP_PID=$!
	wait_port "$port" "$HTTP_PID"
	HTTP_URL="http://127.0.0.1:$port"
}

@test "an image skopeo signed with GPG into the lookaside verifies in petra (file:// and http://); another key is refused; pull keeps the signatures for offline checks" {
	import_busybox app:1
	petra export app:1 "oci:$BATS_TEST_TMPDIR/layout" >/dev/null
	skopeo --registries.d regd copy -q --dest-tls-verify=false --sign-by "$FPR" \
		"oci:$BATS_TEST_TMPDIR/layout:1" "docker://$REG/ns/app:1"
	local digest
	digest=$(skopeo inspect --tls-verify=false "docker://$REG/ns/app:1" | jq -r .Digest)
	[ -f "$LOOK/ns/app@sha256=${digest#sha256:}/signature-1" ]

	run petra verify-signature $T --registries.d regd --gpg-keyring alice.gpg "docker://$REG/ns/app:1"
	[ "$status" -eq 0 ]
	[ "$output" = "Verified $digest: $REG/ns/app:1 signed by gpg:$FPR" ]
	run petra verify-signature $T --registries.d regd --gpg-keyring bob.gpg "docker://$REG/ns/app:1"
	[ "$status" -eq 1 ]
	[[ "$output" == *"docker://$REG/ns/app:1: wrong key"* ]]
	# Without a lookaside for it, there is nothing to verify.
	run petra verify-signature $T --registries.d /nonexistent --gpg-keyring alice.gpg "docker://$REG/ns/app:1"
	[ "$status" -eq 1 ]
	mkdir empty
	run petra verify-signature $T --registries.d empty --gpg-keyring alice.gpg "docker://$REG/ns/app:1"
	[ "$status" -eq 1 ]
	[[ "$output" == *"no signature"* ]]
	# The containers policy decides the same.
	petra verify-signature $T --registries.d regd --signature-policy policy-alice.json "docker://$REG/ns/app:1" >/dev/null
	run petra verify-signature $T --registries.d regd --signature-policy policy-bob.json "docker://$REG/ns/app:1"
	[ "$status" -eq 1 ]

	# Over http://, with skopeo 1.9's older key names, on default-docker.
	start_http "$LOOK"
	mkdir regd-http
	printf 'default-docker:\n  sigstore: %s\n  sigstore-staging: file://%s\n' "$HTTP_URL" "$LOOK" >regd-http/default.yaml
	run petra verify-signature $T --registries.d regd-http --gpg-keyring alice.gpg "docker://$REG/ns/app:1"
	[ "$status" -eq 0 ]
	grep -q "GET /ns/app@sha256=${digest#sha256:}/signature-1 " "$HTTP_LOG"
	grep -q "GET /ns/app@sha256=${digest#sha256:}/signature-2 .* 404" "$HTTP_LOG"

	# A lookaside that cannot be reached does not fail the pull: a warning.
	mkdir regd-dead
	printf 'default-docker:\n  lookaside: http://127.0.0.1:1\n' >regd-dead/default.yaml
	run env PETRA_ROOT="$BATS_TEST_TMPDIR/store-dead" "$PETRA" pull $T --registries.d regd-dead "$REG/ns/app:1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"GPG signatures not pulled: lookaside: http://127.0.0.1:1/ns/app@sha256="* ]]
	# pull keeps them in the store: verified with the registry and the
	# lookaside gone.
	petra pull -q $T --registries.d regd-http "$REG/ns/app:1" >/dev/null
	kill "$HTTP_PID"
	wait "$HTTP_PID" 2>/dev/null || true
	unset HTTP_PID
	registry_teardown || true
	run petra verify-signature --gpg-keyring alice.gpg "$REG/ns/app:1"
	[ "$status" -eq 0 ]
	[ "$output" = "Verified $digest: $REG/ns/app:1 signed by gpg:$FPR" ]
	petra policy check --signature-policy policy-alice.json "$REG/ns/app:1" >/dev/null
	run petra policy check --signature-policy policy-bob.json "$REG/ns/app:1"
	[ "$status" -eq 1 ]
	# Copied to another name in the store, they go along.
	petra copy -q "$REG/ns/app:1" local/app:1 >/dev/null
	run petra verify-signature --gpg-keyring alice.gpg --reference "$REG/ns/app:1" local/app:1
	[ "$status" -eq 0 ]
}

@test "petra's GPG signatures in the lookaside (push --sign-by-gpg, and sign --sign-by-gpg in the store then push) are accepted by skopeo under signedBy and refused with another key" {
	import_busybox app:1
	run petra push $T --registries.d regd --sign-by-gpg "$FPR" app:1 "$REG/ns/app:1"
	[ "$status" -eq 0 ]
	local digest=${lines[-1]}
	[[ "$digest" == sha256:* ]]
	[ -f "$LOOK/ns/app@sha256=${digest#sha256:}/signature-1" ]
	skopeo --policy policy-alice.json --registries.d regd copy -q --src-tls-verify=false \
		"docker://$REG/ns/app:1" "dir:$BATS_TEST_TMPDIR/out1"
	run skopeo --policy policy-bob.json --registries.d regd copy -q --src-tls-verify=false \
		"docker://$REG/ns/app:1" "dir:$BATS_TEST_TMPDIR/out2"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Source image rejected"* ]]
	# Outside the configured namespace there is no staging lookaside.
	run petra push $T --registries.d regd --sign-by-gpg "$FPR" app:1 "$REG/elsewhere/app:1"
	[ "$status" -eq 1 ]
	[[ "$output" == *"no lookaside-staging"* ]]

	# A GPG signature made in the store, carried by push.
	petra tag app:1 "$REG/ns/web:2"
	run petra policy check --signature-policy policy-alice.json "$REG/ns/web:2"
	[ "$status" -eq 1 ]
	run petra sign --sign-by-gpg "$FPR" "$REG/ns/web:2"
	[ "$status" -eq 0 ]
	[[ "$output" == *"$REG/ns/web:2 with GPG key $FPR"*".gpgsig (1 signature)"* ]]
	petra verify-signature --gpg-keyring alice.gpg "$REG/ns/web:2" >/dev/null
	# The gate's cached refusal does not outlive the new signature.
	petra policy check --signature-policy policy-alice.json "$REG/ns/web:2" >/dev/null
	run petra verify-signature --gpg-keyring bob.gpg "$REG/ns/web:2"
	[ "$status" -eq 1 ]
	run petra push $T --registries.d regd "$REG/ns/web:2"
	[ "$status" -eq 0 ]
	[[ "$output" == *"wrote 1 GPG signature to the lookaside"* ]]
	skopeo --policy policy-alice.json --registries.d regd copy -q --src-tls-verify=false \
		"docker://$REG/ns/web:2" "dir:$BATS_TEST_TMPDIR/out3"
	run skopeo --policy policy-bob.json --registries.d regd copy -q --src-tls-verify=false \
		"docker://$REG/ns/web:2" "dir:$BATS_TEST_TMPDIR/out4"
	[ "$status" -ne 0 ]
	# Pushed again: the same signature is not written twice.
	petra push -q $T --registries.d regd "$REG/ns/web:2" >/dev/null
	[ ! -e "$LOOK/ns/web@sha256=${digest#sha256:}/signature-2" ]
	# copy to dir: writes it as a signature-N file skopeo's dir: reads.
	petra copy -q "$REG/ns/web:2" "dir:$BATS_TEST_TMPDIR/d" >/dev/null
	petra verify-signature --gpg-keyring alice.gpg --reference "$REG/ns/web:2" "dir:$BATS_TEST_TMPDIR/d" >/dev/null
	run skopeo standalone-verify "$BATS_TEST_TMPDIR/d/manifest.json" "$REG/ns/web:2" "$FPR" "$BATS_TEST_TMPDIR/d/signature-1"
	[ "$status" -eq 0 ]

	# A scope may not use both spellings.
	mkdir bad
	printf 'docker:\n  %s:\n    lookaside: file:///a\n    sigstore: file:///b\n' "$REG" >bad/x.yaml
	run petra verify-signature $T --registries.d bad --gpg-keyring alice.gpg "docker://$REG/ns/app:1"
	[ "$status" -eq 1 ]
	[[ "$output" == *"lookaside and sigstore (its older name) both set"* ]]
}
