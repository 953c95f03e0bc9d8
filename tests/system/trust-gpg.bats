#!/usr/bin/env bats
# GPG simple signing: containers/image's GPG fixtures, and interop both
# ways with skopeo (standalone-sign / standalone-verify, and `skopeo copy`
# under a policy.json with signedBy), offline.

load helpers

FIXTURES=/usr/share/gocode/src/github.com/containers/image/signature/fixtures

setup() {
	petra_setup_store
	cd "$BATS_TEST_TMPDIR"
	export GNUPGHOME="$BATS_TEST_TMPDIR/gnupg"
	mkdir -m 700 "$GNUPGHOME"
}

teardown() {
	# The agent gpg started for this home only (found by its socket there).
	gpgconf --kill all 2>/dev/null || true
}

# A new ed25519 signing key in $GNUPGHOME; prints its fingerprint.
new_gpg_key() {
	gpg --batch --passphrase '' --quick-gen-key "$1 <$1@example.org>" ed25519 sign never 2>/dev/null
	gpg --list-keys --with-colons "$1@example.org" | awk -F: '/^fpr/ { print $10; exit }'
}

# dir:DIR holding a complete image (skopeo's dir: transport).
make_dir_image() {
	import_busybox app:1
	petra export app:1 "oci:$BATS_TEST_TMPDIR/layout" >/dev/null
	skopeo copy -q "oci:$BATS_TEST_TMPDIR/layout:1" "dir:$1"
}

@test "containers/image GPG fixtures: petra gives its answers" {
	local v="petra verify-signature --gpg-keyring $FIXTURES/public-key.gpg"
	# TestPRSignedByIsRunningImageAllowed (matchExact)
	$v --match exact --reference testing/manifest:latest "dir:$FIXTURES/dir-img-valid"
	run $v --match exact --reference testing/manifest:latest "dir:$FIXTURES/dir-img-unsigned"
	[ "$status" -eq 1 ]
	[[ "$output" == *": no signature"* ]]
	run $v --match exact --reference testing/manifest:notlatest "dir:$FIXTURES/dir-img-valid"
	[ "$status" -eq 1 ]
	[[ "$output" == *": identity mismatch"* ]]
	run $v --match exact --reference testing/manifest:latest --format json "dir:$FIXTURES/dir-img-valid-2"
	[ "$status" -eq 0 ]
	[[ "$output" == *'"key": "gpg:1D8230F6CDB6A06716E414C1DB72F2188BB46CC8"'* ]]
	$v --match exact --reference testing/manifest:latest "dir:$FIXTURES/dir-img-mixed"
	run $v --match exact --reference testing/manifest:notlatest "dir:$FIXTURES/dir-img-valid-2"
	[ "$status" -eq 1 ]
	run $v --match exact --reference testing/manifest:latest "dir:$FIXTURES/dir-img-modified-manifest"
	[ "$status" -eq 1 ]
	[[ "$output" == *": digest mismatch"* ]]
	run $v --match exact --reference testing/manifest:latest "dir:$FIXTURES/dir-img-manifest-digest-error"
	[ "$status" -eq 1 ]
	run $v --match exact --reference testing/manifest:latest "dir:$FIXTURES/dir-img-no-manifest"
	[ "$status" -eq 1 ]
	# Another key's keyring (pubring.gpg holds both test keys: accepted).
	run petra verify-signature --gpg-keyring "$FIXTURES/public-key-2.gpg" --match exact \
		--reference testing/manifest:latest "dir:$FIXTURES/dir-img-valid"
	[ "$status" -eq 1 ]
	[[ "$output" == *": wrong key"*"No public key"* ]]
	petra verify-signature --gpg-keyring "$FIXTURES/pubring.gpg" --match exact \
		--reference testing/manifest:latest "dir:$FIXTURES/dir-img-valid"

	# The standalone signatures of image.manifest.json (docker_test.go,
	# mechanism_test.go, simple_test.go).
	local s
	for s in image no-optional-fields expired corrupt unknown-key invalid-blob unsigned-literal \
		unsigned-encrypted invalid-reference; do
		mkdir "$s"
		cp "$FIXTURES/image.manifest.json" "$s/manifest.json"
		cp "$FIXTURES/$s.signature" "$s/signature-1"
	done
	$v --match repository --reference testing/manifest:latest dir:image
	$v --match repository --reference docker.io/testing/manifest:latest dir:no-optional-fields
	for s in expired corrupt unknown-key unsigned-literal unsigned-encrypted; do
		run $v --match repository --reference testing/manifest:latest "dir:$s"
		[ "$status" -eq 1 ]
		[[ "$output" == *": wrong key"* ]]
	done
	run $v --match repository --reference testing/manifest:latest dir:invalid-blob
	[ "$status" -eq 1 ]
	[[ "$output" == *": invalid payload"* ]]
	run $v --match repository --reference testing/manifest:latest dir:invalid-reference
	[ "$status" -eq 1 ]
	[[ "$output" == *": identity mismatch"* ]]
	run $v --match repository --reference example.com/does-not/match dir:image
	[ "$status" -eq 1 ]
	# No temporary GnuPG home is left behind.
	[ -z "$(find /tmp -maxdepth 1 -name 'petra-gpg-*' -newer "$BATS_TEST_TMPDIR/image" 2>/dev/null)" ]
}

@test "GPG interop with skopeo: petra's signatures pass skopeo, skopeo's pass petra; other keys are refused" {
	local fpr other
	fpr=$(new_gpg_key alice)
	other=$(new_gpg_key mallory)
	gpg --export "$fpr" >alice.gpg
	gpg --export "$other" >mallory.gpg
	make_dir_image "$BATS_TEST_TMPDIR/img"

	# petra signs; skopeo verifies (standalone and under a signedBy policy).
	petra sign --sign-by-gpg "$fpr" --identity registry.example/app:1 dir:img
	[ -f img/signature-1 ]
	skopeo standalone-verify img/manifest.json registry.example/app:1 "$fpr" img/signature-1
	! skopeo standalone-verify img/manifest.json registry.example/app:1 "$other" img/signature-1
	local key
	for key in alice mallory; do
		cat >"policy-$key.json" <<-EOF
			{"default": [{"type": "reject"}],
			 "transports": {"dir": {"": [{"type": "signedBy", "keyType": "GPGKeys",
			   "keyPath": "$BATS_TEST_TMPDIR/$key.gpg",
			   "signedIdentity": {"type": "exactReference", "dockerReference": "registry.example/app:1"}}]}}}
		EOF
	done
	skopeo --policy policy-alice.json copy -q dir:img dir:copy
	run skopeo --policy policy-mallory.json copy -q dir:img dir:copy2
	[ "$status" -ne 0 ]
	[[ "$output" == *"ignored"* || "$output" == *"rejected"* || "$output" == *"not accepted"* ]]

	# skopeo signs; petra verifies with alice's key, refuses with mallory's.
	rm img/signature-1
	skopeo standalone-sign img/manifest.json registry.example/app:1 "$fpr" -o img/signature-1
	run petra verify-signature --gpg-keyring alice.gpg --reference registry.example/app:1 --format json dir:img
	[ "$status" -eq 0 ]
	[[ "$output" == *"\"key\": \"gpg:$fpr\""* ]]
	run petra verify-signature --gpg-keyring mallory.gpg --reference registry.example/app:1 dir:img
	[ "$status" -eq 1 ]
	[[ "$output" == *"wrong key"* ]]
	# The identity is checked: skopeo signed :1, not :2.
	run petra verify-signature --gpg-keyring alice.gpg --reference registry.example/app:2 dir:img
	[ "$status" -eq 1 ]
	[[ "$output" == *"identity mismatch"* ]]
	# A cosign signature added to the same dir: both kinds checked together.
	PETRA_PASSWORD=pw petra keygen -o c >/dev/null
	PETRA_PASSWORD=pw petra sign --key c.key --identity registry.example/app:1 dir:img
	[ -f img/signature-2 ]
	run petra verify-signature --key c.pub --gpg-keyring alice.gpg --reference registry.example/app:1 --format json dir:img
	[ "$status" -eq 0 ]
	[[ "$output" == *'"type": "atomic container signature"'* ]]
	[[ "$output" == *'"type": "cosign container image signature"'* ]]
	# One byte of the manifest changed: both refuse.
	sed -i 's/"schemaVersion"/"schemaVersion" /' img/manifest.json
	run petra verify-signature --key c.pub --gpg-keyring alice.gpg --reference registry.example/app:1 dir:img
	[ "$status" -eq 1 ]
	[[ "$output" == *"digest mismatch"* ]]
	! skopeo standalone-verify img/manifest.json registry.example/app:1 "$fpr" img/signature-1
}

@test "sign --sign-by-gpg: usage" {
	# Store images are signed too (trust-registry-gpg.bats); a missing one
	# is an error, not a usage error.
	run petra sign --sign-by-gpg ABCD app:1
	[ "$status" -eq 1 ]
	[[ "$output" == *'"app:1" not found'* ]]
	run petra sign --sign-by-gpg ABCD --key x dir:y
	[ "$status" -eq 2 ]
	mkdir d
	echo '{"schemaVersion":2}' >d/manifest.json
	run petra sign --sign-by-gpg 0000000000000000000000000000000000000000 --identity a/b:1 dir:d
	[ "$status" -eq 1 ]
	[[ "$output" == *"GPG secret key"* ]]
	[ ! -e d/signature-1 ]
}

@test "containers-policy.json: petra and skopeo give the same answer on the same file" {
	local fpr other
	fpr=$(new_gpg_key alice)
	other=$(new_gpg_key mallory)
	gpg --export "$fpr" >alice.gpg
	gpg --export "$other" >mallory.gpg
	make_dir_image "$BATS_TEST_TMPDIR/img"
	petra sign --sign-by-gpg "$fpr" --identity registry.example/app:1 dir:img >/dev/null
	local img="$BATS_TEST_TMPDIR/img"
	local exact='"signedIdentity": {"type": "exactReference", "dockerReference": "registry.example/app:1"}'
	local -a policies=(
		'[{"type": "insecureAcceptAnything"}]'
		'[{"type": "reject"}]'
		'[{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "'"$BATS_TEST_TMPDIR"'/alice.gpg", '"$exact"'}]'
		'[{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "'"$BATS_TEST_TMPDIR"'/mallory.gpg", '"$exact"'}]'
		'[{"type": "signedBy", "keyType": "GPGKeys", "keyData": "'"$(base64 -w0 alice.gpg)"'", '"$exact"'}]'
		'[{"type": "signedBy", "keyType": "GPGKeys", "keyPaths": ["'"$BATS_TEST_TMPDIR"'/mallory.gpg", "'"$BATS_TEST_TMPDIR"'/alice.gpg"], '"$exact"'}]'
		'[{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "'"$BATS_TEST_TMPDIR"'/alice.gpg", "signedIdentity": {"type": "exactReference", "dockerReference": "registry.example/app:2"}}]'
		'[{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "'"$BATS_TEST_TMPDIR"'/alice.gpg", "signedIdentity": {"type": "exactRepository", "dockerRepository": "registry.example/app"}}]'
		'[{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "'"$BATS_TEST_TMPDIR"'/alice.gpg"}]'
		'[{"type": "insecureAcceptAnything"}, {"type": "signedBy", "keyType": "GPGKeys", "keyPath": "'"$BATS_TEST_TMPDIR"'/mallory.gpg", '"$exact"'}]'
	)
	local expected=(0 1 0 1 0 0 1 0 1 1)
	local i petra_rc skopeo_rc
	for i in "${!policies[@]}"; do
		# The list at the image's directory scope; a reject at its parent and by default.
		printf '{"default": [{"type": "reject"}], "transports": {"dir": {"%s": %s, "%s": [{"type": "reject"}]}}}\n' \
			"$img" "${policies[$i]}" "$BATS_TEST_TMPDIR" >"p$i.json"
		petra_rc=0
		petra verify-signature --signature-policy "p$i.json" "dir:$img" >/dev/null 2>&1 || petra_rc=1
		skopeo_rc=0
		skopeo --policy "p$i.json" copy -q "dir:$img" "dir:$BATS_TEST_TMPDIR/out$i" >/dev/null 2>&1 || skopeo_rc=1
		echo "policy $i: petra $petra_rc skopeo $skopeo_rc expected ${expected[$i]}"
		[ "$petra_rc" = "$skopeo_rc" ]
		[ "$petra_rc" = "${expected[$i]}" ]
	done
}
