#!/usr/bin/env bats
# petra attest / verify-attestation: in-toto statements in DSSE envelopes,
# cosign's .att layout, checked by an independent DSSE implementation.

load helpers

ORACLE="$BATS_TEST_DIRNAME/../data/trust/cosign-oracle.py"

setup() {
	petra_setup_store
	export PETRA_PASSWORD=pw
	cd "$BATS_TEST_TMPDIR"
	import_busybox app.example/web:1
	petra import -q "$BATS_TEST_TMPDIR/busybox-rootfs" --ref app.example/web:other --compress zstd >/dev/null
	petra keygen -o k >/dev/null
	petra keygen -o other >/dev/null
	echo '{"buildType": "petra", "base": {"name": "busybox", "digest": "sha256:00"}}' >pred.json
}

digest_of() {
	jq -r --arg n "$1" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $n) | .digest' "$PETRA_ROOT/index.json"
}

@test "attest stores a DSSE envelope cosign's way; an independent implementation verifies it" {
	petra attest --key k.key --predicate pred.json --type https://slsa.dev/provenance/v1 app.example/web:1
	local digest att manifest layer
	digest=$(digest_of app.example/web:1)
	att="app.example/web:sha256-${digest#sha256:}.att"
	manifest=$(digest_of "$att")
	[ -n "$manifest" ]
	layer=$(jq -c '.layers[0]' "$PETRA_ROOT/blobs/sha256/${manifest#sha256:}")
	[ "$(jq -r .mediaType <<<"$layer")" = application/vnd.dsse.envelope.v1+json ]
	[ "$(jq -r '.annotations.predicateType' <<<"$layer")" = https://slsa.dev/provenance/v1 ]
	local envelope="$PETRA_ROOT/blobs/sha256/$(jq -r .digest <<<"$layer" | cut -d: -f2)"
	jq -e '.payloadType == "application/vnd.in-toto+json"' "$envelope"
	"$ORACLE" dsse-verify k.pub "$envelope" >statement.json
	jq -e --arg d "${digest#sha256:}" '._type == "https://in-toto.io/Statement/v0.1"
		and .subject[0].name == "app.example/web" and .subject[0].digest.sha256 == $d
		and .predicate.base.name == "busybox"' statement.json
	! "$ORACLE" dsse-verify other.pub "$envelope"
	petra fsck
}

@test "verify-attestation accepts, and refuses another key, another type, a moved attestation, none" {
	run petra verify-attestation --key k.pub app.example/web:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"no attestation"* ]]
	petra attest --key k.key --predicate pred.json --type https://slsa.dev/provenance/v1 app.example/web:1
	run petra verify-attestation --key k.pub --type https://slsa.dev/provenance/v1 app.example/web:1
	[ "$status" -eq 0 ]
	jq -e '.[0].statement.predicate.buildType == "petra"' <<<"$output"
	run petra verify-attestation --key other.pub app.example/web:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"wrong key"* ]]
	run petra verify-attestation --key k.pub --type https://spdx.dev/Document app.example/web:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"not https://spdx.dev/Document"* ]]
	# Moved to another image: its subject is not that image.
	local d1 d2
	d1=$(digest_of app.example/web:1)
	d2=$(digest_of app.example/web:other)
	petra tag "app.example/web:sha256-${d1#sha256:}.att" "app.example/web:sha256-${d2#sha256:}.att"
	run petra verify-attestation --key k.pub app.example/web:other
	[ "$status" -eq 1 ]
	[[ "$output" == *"digest mismatch"* ]]
	# Predicate from standard input; bad JSON refused.
	echo '{"a": 1}' | petra attest --key k.key --predicate - --type t app.example/web:other
	run petra attest --key k.key --predicate <(echo '{nope') --type t app.example/web:1
	[ "$status" -eq 1 ]
	run petra attest --key k.key app.example/web:1
	[ "$status" -eq 2 ]
}
