#!/usr/bin/env bats
# Keys, signatures and offline verification (src/trust/): petra's keys
# against an independent implementation of cosign's format, signatures in
# the store and each way they must be refused, and containers/image's
# cosign fixtures with the answers its tests expect.

load helpers

FIXTURES=/usr/share/gocode/src/github.com/containers/image/signature/fixtures
ORACLE="$BATS_TEST_DIRNAME/../data/trust/cosign-oracle.py"
FIXTURE_REF=192.168.64.2:5000/cosign-signed-single-sample

setup() {
	petra_setup_store
	export PETRA_PASSWORD=correct-horse
	cd "$BATS_TEST_TMPDIR"
}

# The signature manifest's name for image NAME (repository:tag).
sig_tag() {
	local repo=${1%:*} digest
	digest=$(jq -r --arg n "$1" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $n) | .digest' "$PETRA_ROOT/index.json")
	echo "$repo:sha256-${digest#sha256:}.sig"
}

@test "keygen writes a cosign key pair that an independent implementation decrypts" {
	run petra keygen -o k
	[ "$status" -eq 0 ]
	[ "$(head -1 k.key)" = "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----" ]
	[ "$(head -1 k.pub)" = "-----BEGIN PUBLIC KEY-----" ]
	[ "$(stat -c %a k.key)" = 600 ]
	# The PEM body is go-securesystemslib's JSON: scrypt (standard strength) + secretbox.
	sed '1d;$d' k.key | base64 -d | jq -e '.kdf.name == "scrypt" and .kdf.params.N == 65536
		and .kdf.params.r == 8 and .kdf.params.p == 1 and .cipher.name == "nacl/secretbox"'
	# python3-nacl + python3-cryptography open it and derive the same public key.
	"$ORACLE" public k.key | diff - k.pub
	# The wrong password does not.
	! PETRA_PASSWORD=wrong "$ORACLE" public k.key
	# An existing pair is not overwritten without --force.
	run petra keygen -o k
	[ "$status" -eq 1 ]
	[[ "$output" == *"k.key exists"* ]]
	petra keygen -o k --force
	# No password and no terminal: a clear error, no key.
	run env -u PETRA_PASSWORD setsid "$PETRA" keygen -o nopw </dev/null
	[ "$status" -eq 1 ]
	[[ "$output" == *"PETRA_PASSWORD"* ]]
	[ ! -e nopw.key ]
}

@test "a key made by the independent implementation signs in petra, and petra's signatures verify there" {
	import_busybox app.example/web:1
	"$ORACLE" generate py
	petra sign --key py.key app.example/web:1
	run petra verify-signature --key py.pub app.example/web:1
	[ "$status" -eq 0 ]
	[[ "$output" == *"app.example/web:1 signed by py.pub"* ]]
	# The payload blob and its annotation, as stored, verify with the oracle.
	local sig manifest layer
	sig=$(sig_tag app.example/web:1)
	manifest=$(jq -r --arg n "$sig" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $n) | .digest' "$PETRA_ROOT/index.json")
	layer=$(jq -c '.layers[0]' "$PETRA_ROOT/blobs/sha256/${manifest#sha256:}")
	[ "$(jq -r .mediaType <<<"$layer")" = application/vnd.dev.cosign.simplesigning.v1+json ]
	local payload="$PETRA_ROOT/blobs/sha256/$(jq -r .digest <<<"$layer" | cut -d: -f2)"
	jq -e '.critical.type == "cosign container image signature"
		and .critical.identity["docker-reference"] == "app.example/web:1"' "$payload"
	"$ORACLE" verify py.pub "$payload" "$(jq -r '.annotations["dev.cosignproject.cosign/signature"]' <<<"$layer")"
	# cosign's own test key (password "hello") signs too.
	PETRA_PASSWORD=hello petra sign --key "$TESTS_DATA/trust/cosign-sigstore.key" app.example/web:1
	PETRA_PASSWORD=hello "$ORACLE" public "$TESTS_DATA/trust/cosign-sigstore.key" >cosign.pub
	petra verify-signature --key cosign.pub app.example/web:1
}

@test "verify-signature accepts petra's signatures and refuses each tampering with its reason" {
	import_busybox app.example/web:1
	petra import -q "$BATS_TEST_TMPDIR/busybox-rootfs" --ref app.example/web:other --compress zstd >/dev/null
	petra keygen -o k1 >/dev/null
	petra keygen -o k2 >/dev/null
	run petra verify-signature --key k1.pub app.example/web:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"app.example/web:1: no signature"* ]]

	petra sign --key k1.key -a build=42 app.example/web:1
	run petra verify-signature --key k1.pub --format json app.example/web:1
	[ "$status" -eq 0 ]
	jq -e '.verified and (.payloads | length) == 1 and .payloads[0].optional.build == "42"' <<<"$output"

	# A second key.
	run petra verify-signature --key k2.pub app.example/web:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"app.example/web:1: wrong key"* ]]
	# Either key is enough.
	petra verify-signature --key k2.pub --key k1.pub app.example/web:1

	# A changed tag: same image, another name.
	petra tag app.example/web:1 app.example/web:2
	run petra verify-signature --key k1.pub app.example/web:2
	[ "$status" -eq 1 ]
	[[ "$output" == *"app.example/web:2: identity mismatch"* ]]
	# ... accepted when the repository is all that must match.
	petra verify-signature --key k1.pub --match repository app.example/web:2

	# The signature moved to another image: digest mismatch.
	local sig other
	sig=$(sig_tag app.example/web:1)
	other=$(sig_tag app.example/web:other)
	petra tag "$sig" "$other"
	run petra verify-signature --key k1.pub --format json app.example/web:other
	[ "$status" -eq 1 ]
	[[ "$output" == *"app.example/web:other: digest mismatch"* ]]
	! petra verify-signature --key k1.pub --format json app.example/web:other 2>/dev/null >out.json
	jq -e '.verified == false and .failure == "digest mismatch"' out.json

	# Signatures accumulate, and the store stays sound.
	petra sign --key k2.key app.example/web:1
	run petra verify-signature --key k2.pub --key k1.pub --format json app.example/web:1
	jq -e '(.payloads | length) == 2' <<<"$output"
	petra fsck

	# The removed signature.
	petra rmi "$sig"
	run petra verify-signature --key k1.pub app.example/web:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"no signature"* ]]

	# A tampered manifest (one byte) in the store.
	petra sign --key k1.key app.example/web:1
	local digest
	digest=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "app.example/web:1") | .digest' "$PETRA_ROOT/index.json")
	local blob="$PETRA_ROOT/blobs/sha256/${digest#sha256:}"
	chmod u+w "$blob" 2>/dev/null || true
	sed -i '0,/schemaVersion/s//schemaVersioN/' "$blob"
	run petra verify-signature --key k1.pub app.example/web:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"app.example/web:1: manifest"* ]]
}

@test "sign and verify-signature: usage errors" {
	run petra sign app:1
	[ "$status" -eq 2 ]
	[[ "$output" == *"needs --key"* ]]
	run petra verify-signature dir:/nonexistent
	[ "$status" -eq 2 ]
	run petra verify-signature --key "$FIXTURES/cosign.pub" --match sideways dir:x
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown identity rule"* ]]
	petra verify-signature --help | grep -q "dir:PATH"
	petra --help | grep -q "verify-signature"
	run petra verify-signature --key "$FIXTURES/cosign.pub" missing:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"not found"* ]]
}

# containers/image's answers: signature/policy_eval_sigstore_test.go.
@test "containers/image cosign fixtures: accepted where it accepts, refused for its reason" {
	[ -r "$FIXTURES/cosign.pub" ] # golang-github-containers-image-dev
	local v="petra verify-signature --key $FIXTURES/cosign.pub"
	run $v --match repository --reference $FIXTURE_REF --format json "dir:$FIXTURES/dir-img-cosign-valid"
	[ "$status" -eq 0 ]
	jq -e '.verified and .payloads[0]["docker-manifest-digest"] ==
		"sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00"' <<<"$output"
	run $v --match repository --reference $FIXTURE_REF --format json "dir:$FIXTURES/dir-img-cosign-valid-2"
	[ "$status" -eq 0 ]
	jq -e '(.payloads | length) == 2' <<<"$output"
	# one invalid, one valid signature
	$v --match repository --reference $FIXTURE_REF "dir:$FIXTURES/dir-img-cosign-mixed"

	run $v --match repository --reference $FIXTURE_REF "dir:$FIXTURES/dir-img-cosign-modified-manifest"
	[ "$status" -eq 1 ]
	[[ "$output" == *": digest mismatch"* ]]
	run $v --match repository --reference $FIXTURE_REF "dir:$FIXTURES/dir-img-cosign-manifest-digest-error"
	[ "$status" -eq 1 ]
	[[ "$output" == *"digest cannot be computed"* ]]
	run $v --match repository --reference $FIXTURE_REF "dir:$FIXTURES/dir-img-cosign-no-manifest"
	[ "$status" -eq 1 ]
	[[ "$output" == *"manifest.json"* ]]
	run $v --match repository --reference testing/manifest:latest "dir:$FIXTURES/dir-img-cosign-other-attachment"
	[ "$status" -eq 1 ]
	[[ "$output" == *": no signature"* ]]
	run $v --match repository --reference testing/manifest:notlatest "dir:$FIXTURES/dir-img-cosign-valid"
	[ "$status" -eq 1 ]
	[[ "$output" == *": identity mismatch"* ]]
	run $v --match repository --reference this/doesnt:match "dir:$FIXTURES/dir-img-cosign-valid-2"
	[ "$status" -eq 1 ]
	[[ "$output" == *": identity mismatch"* ]]
	# match-exact: the tag skopeo signed, not another, and not cosign's tagless identity
	$v --match exact --reference 192.168.64.2:5000/skopeo-signed:tag "dir:$FIXTURES/dir-img-cosign-valid-with-tag"
	run $v --match exact --reference 192.168.64.2:5000/skopeo-signed:othertag "dir:$FIXTURES/dir-img-cosign-valid-with-tag"
	[ "$status" -eq 1 ]
	run $v --match exact --reference $FIXTURE_REF "dir:$FIXTURES/dir-img-cosign-valid"
	[ "$status" -eq 1 ]
	# the default rule (match-repo-digest-or-exact) refuses cosign's tagless identity too
	run $v --reference $FIXTURE_REF:latest "dir:$FIXTURES/dir-img-cosign-valid"
	[ "$status" -eq 1 ]
	# no signatures / only GPG signatures
	run $v --match repository --reference testing/manifest:latest "dir:$FIXTURES/dir-img-unsigned"
	[ "$status" -eq 1 ]
	[[ "$output" == *": no signature"* ]]
	run $v --match repository --reference testing/manifest:latest "dir:$FIXTURES/dir-img-valid"
	[ "$status" -eq 1 ]
	[[ "$output" == *"not a cosign signature (GPG)"* ]]
	# dir: without a reference: nothing to match the identity against
	run $v --match repository "dir:$FIXTURES/dir-img-cosign-valid"
	[ "$status" -eq 1 ]
	[[ "$output" == *"no reference"* ]]
	# another key
	petra keygen -o other >/dev/null
	run petra verify-signature --key other.pub --match repository --reference $FIXTURE_REF "dir:$FIXTURES/dir-img-cosign-valid"
	[ "$status" -eq 1 ]
	[[ "$output" == *": wrong key"* ]]
}
