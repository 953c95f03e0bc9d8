#!/usr/bin/env bats
# Build records (in-toto statements with a SLSA provenance v1 predicate)
# stored as referrers of the images they describe: what a build, harden and
# run --learn --save record; the record kept by gc with its image and
# checked by fsck; carried by export/import oci:, push and pull; the base
# annotations as buildah writes them.

load build-helpers
bats_require_minimum_version 1.5.0

SLSA=https://slsa.dev/provenance/v1

# record IMAGE: the build record's statement.
record() {
	petra inspect --record "$1"
}

# material RECORD ROLE FIELD: a field of the material with that role.
material() {
	echo "$1" | jq -r --arg role "$2" --arg f "$3" \
		'.predicate.buildDefinition.resolvedDependencies[] | select(.annotations.role == $role) | .[$f] | if type == "object" then .sha256 else . end'
}

digest_of() {
	petra inspect "$1" | jq -r '.[0].digest'
}

@test "a multi-stage build's record lists every image it was made from, with digests" {
	petra tag bb:1 tools:1
	echo hello >"$CTX/hello"
	dockerfile 'ARG FLAVOUR
FROM bb:1 AS builder
RUN echo built >/built
FROM bb:1
COPY --from=builder /built /built
COPY --from=tools:1 /bin/busybox /opt/busybox
COPY hello /hello'
	git -C "$CTX" init -q
	git -C "$CTX" remote add origin https://example.com/app.git
	git -C "$CTX" add -A
	git -C "$CTX" -c user.name=t -c user.email=t@e commit -qm one
	petra build -q -t app:1 --build-arg FLAVOUR=mint "$CTX" >/dev/null
	local rec bb
	rec=$(record app:1)
	bb=$(digest_of bb:1)
	[ "$(echo "$rec" | jq -r ._type)" = https://in-toto.io/Statement/v1 ]
	[ "$(echo "$rec" | jq -r .predicateType)" = $SLSA ]
	[ "$(echo "$rec" | jq -r '.subject[0].name')" = app:1 ]
	[ "sha256:$(echo "$rec" | jq -r '.subject[0].digest.sha256')" = "$(digest_of app:1)" ]
	[ "sha256:$(material "$rec" base digest)" = "$bb" ]
	[ "$(material "$rec" base uri)" = "docker://bb:1" ]
	[ "sha256:$(material "$rec" 'stage builder' digest)" = "$bb" ]
	[ "$(material "$rec" copy-from name)" = tools:1 ]
	[ "sha256:$(material "$rec" copy-from digest)" = "$bb" ]
	[ "$(echo "$rec" | jq '.predicate.buildDefinition.resolvedDependencies | length')" = 3 ]
	local ext='.predicate.buildDefinition.externalParameters'
	[ "$(echo "$rec" | jq -r "$ext.dockerfile.path")" = "$(realpath "$CTX")/Dockerfile" ]
	[ "$(echo "$rec" | jq -r "$ext.dockerfile.digest.sha256")" = "$(sha256sum "$CTX/Dockerfile" | cut -d' ' -f1)" ]
	[ "$(echo "$rec" | jq -c "$ext.buildArgs")" = '{"FLAVOUR":"mint"}' ]
	[ "$(echo "$rec" | jq -r "$ext.context.directory")" = "$(realpath "$CTX")" ]
	[ "$(echo "$rec" | jq -r "$ext.context.git.remote")" = https://example.com/app.git ]
	[ "$(echo "$rec" | jq -r "$ext.context.git.revision")" = "$(git -C "$CTX" rev-parse HEAD)" ]
	[ "$(echo "$rec" | jq -r .predicate.buildDefinition.buildType)" = https://petra.dev/build/v1 ]
	echo "$rec" | jq -e '.predicate.runDetails.builder.id | startswith("https://petra.dev/petra@")'
	echo "$rec" | jq -e '.predicate.runDetails.metadata.startedOn and .predicate.runDetails.metadata.finishedOn'
	# The record is not in the image: the manifest has no subject, the
	# index no build record annotation any more.
	petra inspect --manifest app:1 | jq -e '.subject == null'
	! grep -q org.petra.build.record "$PETRA_ROOT/index.json"
}

@test "a build with a policy records the policy's digest and the rewritten base" {
	petra tag bb:1 bb:2
	cat >"$BATS_TEST_TMPDIR/policy.yaml" <<'YAML'
version: 1
bases:
  rewrite:
    - id: bump
      match: bb:1
      to: bb:2
      reason: patched
YAML
	dockerfile 'FROM bb:1
RUN echo x >/x'
	petra build -q --policy "$BATS_TEST_TMPDIR/policy.yaml" -t pol:1 "$CTX" >/dev/null
	local rec
	rec=$(record pol:1)
	[ "$(echo "$rec" | jq -r .predicate.buildDefinition.internalParameters.policy.digest.sha256)" = "$(sha256sum "$BATS_TEST_TMPDIR/policy.yaml" | cut -d' ' -f1)" ]
	[ "$(material "$rec" base name)" = bb:2 ]
}

@test "an image without a record says so" {
	run -1 petra inspect --record bb:1
	[[ "$output" == *"has no build record"* ]]
}

# referrer_entries IMAGE_DIGEST [INDEX]: the digests of the referrers
# index.json lists for that subject.
referrer_entries() {
	jq -r --arg s "$1" '.manifests[] | select(.annotations["org.petra.referrer.subject"] == $s) | .digest' "${2:-$PETRA_ROOT/index.json}"
}

@test "the record survives export and import through an OCI layout" {
	dockerfile 'FROM bb:1
RUN echo x >/x'
	petra build -q -t exp:1 "$CTX" >/dev/null
	local rec digest layout="$BATS_TEST_TMPDIR/layout"
	rec=$(record exp:1)
	digest=$(digest_of exp:1)
	petra export exp:1 "oci:$layout:v1"
	# The layout lists the referrer manifest in its index.json, with its
	# subject and artifact type; other tools still read the image.
	local ref
	ref=$(jq -r '.manifests[] | select(.artifactType == "application/vnd.in-toto+json") | .digest' "$layout/index.json")
	[ -n "$ref" ]
	jq -e --arg d "$digest" '.subject.digest == $d and .config.mediaType == "application/vnd.oci.empty.v1+json" and .layers[0].mediaType == "application/vnd.in-toto+json" and .annotations["in-toto.io/predicate-type"] == "https://slsa.dev/provenance/v1"' \
		"$layout/blobs/sha256/${ref#sha256:}"
	skopeo inspect "oci:$layout:v1" | jq -e --arg d "$digest" '.Digest == $d'
	# Into a fresh store: the same record comes back.
	PETRA_ROOT="$BATS_TEST_TMPDIR/other" petra import -q "oci:$layout:v1" --ref back:1 >/dev/null
	[ "$(PETRA_ROOT="$BATS_TEST_TMPDIR/other" petra inspect --record back:1)" = "$rec" ]
	PETRA_ROOT="$BATS_TEST_TMPDIR/other" petra fsck
}

@test "gc keeps a record while its image is kept and drops it with the image" {
	dockerfile 'FROM bb:1
RUN echo gc >/gc'
	petra build -q -t gc:1 "$CTX" >/dev/null
	local digest ref
	digest=$(digest_of gc:1)
	ref=$(referrer_entries "$digest")
	[ -n "$ref" ]
	# The record's blobs: manifest, statement (the empty config is shared).
	local statement
	statement=$(jq -r '.layers[0].digest' "$PETRA_ROOT/blobs/sha256/${ref#sha256:}")
	petra prune
	[ -f "$PETRA_ROOT/blobs/sha256/${ref#sha256:}" ]
	[ -f "$PETRA_ROOT/blobs/sha256/${statement#sha256:}" ]
	record gc:1 >/dev/null
	# Images do not list it.
	[ -z "$(petra images --format json | jq -r --arg r "$ref" '.[] | select(.digest == $r)')" ]
	petra rmi gc:1
	petra prune
	[ ! -e "$PETRA_ROOT/blobs/sha256/${ref#sha256:}" ]
	[ ! -e "$PETRA_ROOT/blobs/sha256/${statement#sha256:}" ]
	[ -z "$(referrer_entries "$digest")" ]
	petra fsck
}

@test "fsck catches a corrupted record blob" {
	dockerfile 'FROM bb:1
RUN echo fsck >/fsck'
	petra build -q -t fsck:1 "$CTX" >/dev/null
	petra fsck
	local ref statement path
	ref=$(referrer_entries "$(digest_of fsck:1)")
	statement=$(jq -r '.layers[0].digest' "$PETRA_ROOT/blobs/sha256/${ref#sha256:}")
	path="$PETRA_ROOT/blobs/sha256/${statement#sha256:}"
	chmod u+w "$path"
	sed -i 's/"build"/"BUILD"/' "$path"
	run -1 petra fsck
	[[ "$output" == *"$statement"*corrupt* ]]
	run -1 petra inspect --record fsck:1
	[[ "$output" == *corrupt* ]]
}

@test "harden records the image it hardened and its options" {
	dockerfile 'FROM bb:1
RUN mkdir -p /app/data && echo app >/app/run'
	petra build -q -t hd:1 "$CTX" >/dev/null
	petra harden hd:1 -t hd:hard --writable /app/data:1m --strip-shells >/dev/null
	local rec
	rec=$(record hd:hard)
	[ "$(echo "$rec" | jq -r .predicate.buildDefinition.externalParameters.producer)" = harden ]
	[ "$(material "$rec" harden name)" = hd:1 ]
	[ "sha256:$(material "$rec" harden digest)" = "$(digest_of hd:1)" ]
	[ "sha256:$(echo "$rec" | jq -r '.subject[0].digest.sha256')" = "$(digest_of hd:hard)" ]
	local p='.predicate.buildDefinition.externalParameters.parameters'
	[ "$(echo "$rec" | jq -r "$p.stripShells")" = true ]
	[ "$(echo "$rec" | jq -r "$p.writable[0].path")" = /app/data ]
	[ "$(echo "$rec" | jq -r "$p.squash")" = app ]
	# The input's own record is untouched.
	[ "$(material "$(record hd:1)" base name)" = bb:1 ]
}

@test "run --learn --save records the image it learned from" {
	run petra run --rm --learn --save bb:learned bb:1 sh -c 'mkdir -p /var/cache/x && echo a >/var/cache/x/f'
	[ "$status" -eq 0 ]
	local rec
	rec=$(record bb:learned)
	[ "$(echo "$rec" | jq -r .predicate.buildDefinition.externalParameters.producer)" = learn ]
	[ "$(material "$rec" learn name)" = bb:1 ]
	[ "sha256:$(material "$rec" learn digest)" = "$(digest_of bb:1)" ]
	echo "$rec" | jq -e '.predicate.buildDefinition.externalParameters.parameters.writablePaths | contains("/var/cache")'
}

@test "flow records each step's image as made by the flow" {
	mkdir -p "$BATS_TEST_TMPDIR/flow"
	printf 'FROM bb:1\nRUN echo flow >/flow\n' >"$BATS_TEST_TMPDIR/flow/Dockerfile"
	printf 'build:\n  version: 2016-03-14\n  steps:\n    one:\n      name: flow-one:1\n' \
		>"$BATS_TEST_TMPDIR/flow/build.yml"
	petra flow "$BATS_TEST_TMPDIR/flow/build.yml" >/dev/null 2>&1
	local rec ext='.predicate.buildDefinition.externalParameters'
	rec=$(record flow-one:1)
	[ "$(echo "$rec" | jq -r "$ext.producer")" = flow ]
	[ "$(echo "$rec" | jq -r "$ext.parameters.flowStep")" = one ]
	[ "$(echo "$rec" | jq -r "$ext.parameters.flowFile")" = "$BATS_TEST_TMPDIR/flow/build.yml" ]
	[ "$(material "$rec" base name)" = bb:1 ]
}
