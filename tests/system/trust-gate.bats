#!/usr/bin/env bats
# The gate (trust_gate_check) through `petra policy check`: bans of the
# image and of its recorded base, trust scopes (reject, signed-by), and a
# cache that never lets a changed policy, key or signature keep an old
# decision.

load helpers

setup() {
	petra_setup_store
	export PETRA_PASSWORD=pw
	cd "$BATS_TEST_TMPDIR"
	mkdir pol
	petra keygen -o pol/prod >/dev/null
	petra keygen -o pol/other >/dev/null
	import_busybox reg.example/prod/app:1
	petra import -q "$BATS_TEST_TMPDIR/busybox-rootfs" --ref reg.example/dev/app:1 >/dev/null
	petra import -q "$BATS_TEST_TMPDIR/busybox-rootfs" --ref reg.example/prod/legacy/x:1 --compress zstd >/dev/null
	cat >pol/policy.yaml <<'YAML'
# the site's policy
trust:
  default: {require: accept}
  scopes:
    reg.example/prod/**:
      require: signed-by
      keys: [prod.pub]
    reg.example/prod/legacy/**: {require: reject}
YAML
}

@test "signed-by scopes refuse unsigned and wrongly signed images, accept signed ones; the most specific scope wins" {
	run petra policy check --policy pol/policy.yaml reg.example/prod/app:1 reg.example/dev/app:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"reg.example/prod/app:1: refused"* ]]
	[[ "$output" == *'scope "reg.example/prod/**" not met: no signature'* ]]
	[[ "$output" == *"reg.example/dev/app:1: allowed"* ]]
	petra sign --key pol/other.key reg.example/prod/app:1 >/dev/null
	run petra policy check --policy pol/policy.yaml reg.example/prod/app:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"not met: wrong key"* ]]
	petra sign --key pol/prod.key reg.example/prod/app:1 >/dev/null
	petra policy check --policy pol/policy.yaml reg.example/prod/app:1
	# the legacy scope is more specific than prod/**
	run petra policy check --policy pol/policy.yaml --format json reg.example/prod/legacy/x:1
	[ "$status" -eq 1 ]
	jq -e '.[0].allowed == false and (.[0].reasons[0] | test("rejects every image"))' <<<"$output"
}

@test "the decision cache: a second check is cached; a changed policy, key or signature asks again" {
	petra sign --key pol/prod.key reg.example/prod/app:1 >/dev/null
	petra policy check --policy pol/policy.yaml --format json reg.example/prod/app:1 >first.json
	jq -e '.[0].allowed and (.[0].cached | not)' first.json
	petra policy check --policy pol/policy.yaml --format json reg.example/prod/app:1 >second.json
	jq -e '.[0].allowed and .[0].cached' second.json
	# The signature removed: not the cached "allowed".
	local digest
	digest=$(jq -r '.[0]["manifest-digest"]' first.json)
	petra rmi "reg.example/prod/app:sha256-${digest#sha256:}.sig" >/dev/null
	run petra policy check --policy pol/policy.yaml reg.example/prod/app:1
	[ "$status" -eq 1 ]
	petra sign --key pol/prod.key reg.example/prod/app:1 >/dev/null
	petra policy check --policy pol/policy.yaml reg.example/prod/app:1
	# The key file replaced by another key (same path): asks again, refuses.
	cp pol/other.pub pol/prod.pub
	run petra policy check --policy pol/policy.yaml reg.example/prod/app:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"wrong key"* ]]
	# A ban added to the policy file: the cached decision does not pass it.
	cp pol/policy.yaml pol/open.yaml
	printf 'trust: {}\n' >pol/open.yaml
	petra policy check --policy pol/open.yaml reg.example/prod/app:1
	printf 'trust: {}\nbases:\n  ban:\n    - digest: %s\n      reason: pulled by security\n' "$digest" >pol/open.yaml
	run petra policy check --policy pol/open.yaml reg.example/prod/app:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"image banned"*"pulled by security"* ]]
}

@test "an image built FROM a base that is then banned is refused with the base's reason" {
	mkdir ctx
	printf 'FROM reg.example/dev/app:1\nLABEL tier=web\n' >ctx/Dockerfile
	petra build -q -t web:1 ctx >/dev/null
	cat >pol/bases.yaml <<'YAML'
bases:
  ban:
    - image: reg.example/dev/app:1
      reason: CVE-2099-0002 in the base
YAML
	run petra policy check --policy pol/bases.yaml web:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"base reg.example/dev/app:1@sha256:"*"banned"*"CVE-2099-0002"* ]]
	# A catalog that does not list the base.
	printf 'bases:\n  allow: [debian:12]\n' >pol/catalog.yaml
	run petra policy check --policy pol/catalog.yaml web:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"is not in the catalog"* ]]
	# No policy: allowed.
	petra policy check web:1
}

@test "policy check: a bad trust section names its line; usage errors" {
	printf 'trust:\n  scopes:\n    app/**: {require: sometimes}\n' >pol/bad.yaml
	run petra policy check --policy pol/bad.yaml reg.example/dev/app:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"bad.yaml:3"*"unknown requirement \"sometimes\""* ]]
	printf 'trust:\n  scopes:\n    app/**: {require: signed-by}\n' >pol/bad.yaml
	run petra policy check --policy pol/bad.yaml reg.example/dev/app:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"signed-by needs keys"* ]]
	run petra policy
	[ "$status" -eq 2 ]
	run petra policy check
	[ "$status" -eq 2 ]
	run petra policy check --policy pol/policy.yaml missing:1
	[ "$status" -eq 1 ]
}

@test "the trust section's signature-policy: a containers-policy.json the gate also applies" {
	cat >pol/containers.json <<EOF2
{"default": [{"type": "insecureAcceptAnything"}],
 "transports": {"docker": {
   "reg.example/dev": [{"type": "sigstoreSigned", "keyPath": "prod.pub",
                        "signedIdentity": {"type": "matchRepository"}}],
   "reg.example/dev/app:1": [{"type": "reject"}]}}}
EOF2
	printf 'trust:\n  signature-policy: containers.json\n' >pol/sp.yaml
	petra import -q "$BATS_TEST_TMPDIR/busybox-rootfs" --ref reg.example/dev/other:1 --compress none >/dev/null
	run petra policy check --policy pol/sp.yaml reg.example/dev/other:1
	[ "$status" -eq 1 ]
	[[ "$output" == *'(transport "docker" scope "reg.example/dev") refuses it'* ]]
	[[ "$output" == *"sigstoreSigned requirement not met: no signature"* ]]
	petra sign --key pol/prod.key reg.example/dev/other:1 >/dev/null
	petra policy check --policy pol/sp.yaml reg.example/dev/other:1
	# the exact reference's scope wins over its namespace
	run petra policy check --policy pol/sp.yaml reg.example/dev/app:1
	[ "$status" -eq 1 ]
	[[ "$output" == *'rejected ("reject")'* ]]
	# other images: the policy's default
	petra policy check --policy pol/sp.yaml reg.example/prod/app:1
	# the same file through verify-signature
	petra verify-signature --signature-policy pol/containers.json reg.example/dev/other:1
	run petra verify-signature --signature-policy pol/containers.json reg.example/dev/app:1
	[ "$status" -eq 1 ]
}

@test "by digest, an image is judged under every name it has: a digest does not pick the laxest scope" {
	petra tag reg.example/dev/app:1 reg.example/prod/same:1
	local digest
	digest=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "reg.example/dev/app:1") | .digest' "$PETRA_ROOT/index.json")
	petra policy check --policy pol/policy.yaml reg.example/dev/app:1
	run petra policy check --policy pol/policy.yaml "$digest"
	[ "$status" -eq 1 ]
	# (setup's reg.example/prod/app:1 is the same image, too)
	[[ "$output" == *"as reg.example/prod/same:1: signature requirement"* ]]
	[[ "$output" == *"as reg.example/prod/app:1: signature requirement"* ]]
	[[ "$output" != *"as reg.example/dev/app:1"* ]]
	run petra policy check --policy pol/policy.yaml "${digest:7:12}"
	[ "$status" -eq 1 ]
	petra sign --key pol/prod.key reg.example/prod/same:1 >/dev/null
	run petra policy check --policy pol/policy.yaml "$digest"
	[ "$status" -eq 1 ]
	[[ "$output" != *"as reg.example/prod/same:1"* ]]
	petra sign --key pol/prod.key reg.example/prod/app:1 >/dev/null
	petra policy check --policy pol/policy.yaml "$digest"
}
