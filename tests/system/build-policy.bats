#!/usr/bin/env bats
# petra build with the base policy (docs/POLICY.md): bans, the catalog,
# rewrites before FROM is resolved, the build section; petra flow too.

load build-helpers
bats_require_minimum_version 1.5.0

setup_file() {
	build_setup_file
	# Two releases of the base.
	echo 2 >"$BATS_FILE_TMPDIR/bb-rootfs/etc/release"
	petra import -q "$BATS_FILE_TMPDIR/bb-rootfs" --ref bb:2 >/dev/null
}

setup() {
	build_setup
	POLICY="$BATS_TEST_TMPDIR/policy.yaml"
	dockerfile 'FROM bb:1
RUN echo built > /built'
}

@test "a banned base stops the build with the policy's reason; the store is as it was" {
	cat >"$POLICY" <<'EOF'
bases:
  ban:
    - image: bb:1
      reason: CVE-2099-0001 in its shell, fixed in bb:2
EOF
	cp "$PETRA_ROOT/index.json" "$BATS_TEST_TMPDIR/index.before"
	run petra build --policy "$POLICY" -t banned:1 "$CTX"
	[ "$status" -eq 1 ]
	[[ "$output" == *"base bb:1 is banned by $POLICY:3 (bb:1): CVE-2099-0001 in its shell, fixed in bb:2"* ]]
	cmp "$PETRA_ROOT/index.json" "$BATS_TEST_TMPDIR/index.before"
	# A ban by digest catches the tag that resolves to it.
	local digest
	digest=$(petra images --format json | jq -r '.[] | select(.name=="bb" and .tag=="1") | .digest')
	printf 'bases:\n  ban:\n    - digest: %s\n      reason: built by a compromised pipeline\n' "$digest" >"$POLICY"
	run petra build --policy "$POLICY" -t banned:2 "$CTX"
	[ "$status" -eq 1 ]
	[[ "$output" == *"is banned by"*"built by a compromised pipeline"* ]]
	# COPY --from an image is a base too.
	dockerfile 'FROM scratch
COPY --from=bb:1 /etc/passwd /passwd'
	run petra build --policy "$POLICY" "$CTX"
	[ "$status" -eq 1 ]
	[[ "$output" == *"is banned by"* ]]
}

@test "a base not in the catalog is refused; one in it builds" {
	cat >"$POLICY" <<'EOF'
bases:
  allow:
    - approved/*
EOF
	run petra build --policy "$POLICY" "$CTX"
	[ "$status" -eq 1 ]
	[[ "$output" == *"base bb:1 is not in the catalog of approved bases in $POLICY"* ]]
	printf 'bases:\n  allow:\n    - bb:*\n' >"$POLICY"
	run petra build --policy "$POLICY" -t allowed:1 "$CTX"
	[ "$status" -eq 0 ]
	# Pinning required: a tag alone is refused.
	printf 'bases:\n  require-digest: true\n' >"$POLICY"
	run petra build --policy "$POLICY" "$CTX"
	[ "$status" -eq 1 ]
	[[ "$output" == *"is not pinned by digest"* ]]
}

@test "rewrite rules apply before FROM is resolved, with a line that says so" {
	cat >"$POLICY" <<'EOF'
bases:
  rewrite:
    - id: bb-fix
      match: bb:1
      to: bb:2
      reason: bb:1 has CVE-2099-0001
  ban:
    - image: bb:1
      reason: CVE-2099-0001
EOF
	run petra build --policy "$POLICY" -t rewritten:1 "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *'policy: base docker.io/library/bb:1 rewritten to docker.io/library/bb:2 (rule "bb-fix": bb:1 has CVE-2099-0001)'* ]]
	[ "$(petra inspect --manifest rewritten:1 | jq -r '.annotations["org.opencontainers.image.base.name"]')" = localhost/bb:2 ]
	unpack_image rewritten:1 "$BATS_TEST_TMPDIR/fs"
	[ "$(cat "$BATS_TEST_TMPDIR/fs/etc/release")" = 2 ]
}

@test "the policy in .petra/policy.yaml applies without --policy; its build section limits the build" {
	mkdir -p "$BATS_TEST_TMPDIR/project/.petra"
	cd "$BATS_TEST_TMPDIR/project"
	printf 'bases:\n  ban:\n    - image: bb:*\n      reason: not for production\n' >.petra/policy.yaml
	run petra build "$CTX"
	[ "$status" -eq 1 ]
	[[ "$output" == *"not for production"* ]]
	printf 'build:\n  network: none\n  require-reproducible: true\n' >.petra/policy.yaml
	run petra build --network host "$CTX"
	[ "$status" -eq 1 ]
	[[ "$output" == *"allows builds no network: --network host is refused"* ]]
	run petra build "$CTX"
	[ "$status" -eq 1 ]
	[[ "$output" == *"requires reproducible builds"* ]]
	run petra build --source-date-epoch 1700000000 "$CTX"
	[ "$status" -eq 0 ]
	printf 'build:\n  netwrok: none\n' >.petra/policy.yaml
	run petra build --source-date-epoch 1700000000 "$CTX"
	[ "$status" -eq 1 ]
	[[ "$output" == *'policy.yaml:2:3: build: unknown key "netwrok"'* ]]
}

@test "petra flow: every step's build follows the policy" {
	mkdir -p "$BATS_TEST_TMPDIR/flow"
	cp "$CTX/Dockerfile" "$BATS_TEST_TMPDIR/flow/Dockerfile"
	printf 'build:\n  version: 2016-03-14\n  steps:\n    one:\n      name: flow-one\n' \
		>"$BATS_TEST_TMPDIR/flow/build.yml"
	printf 'bases:\n  ban:\n    - image: bb:1\n      reason: banned for the flow\n' >"$POLICY"
	run petra flow --policy "$POLICY" "$BATS_TEST_TMPDIR/flow/build.yml"
	[ "$status" -eq 1 ]
	[[ "$output" == *"petra: step one: "*"banned for the flow"* ]]
}
