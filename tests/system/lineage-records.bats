#!/usr/bin/env bats
# Build records (in-toto statements with a SLSA provenance v1 predicate)
# stored as referrers of the images they describe: what a build, harden and
# run --learn --save record; the record kept by gc with its image and
# checked by fsck; carried by export/import oci:, push and pull; the base
# annotations as buildah writes them.

load build-helpers
load registry-helpers
bats_require_minimum_version 1.5.0

teardown() {
	registry_teardown
	assert_build_clean
}

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
	# Another image to mount: bb:1 with one more layer.
	printf 'FROM bb:1\nRUN echo mounted >/etc/motd\n' >"$BATS_TEST_TMPDIR/Dockerfile.mnt"
	petra build -q -t mnt:1 -f "$BATS_TEST_TMPDIR/Dockerfile.mnt" "$CTX" >/dev/null
	echo hello >"$CTX/hello"
	dockerfile 'ARG FLAVOUR
FROM bb:1 AS builder
RUN echo built >/built
FROM bb:1
COPY --from=builder /built /built
COPY --from=tools:1 /bin/busybox /opt/busybox
RUN --mount=type=bind,from=mnt:1,target=/m cp /m/etc/motd /motd
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
	[ "$(material "$rec" mount-from name)" = mnt:1 ]
	[ "sha256:$(material "$rec" mount-from digest)" = "$(digest_of mnt:1)" ]
	[ "$(echo "$rec" | jq '.predicate.buildDefinition.resolvedDependencies | length')" = 4 ]
	local ext='.predicate.buildDefinition.externalParameters'
	[ "$(echo "$rec" | jq -r "$ext.dockerfile.path")" = "$(realpath "$CTX")/Dockerfile" ]
	[ "$(echo "$rec" | jq -r "$ext.dockerfile.digest.sha256")" = "$(sha256sum "$CTX/Dockerfile" | cut -d' ' -f1)" ]
	[ "$(echo "$rec" | jq -c "$ext.buildArgs")" = '{"FLAVOUR":"mint"}' ]
	[ "$(echo "$rec" | jq -c "$ext.parameters.tags")" = '["app:1"]' ]
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

@test "an unnamed stage's FROM is recorded by its index; a final stage FROM scratch has no base" {
	dockerfile 'FROM bb:1
RUN echo a >/a
FROM scratch
COPY --from=0 /a /a'
	petra build -q -t unnamed:1 "$CTX" >/dev/null
	local rec
	rec=$(record unnamed:1)
	[ "sha256:$(material "$rec" 'stage 0' digest)" = "$(digest_of bb:1)" ]
	[ "$(echo "$rec" | jq -c '[.predicate.buildDefinition.resolvedDependencies[].annotations.role]')" = '["stage 0"]' ]
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

@test "the record survives export and import through an OCI layout and archive" {
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
	# The same through an OCI archive.
	petra export exp:1 "oci-archive:$BATS_TEST_TMPDIR/exp.tar:v1"
	tar -xOf "$BATS_TEST_TMPDIR/exp.tar" index.json | jq -e --arg r "$ref" '[.manifests[].digest] | index($r) != null'
	# (no tag: the record is not another image to choose from)
	PETRA_ROOT="$BATS_TEST_TMPDIR/third" petra import -q "oci-archive:$BATS_TEST_TMPDIR/exp.tar" --ref arc:1 >/dev/null
	[ "$(PETRA_ROOT="$BATS_TEST_TMPDIR/third" petra inspect --record arc:1)" = "$rec" ]
	PETRA_ROOT="$BATS_TEST_TMPDIR/third" petra fsck
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
	printf 'build:\n  version: 2016-03-14\n  steps:\n    one:\n      name: flow-one:1\n      cleanup:\n        commands:\n          - rm /flow\n' \
		>"$BATS_TEST_TMPDIR/flow/build.yml"
	petra flow "$BATS_TEST_TMPDIR/flow/build.yml" >/dev/null 2>&1
	local rec ext='.predicate.buildDefinition.externalParameters'
	rec=$(record flow-one:1)
	[ "$(echo "$rec" | jq -r "$ext.producer")" = flow ]
	[ "$(echo "$rec" | jq -r "$ext.parameters.flowStep")" = one ]
	[ "$(echo "$rec" | jq -c "$ext.parameters.extraRun")" = '["rm /flow"]' ]
	[ "$(echo "$rec" | jq -r "$ext.parameters.squash")" = true ]
	[ "$(echo "$rec" | jq -r "$ext.parameters.flowFile")" = "$BATS_TEST_TMPDIR/flow/build.yml" ]
	[ "$(material "$rec" base name)" = bb:1 ]
}

@test "push carries the record to a registry, pull and copy bring it back" {
	start_registry_with
	dockerfile 'FROM bb:1
RUN echo pushed >/pushed'
	petra build -q -t pushme:1 "$CTX" >/dev/null
	local rec digest
	rec=$(record pushme:1)
	digest=$(digest_of pushme:1)
	run petra push --tls-verify=false pushme:1 "$REG/pushme:1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"pushed 1 referrer"* ]]
	# docker-registry 2.8 has no referrers API: the sha256-<hex> tag's index.
	local tagged ref
	tagged=$(curl -fsS -H 'Accept: application/vnd.oci.image.index.v1+json' \
		"http://$REG/v2/pushme/manifests/sha256-${digest#sha256:}")
	[ "$(echo "$tagged" | jq -r '.manifests | length')" = 1 ]
	[ "$(echo "$tagged" | jq -r '.manifests[0].artifactType')" = application/vnd.in-toto+json ]
	ref=$(echo "$tagged" | jq -r '.manifests[0].digest')
	curl -fsS -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		"http://$REG/v2/pushme/manifests/$ref" | jq -e --arg d "$digest" '.subject.digest == $d'
	# Pushed again: the index is updated, not duplicated or replaced.
	petra push -q --tls-verify=false pushme:1 "$REG/pushme:1" >/dev/null
	[ "$(curl -fsS -H 'Accept: application/vnd.oci.image.index.v1+json' \
		"http://$REG/v2/pushme/manifests/sha256-${digest#sha256:}" | jq -r '.manifests | length')" = 1 ]
	# Pulled into a fresh store: the same record.
	local fresh="$BATS_TEST_TMPDIR/fresh"
	PETRA_ROOT=$fresh petra pull -q --tls-verify=false "$REG/pushme:1" >/dev/null
	[ "$(PETRA_ROOT=$fresh petra inspect --record "$REG/pushme:1")" = "$rec" ]
	PETRA_ROOT=$fresh petra fsck
	# copy: store -> registry, registry -> store, registry -> registry.
	petra copy -q --tls-verify=false pushme:1 "docker://$REG/copied:1" >/dev/null
	curl -fsS -H 'Accept: application/vnd.oci.image.index.v1+json' \
		"http://$REG/v2/copied/manifests/sha256-${digest#sha256:}" | jq -e --arg r "$ref" '.manifests[0].digest == $r'
	PETRA_ROOT="$BATS_TEST_TMPDIR/c2" petra copy -q --tls-verify=false "docker://$REG/copied:1" back:1 >/dev/null
	[ "$(PETRA_ROOT="$BATS_TEST_TMPDIR/c2" petra inspect --record back:1)" = "$rec" ]
	PETRA_ROOT="$BATS_TEST_TMPDIR/c3" petra copy -q --tls-verify=false "docker://$REG/copied:1" "docker://$REG/again:1" >/dev/null
	curl -fsS -H 'Accept: application/vnd.oci.image.index.v1+json' \
		"http://$REG/v2/again/manifests/sha256-${digest#sha256:}" | jq -e --arg r "$ref" '.manifests[0].digest == $r'
}

# base_annotations TOOL IMAGE: "NAME DIGEST" of the image's base annotations
# (TOOL petra or buildah; "<none>" for one that is absent).
base_annotations() {
	local m
	if [ "$1" = buildah ]; then
		m=$(buildah_isolated inspect --type image "$2" | jq -c '.ImageAnnotations // {}')
	else
		m=$(petra inspect --manifest "$2" | jq -c '.annotations // {}')
	fi
	echo "$m" | jq -r '"\(.["org.opencontainers.image.base.name"] // "<none>") \(.["org.opencontainers.image.base.digest"] // "<none>")"'
}

@test "the base annotations are the ones buildah writes for the same Dockerfile" {
	# The same base in both: petra's bb:1 through an OCI layout into
	# buildah's storage, named bb:1 there too (localhost/bb:1).
	local bb
	bb=$(digest_of bb:1)
	petra export bb:1 "oci:$BATS_TEST_TMPDIR/base:1"
	# (relative: buildah names the image after the path, in lower case only)
	(cd "$BATS_TEST_TMPDIR" && buildah_isolated pull -q oci:base:1 >/dev/null)
	buildah_isolated tag "$(buildah_isolated images -q | head -1)" bb:1
	[ "$(buildah_isolated inspect --type image bb:1 | jq -r .FromImageDigest)" = "$bb" ]
	local name df want got
	declare -A cases=(
		[run]='FROM bb:1\nRUN echo hi >/hi\n'
		[copy]='FROM bb:1\nCOPY Dockerfile /df\n'
		[digest]="FROM bb@$bb\nRUN echo hi >/hi\n"
		[scratch]='FROM bb:1 AS b\nRUN echo hi >/hi\nFROM scratch\nCOPY --from=b /hi /hi\n'
	)
	for name in "${!cases[@]}"; do
		df="$BATS_TEST_TMPDIR/$name"
		mkdir -p "$df"
		printf "${cases[$name]}" >"$df/Dockerfile"
		buildah_isolated bud -q --isolation chroot -t "cmp-$name:1" "$df" >/dev/null
		petra build -q -t "cmp-$name:1" "$df" >/dev/null
		want=$(base_annotations buildah "cmp-$name:1")
		got=$(base_annotations petra "cmp-$name:1")
		echo "$name: buildah '$want', petra '$got'"
		[ "$got" = "$want" ]
	done
	[ "$(base_annotations petra cmp-run:1)" = "localhost/bb:1 $bb" ]
	[ "$(base_annotations petra cmp-scratch:1)" = " " ]
	# A final stage FROM another stage: buildah 1.28 names the bottom
	# image but gives the digest of its intermediate stage image (removed
	# after the build); petra gives the bottom image's digest.
	df="$BATS_TEST_TMPDIR/stage"
	mkdir -p "$df"
	printf 'FROM bb:1 AS b\nRUN echo hi >/hi\nFROM b\nRUN echo x >/x\n' >"$df/Dockerfile"
	buildah_isolated bud -q --isolation chroot -t cmp-stage:1 "$df" >/dev/null
	petra build -q -t cmp-stage:1 "$df" >/dev/null
	want=$(base_annotations buildah cmp-stage:1)
	[ "${want% *}" = localhost/bb:1 ]
	[ "${want#* }" != "$bb" ]
	[ "$(base_annotations petra cmp-stage:1)" = "localhost/bb:1 $bb" ]
}
