#!/usr/bin/env bats
# Signatures in a registry (src/trust/registry.c): petra sign and
# verify-signature on docker:// references against Debian's docker-registry,
# cosign's .sig layout in the registry, each way a signature must be
# refused, and signatures carried by push, pull and copy.

load helpers
load registry-helpers

ORACLE="$BATS_TEST_DIRNAME/../data/trust/cosign-oracle.py"

setup() {
	petra_setup_store
	export PETRA_PASSWORD=correct-horse
	cd "$BATS_TEST_TMPDIR"
	start_registry_with
	T=--tls-verify=false
}

teardown() {
	registry_teardown || true
}

# The manifest digest a tag of the registry names.
reg_digest() {
	curl -sf -o /dev/null -D - -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		"http://$REG/v2/$1/manifests/$2" | tr -d '\r' |
		awk 'tolower($1) == "docker-content-digest:" {print $2}'
}

# The manifest a tag or digest names, as served.
reg_manifest() {
	curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		"http://$REG/v2/$1/manifests/$2"
}

# Put FILE as the manifest REPO:REF.
reg_put_manifest() {
	curl -sf -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
		--data-binary "@$3" "http://$REG/v2/$1/manifests/$2"
}

@test "a key made by petra signs an image in the registry; verify-signature accepts it and refuses a second key, a changed tag, a tampered manifest, a moved signature and a removed signature" {
	import_busybox app:1
	petra keygen -o k >/dev/null
	petra keygen -o other >/dev/null
	petra push -q $T app:1 "$REG/app:1" >/dev/null
	local digest
	digest=$(reg_digest app 1)
	[[ "$digest" == sha256:* ]]
	run petra sign $T --key k.key "docker://$REG/app:1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Signed $digest as $REG/app:1: $REG/app:sha256-${digest#sha256:}.sig (1 signature)"* ]]

	# cosign's layout in the registry: the .sig tag, one simple-signing
	# layer whose annotation holds the signature, its payload naming the
	# image.
	local sigtag=sha256-${digest#sha256:}.sig layer
	reg_manifest app "$sigtag" >sig.json
	jq -e '.layers | length == 1' sig.json
	jq -e '.layers[0].mediaType == "application/vnd.dev.cosign.simplesigning.v1+json"' sig.json
	jq -e '.layers[0].annotations["dev.cosignproject.cosign/signature"] | length > 0' sig.json
	layer=$(jq -r '.layers[0].digest' sig.json)
	curl -sf "http://$REG/v2/app/blobs/$layer" >payload
	jq -e --arg d "$digest" --arg r "$REG/app:1" \
		'.critical.image["docker-manifest-digest"] == $d and .critical.identity["docker-reference"] == $r
		 and .critical.type == "cosign container image signature"' payload
	# An independent implementation verifies the payload and the
	# annotation as stored (Debian's skopeo 1.9.3 refuses sigstoreSigned
	# policies: "Debian-local change: sigstore disabled").
	"$ORACLE" verify k.pub payload "$(jq -r '.layers[0].annotations["dev.cosignproject.cosign/signature"]' sig.json)"
	run "$ORACLE" verify other.pub payload "$(jq -r '.layers[0].annotations["dev.cosignproject.cosign/signature"]' sig.json)"
	[ "$status" -ne 0 ]

	run petra verify-signature $T --key k.pub "docker://$REG/app:1"
	[ "$status" -eq 0 ]
	[ "$output" = "Verified $digest: $REG/app:1 signed by k.pub" ]
	# Without pulling a layer: only manifests and the signature's blob.
	: >"$REG_LOG.mark"
	local before
	before=$(wc -l <"$REG_LOG")
	petra verify-signature $T --key k.pub "docker://$REG/app:1" >/dev/null
	tail -n +"$((before + 1))" "$REG_LOG" | grep '"GET /v2/app/blobs/' >gets || true
	[ "$(wc -l <gets)" -eq 1 ]
	grep -q "$layer" gets
	run petra verify-signature $T --key k.pub --format json "docker://$REG/app:1"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e --arg d "$digest" '.verified and .["manifest-digest"] == $d and (.payloads | length) == 1'

	# A second key: wrong key.
	run petra verify-signature $T --key other.pub "docker://$REG/app:1"
	[ "$status" -eq 1 ]
	[[ "$output" == *"docker://$REG/app:1: wrong key"* ]]

	# The same image under another tag: the signature names app:1.
	petra push -q $T app:1 "$REG/app:2" >/dev/null
	[ "$(reg_digest app 2)" = "$digest" ]
	run petra verify-signature $T --key k.pub "docker://$REG/app:2"
	[ "$status" -eq 1 ]
	[[ "$output" == *"docker://$REG/app:2: identity mismatch"* ]]
	# ... which the repository rule accepts.
	petra verify-signature $T --key k.pub --match match-repository "docker://$REG/app:2" >/dev/null

	# A tampered manifest (one byte more) put under the tag: no signature
	# names what the tag names now.
	reg_manifest app 1 >m.json
	printf '\n' >>m.json
	reg_put_manifest app 1 m.json
	local tampered
	tampered=$(reg_digest app 1)
	[ "$tampered" != "$digest" ]
	[ "$(sha256sum <m.json | cut -d' ' -f1)" = "${tampered#sha256:}" ]
	run petra verify-signature $T --key k.pub "docker://$REG/app:1"
	[ "$status" -eq 1 ]
	[[ "$output" == *"docker://$REG/app:1: no signature"* ]]

	# The signature moved to the tampered image: it names another digest.
	reg_put_manifest app "sha256-${tampered#sha256:}.sig" sig.json
	run petra verify-signature $T --key k.pub "docker://$REG/app:1"
	[ "$status" -eq 1 ]
	[[ "$output" == *"docker://$REG/app:1: digest mismatch"* ]]
	[[ "$output" == *"$digest"* ]]

	# By digest, the original is still signed ...
	petra verify-signature $T --key k.pub --reference "$REG/app:1" "docker://$REG/app@$digest" >/dev/null
	# ... until its signature is removed.
	local sigdigest
	sigdigest=$(reg_digest app "$sigtag")
	curl -sf -X DELETE "http://$REG/v2/app/manifests/$sigdigest"
	run petra verify-signature $T --key k.pub --reference "$REG/app:1" "docker://$REG/app@$digest"
	[ "$status" -eq 1 ]
	[[ "$output" == *"no signature"* ]]
}

@test "signatures on a registry image accumulate; the same key and payload again adds nothing; --signature-policy decides on registry images" {
	import_busybox app:1
	petra keygen -o a >/dev/null
	petra keygen -o b >/dev/null
	petra push -q $T app:1 "$REG/team/app:1" >/dev/null
	local digest
	digest=$(reg_digest team/app 1)
	petra sign $T --key a.key "docker://$REG/team/app:1" >/dev/null
	run petra sign $T --key b.key -a build=42 "docker://$REG/team/app:1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"(2 signatures)"* ]]
	run petra sign $T --key a.key "docker://$REG/team/app:1"
	[[ "$output" == *"(2 signatures)"* ]]
	[ "$(reg_manifest team/app "sha256-${digest#sha256:}.sig" | jq '.layers | length')" -eq 2 ]
	run petra verify-signature $T --key a.pub --key b.pub --format json "docker://$REG/team/app:1"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '(.payloads | length) == 2'
	echo "$output" | jq -e '[.payloads[].optional.build] | index("42") != null'

	# A containers policy.json: sigstoreSigned with b's key for the
	# repository, reject by default.
	cat >policy.json <<EOF
{"default": [{"type": "reject"}],
 "transports": {"docker": {"$REG/team": [{"type": "sigstoreSigned", "keyPath": "$PWD/b.pub"}]}}}
EOF
	run petra verify-signature $T --signature-policy policy.json "docker://$REG/team/app:1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Accepted $digest"* ]]
	petra push -q $T app:1 "$REG/other/app:1" >/dev/null
	run petra verify-signature $T --signature-policy policy.json "docker://$REG/other/app:1"
	[ "$status" -eq 1 ]
	[[ "$output" == *"refused by policy.json (default)"* ]]
	# A registry it cannot reach is an error, not a verdict.
	run petra verify-signature $T --key a.pub "docker://127.0.0.1:1/app:1"
	[ "$status" -ne 0 ]
	[[ "$output" == *"127.0.0.1:1"* ]]
}

@test "push --sign-by signs the pushed digest as DEST; pull brings the signature along and the gate runs the pulled image without the registry" {
	import_busybox app:1
	make_busybox_rootfs other-rootfs
	echo other >other-rootfs/marker
	petra import -q other-rootfs --ref app:2 >/dev/null
	petra keygen -o k >/dev/null
	# A wrong password stops the push before anything is sent.
	run env PETRA_PASSWORD=wrong "$PETRA" push -q $T --sign-by k.key app:1 "$REG/prod/app:1"
	[ "$status" -eq 1 ]
	[ -z "$(reg_digest prod/app 1)" ]
	run petra push -q $T --sign-by k.key app:1 "$REG/prod/app:1"
	[ "$status" -eq 0 ]
	local digest=$output
	[ "$(reg_digest prod/app 1)" = "$digest" ]
	run petra verify-signature $T --key k.pub "docker://$REG/prod/app:1"
	[ "$status" -eq 0 ]
	[ "$output" = "Verified $digest: $REG/prod/app:1 signed by k.pub" ]
	petra push -q $T app:2 "$REG/prod/app:2" >/dev/null

	# Another store pulls both; the signature comes along.
	export PETRA_ROOT="$BATS_TEST_TMPDIR/store2" PETRA_RUN_DIR="$BATS_TEST_TMPDIR/run"
	petra pull -q $T "$REG/prod/app:1" >/dev/null
	petra pull -q $T "$REG/prod/app:2" >/dev/null
	# No network from here on.
	registry_teardown || true
	run petra verify-signature --key k.pub "$REG/prod/app:1"
	[ "$status" -eq 0 ]
	[ "$output" = "Verified $digest: $REG/prod/app:1 signed by k.pub" ]
	cat >policy.yaml <<YAML
trust:
  scopes:
    $REG/prod/**:
      require: signed-by
      keys: [k.pub]
YAML
	run petra run --policy policy.yaml "$REG/prod/app:1" echo hi
	[ "$status" -eq 0 ]
	[ "$output" = hi ]
	run petra run --policy policy.yaml "$REG/prod/app:2" echo hi
	[ "$status" -eq 125 ]
	[[ "$output" == *"not met: no signature"* ]]
	[[ "$output" != *hi* ]]
	local id
	for id in $(petra ps -a -q 2>/dev/null); do petra rm -f "$id" >/dev/null 2>&1 || true; done
}

@test "a store image's signatures and attestations go along with push, copy between registries, copy to another store name, and copy through dir:" {
	import_busybox "$REG/a/app:1"
	petra keygen -o k >/dev/null
	petra keygen -o k2 >/dev/null
	petra sign --key k.key "$REG/a/app:1" >/dev/null
	echo '{"builder": {"id": "petra-test"}}' >pred.json
	petra attest --key k.key --predicate pred.json --type https://slsa.dev/provenance/v0.2 "$REG/a/app:1" >/dev/null
	run petra push $T "$REG/a/app:1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"pushed 2 signature and attestation layers"* ]]
	local digest hex
	digest=$(reg_digest a/app 1)
	hex=${digest#sha256:}
	[ "$(reg_manifest a/app "sha256-$hex.att" | jq -r '.layers[0].mediaType')" = application/vnd.dsse.envelope.v1+json ]
	petra verify-signature $T --key k.pub "docker://$REG/a/app:1" >/dev/null
	# A second signature made in the registry; pushing again adds nothing twice.
	petra sign $T --key k2.key "docker://$REG/a/app:1" >/dev/null
	petra push -q $T "$REG/a/app:1" >/dev/null
	[ "$(reg_manifest a/app "sha256-$hex.sig" | jq '.layers | length')" -eq 2 ]

	# Registry to registry: both signatures and the attestation.
	petra copy -q $T "docker://$REG/a/app:1" "docker://$REG/b/app:1" >/dev/null
	[ "$(reg_manifest b/app "sha256-$hex.sig" | jq '.layers | length')" -eq 2 ]
	[ "$(reg_manifest b/app "sha256-$hex.att" | jq '.layers | length')" -eq 1 ]
	run petra verify-signature $T --key k2.pub --reference "$REG/a/app:1" "docker://$REG/b/app:1"
	[ "$status" -eq 0 ]

	# Registry to another store, under another name.
	export PETRA_ROOT="$BATS_TEST_TMPDIR/store2"
	petra copy -q $T "docker://$REG/b/app:1" local/app:1 >/dev/null
	run petra verify-signature --key k.pub --key k2.pub --reference "$REG/a/app:1" --format json local/app:1
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '(.payloads | length) == 2'
	petra verify-attestation --key k.pub local/app:1 >/dev/null

	# Through dir: and back into a registry.
	petra copy -q local/app:1 "dir:$BATS_TEST_TMPDIR/d" >/dev/null
	[ -f "$BATS_TEST_TMPDIR/d/signature-2" ]
	[ ! -e "$BATS_TEST_TMPDIR/d/signature-3" ]
	petra verify-signature --key k2.pub --reference "$REG/a/app:1" "dir:$BATS_TEST_TMPDIR/d" >/dev/null
	export PETRA_ROOT="$BATS_TEST_TMPDIR/store3"
	petra copy -q $T "dir:$BATS_TEST_TMPDIR/d" "docker://$REG/c/app:1" >/dev/null
	[ "$(reg_digest c/app 1)" = "$digest" ]
	run petra verify-signature $T --key k.pub --reference "$REG/a/app:1" "docker://$REG/c/app:1"
	[ "$status" -eq 0 ]
	# skopeo sees the same layout cosign writes: the .sig tag is listed.
	skopeo list-tags --tls-verify=false "docker://$REG/c/app" | jq -e --arg t "sha256-$hex.sig" '.Tags | index($t) != null'
}

@test "sign and verify-signature take the registry options: TLS with --cert-dir, Basic auth with --creds" {
	registry_teardown || true
	make_certs "$BATS_TEST_TMPDIR/certs"
	htpasswd -Bbn alice pw-4lice >htpasswd
	start_registry_with tls htpasswd "$PWD/htpasswd"
	mkdir certs.d
	cp certs/ca.crt certs.d/
	export XDG_RUNTIME_DIR="$BATS_TEST_TMPDIR/run"
	local R=(--cert-dir "$PWD/certs.d")
	import_busybox app:1
	petra keygen -o k >/dev/null
	run petra push -q "${R[@]}" --creds alice:pw-4lice --sign-by k.key app:1 "$REG/app:1"
	[ "$status" -eq 0 ]
	local digest=$output
	# Without credentials the registry says no; with them it verifies.
	run petra verify-signature "${R[@]}" --key k.pub "docker://$REG/app:1"
	[ "$status" -eq 1 ]
	[[ "$output" == *"401"* ]]
	run petra verify-signature "${R[@]}" --creds alice:pw-4lice --key k.pub "docker://$REG/app:1"
	[ "$status" -eq 0 ]
	[ "$output" = "Verified $digest: $REG/app:1 signed by k.pub" ]
	# Without the CA, TLS refuses before anything is read.
	run petra verify-signature --creds alice:pw-4lice --key k.pub "docker://$REG/app:1"
	[ "$status" -eq 1 ]
	[[ "$output" == *"certificate"* ]]
	petra sign "${R[@]}" --creds alice:pw-4lice --key k.key -a env=prod "docker://$REG/app:1" >/dev/null
	run petra verify-signature "${R[@]}" --creds alice:pw-4lice --key k.pub --format json "docker://$REG/app:1"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '(.payloads | length) == 2'
}
