#!/usr/bin/env bats
# petra build and petra run pull what the store lacks from a loopback
# docker-registry (--pull, --tls-verify); the base policy judges a base by
# the digest the registry names before any of its layers is fetched.

load build-helpers
load registry-helpers

setup_file() {
	build_setup_file
}

setup() {
	build_setup
	start_registry_with
	# Each test has a store of its own: the base goes up from it to the
	# registry and is removed from it (rmi takes the blobs only it used).
	export PETRA_ROOT="$BATS_TEST_TMPDIR/store"
	petra import -q "$BATS_FILE_TMPDIR/bb-rootfs" --ref base:1 >/dev/null
	BASE_DIGEST=$(petra push -q --tls-verify=false base:1 "$REG/base:1")
	petra rmi base:1 >/dev/null
	dockerfile "FROM $REG/base:1
RUN echo built > /built"
}

teardown() {
	registry_teardown
}

# The layers' digests of $REG/base:1.
base_layers() {
	skopeo inspect --raw --tls-verify=false "docker://$REG/base:1" | jq -r '.layers[].digest'
}

@test "FROM a registry image the store lacks pulls it; the base annotation names its digest" {
	# Pushed, then removed: the store does not have it.
	[ -n "$BASE_DIGEST" ]
	run petra images --format json
	[[ "$output" != *"$REG/base"* ]]
	run petra build --tls-verify=false -t app:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"pulling $REG/base:1 ($BASE_DIGEST)"* ]]
	ann=$(petra inspect --manifest app:1 | jq -c .annotations)
	[ "$(echo "$ann" | jq -r '.["org.opencontainers.image.base.name"]')" = "$REG/base:1" ]
	[ "$(echo "$ann" | jq -r '.["org.opencontainers.image.base.digest"]')" = "$BASE_DIGEST" ]
	unpack_image app:1 "$BATS_TEST_TMPDIR/fs"
	[ "$(cat "$BATS_TEST_TMPDIR/fs/built")" = built ]
	# Now in the store: missing (the default) does not ask the registry again.
	local gets
	gets=$(grep -c "GET /v2/base/manifests/" "$REG_LOG")
	run petra build --tls-verify=false -t app:2 "$CTX"
	[ "$status" -eq 0 ]
	[ "$(grep -c "GET /v2/base/manifests/" "$REG_LOG")" -eq "$gets" ]
	# always does.
	run petra build --pull always --tls-verify=false -t app:3 "$CTX"
	[ "$status" -eq 0 ]
	[ "$(grep -c "GET /v2/base/manifests/" "$REG_LOG")" -gt "$gets" ]
}

@test "COPY --from a registry image pulls it too; a removed image is pulled again" {
	dockerfile "FROM scratch
COPY --from=$REG/base:1 /etc/passwd /passwd"
	run petra build --tls-verify=false -t copied:1 "$CTX"
	[ "$status" -eq 0 ]
	unpack_image copied:1 "$BATS_TEST_TMPDIR/fs"
	grep -q '^app:' "$BATS_TEST_TMPDIR/fs/passwd"
	petra rmi "$REG/base:1"
	run petra build --tls-verify=false -t copied:2 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"pulling $REG/base:1"* ]]
}

@test "--pull never fails clearly when the base is missing; a bad --pull is a usage error" {
	run petra build --pull never --tls-verify=false "$CTX"
	[ "$status" -eq 1 ]
	[[ "$output" == *"image \"$REG/base:1\" is not in the store"* ]]
	[ "$(grep -c "GET /v2/base/" "$REG_LOG")" -eq 0 ]
	run petra build --pull sometimes "$CTX"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--pull wants missing, always or never"* ]]
	# Missing from the registry too: both said.
	dockerfile "FROM $REG/nothing:here"
	run petra build --tls-verify=false "$CTX"
	[ "$status" -eq 1 ]
	[[ "$output" == *"image \"$REG/nothing:here\" is not in the store, and pulling it failed"* ]]
}

@test "a policy banning the base's digest refuses before any layer is fetched" {
	printf 'bases:\n  ban:\n    - digest: %s\n      reason: compromised pipeline\n' \
		"$BASE_DIGEST" >"$BATS_TEST_TMPDIR/policy.yaml"
	run petra build --policy "$BATS_TEST_TMPDIR/policy.yaml" --tls-verify=false "$CTX"
	[ "$status" -eq 1 ]
	[[ "$output" == *"is banned by"*"compromised pipeline"* ]]
	# The manifest was read; no layer was asked for nor stored.
	grep -q "GET /v2/base/manifests/" "$REG_LOG"
	local layer
	for layer in $(base_layers); do
		! grep -q "GET /v2/base/blobs/$layer" "$REG_LOG"
		[ ! -e "$PETRA_ROOT/blobs/sha256/${layer#sha256:}" ]
	done
	run petra images --format json
	[[ "$output" != *"$REG/base"* ]]
}

@test "petra run of an image only in the registry pulls it, then the gate and the run" {
	PETRA_ROOT="$BATS_FILE_TMPDIR/store" petra push -q --tls-verify=false bb:1 "$REG/app:1"
	run petra run --tls-verify=false "$REG/app:1" echo hi
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = hi ]
	run petra images --format json
	[[ "$output" == *"$REG/app"* ]]
	# --pull never on a fresh store: not found, as before.
	run env PETRA_ROOT="$BATS_TEST_TMPDIR/other" "$PETRA" run --pull never "$REG/app:1" echo hi
	[ "$status" -eq 125 ]
	[[ "$output" == *"not found"* ]]
	# The gate judges what was pulled: a ban by its digest refuses it.
	local digest
	digest=$(skopeo inspect --tls-verify=false "docker://$REG/app:1" | jq -r .Digest)
	printf 'bases:\n  ban:\n    - digest: %s\n      reason: compromised pipeline\n' \
		"$digest" >"$BATS_TEST_TMPDIR/policy.yaml"
	run env PETRA_ROOT="$BATS_TEST_TMPDIR/third" "$PETRA" run --policy "$BATS_TEST_TMPDIR/policy.yaml" \
		--tls-verify=false "$REG/app:1" echo hi
	[ "$status" -eq 125 ]
	[[ "$output" == *"refused by the policy"*"image banned ($digest"*"compromised pipeline"* ]]
	[[ "$output" != *hi ]]
}
