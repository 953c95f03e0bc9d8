#!/usr/bin/env bats
# petra flow: Habitus build.yml flows.

load build-helpers
bats_require_minimum_version 1.5.0

EXAMPLE="$BATS_TEST_DIRNAME/../../examples/flow"

setup_file() {
	build_setup_file
	# The example's base, as examples/demo.sh makes it.
	sh "$BATS_TEST_DIRNAME/../../examples/busybox/make-rootfs.sh" "$BATS_FILE_TMPDIR/busybox"
	petra import -q "$BATS_FILE_TMPDIR/busybox" --ref busybox:1.35 >/dev/null
}

setup() {
	build_setup
	FLOW="$BATS_TEST_TMPDIR/flow"
	mkdir -p "$FLOW"
}

# A layer blob of an image contains these bytes.
image_blobs_contain() {
	local d
	for d in $(petra inspect --manifest "$1" | jq -r '.layers[].digest'); do
		gzip -dc "$PETRA_ROOT/blobs/sha256/${d#sha256:}" | grep -qaF -- "$2" && return 0
	done
	return 1
}

@test "the example: build in a full image, artifact out, runtime image from scratch" {
	cp -a "$EXAMPLE/." "$FLOW/"
	local token="flow-token-$RANDOM$RANDOM"
	echo "$token" >"$FLOW/token.txt"
	run petra flow "$FLOW/build.yml"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"builder hello-builder:latest sha256:"* ]]
	[[ "$output" == *"runtime hello:latest sha256:"* ]]
	[[ "$output" == *"[builder] artifact /out/rootfs -> $FLOW/artifacts"* ]]
	# The artifact, taken out of the image.
	[ "$(cat "$FLOW/artifacts/rootfs/app/VERSION")" = 1.0 ]
	# The runtime image: one layer, only what runs, not root.
	[ "$(petra inspect --manifest hello | jq '.layers | length')" = 1 ]
	unpack_image hello "$BATS_TEST_TMPDIR/fs"
	[ "$(cd "$BATS_TEST_TMPDIR/fs" && find . -type f | sort | tr '\n' ' ')" = \
		"./app/VERSION ./app/hello.sh ./bin/busybox " ]
	[ "$(image_config hello | jq -r .User)" = 65534 ]
	run petra run --rm hello
	[ "$output" = "hello from 1.0 on Linux" ]
	# Cleanup ran and squashed: the builder is its base and one layer,
	# and none of its layers holds the sources it removed.
	[ "$(petra inspect --manifest hello-builder | jq '.layers | length')" = 2 ]
	! image_blobs_contain hello-builder "Assemble the runtime tree"
	# The secret is nowhere in the store.
	! grep -rqaF "$token" "$PETRA_ROOT"
	# Again: everything from the cache.
	run petra flow "$FLOW/build.yml"
	[ "$status" -eq 0 ]
	[[ "$output" != *"done in"* ]]
}

@test "independent steps run in parallel, bounded by --jobs" {
	mkdir -p "$FLOW/a" "$FLOW/b"
	local step
	for step in a b; do
		local other=b
		[ $step = b ] && other=a
		cat >"$FLOW/$step/Dockerfile" <<EOF
FROM bb:1
RUN --mount=type=cache,target=/meet,id=flow-meet,sharing=shared \\
    touch /meet/$step; i=0; while [ ! -e /meet/$other ] && [ \$i -lt 200 ]; do sleep 0.1; i=\$((i+1)); done; \\
    test -e /meet/$other && echo $step > /$step
EOF
	done
	cat >"$FLOW/build.yml" <<'EOF'
build:
  version: 2016-03-14
  steps:
    a:
      name: par-a
      context: a
      no_cache: true
    b:
      name: par-b
      context: b
      no_cache: true
EOF
	run petra flow --jobs 2 "$FLOW/build.yml"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"a par-a:latest"* && "$output" == *"b par-b:latest"* ]]
}

@test "args (with _env), target, depends_on by name, a command in the built image" {
	cat >"$FLOW/Dockerfile" <<'EOF'
FROM bb:1 AS base
ARG GREETING
RUN echo "$GREETING" > /greeting
FROM base AS extra
RUN echo never-built > /extra
EOF
	cat >"$FLOW/Dockerfile.next" <<'EOF'
FROM greeter
RUN cat /greeting > /copied
EOF
	cat >"$FLOW/build.yml" <<'EOF'
build:
  version: 2016-03-14
  steps:
    first:
      name: greeter
      target: base
      args:
        GREETING: hello _env(FLOW_WHO)
      command: cat /greeting
    second:
      name: follower
      dockerfile: Dockerfile.next
      depends_on:
        - greeter
EOF
	FLOW_WHO=world run petra flow "$FLOW/build.yml"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"hello world"* ]]
	[[ "$output" != *"never-built"* ]]
	# The dependency made the second step wait for the first.
	[[ "$output" == *"first greeter:latest"*"second follower:latest"* ]]
	unpack_image follower "$BATS_TEST_TMPDIR/fs"
	[ "$(cat "$BATS_TEST_TMPDIR/fs/copied")" = "hello world" ]
	# A failing command fails the flow.
	sed -i 's|command: cat /greeting|command: exit 4|' "$FLOW/build.yml"
	run petra flow "$FLOW/build.yml"
	[ "$status" -eq 1 ]
	[[ "$output" == *"petra: step first: command exited with status 4"* ]]
}

@test "secrets are scoped to the steps that declare them" {
	echo "scoped-secret-$RANDOM" >"$FLOW/secret.txt"
	local step
	for step in with without; do
		printf 'FROM bb:1\nRUN --mount=type=secret,id=key,required=true wc -c < /run/secrets/key > /%s\n' \
			"$step" >"$FLOW/Dockerfile.$step"
	done
	cat >"$FLOW/build.yml" <<'EOF'
build:
  version: 2016-03-14
  steps:
    with:
      name: with-secret
      dockerfile: Dockerfile.with
      secrets:
        key:
          type: file
          value: secret.txt
    without:
      name: without-secret
      dockerfile: Dockerfile.without
      depends_on: [with-secret]
EOF
	run petra flow "$FLOW/build.yml"
	[ "$status" -eq 1 ]
	[[ "$output" == *"with with-secret:latest"* ]]
	[[ "$output" == *"petra: step without: "*'secret "key" is required but was not given'* ]]
	! grep -rqaF "$(cat "$FLOW/secret.txt")" "$PETRA_ROOT"
}

@test "a cycle, an unknown dependency, a wrong version or key are errors naming the steps" {
	flow_file() {
		printf 'build:\n  version: %s\n  steps:\n%s\n' "$1" "$2" >"$FLOW/build.yml"
	}
	flow_file 2016-03-14 '    a:
      depends_on: [c]
    b:
      depends_on: [a]
    c:
      depends_on: [b]'
	run petra flow --check "$FLOW/build.yml"
	[ "$status" -eq 1 ]
	[[ "$output" == *"a cycle of steps: a -> c -> b -> a"* ]]
	flow_file 2016-03-14 '    a:
      depends_on: [nope]'
	run petra flow "$FLOW/build.yml"
	[ "$status" -eq 1 ]
	[[ "$output" == *'step "a" depends on "nope", which is no step of'* ]]
	flow_file 2020-01-01 '    a:
      name: x'
	run petra flow "$FLOW/build.yml"
	[ "$status" -eq 1 ]
	[[ "$output" == *"build.version is not 2016-03-14"* ]]
	flow_file 2016-03-14 '    a:
      dockerfiel: typo'
	run petra flow "$FLOW/build.yml"
	[ "$status" -eq 1 ]
	[[ "$output" == *'step "a": unknown key "dockerfiel"'* ]]
	# A value of the wrong type is an error naming the field, line and
	# column, not the default Dockerfile used in silence.
	flow_file 2016-03-14 '    a:
      dockerfile: {x: y}'
	run petra flow --check "$FLOW/build.yml"
	[ "$status" -eq 1 ]
	[[ "$output" == *'build.yml:5:7: step "a".dockerfile: a string is expected, not a mapping'* ]]
	flow_file 2016-03-14 '    a:
      context: [a, b]'
	run petra flow --check "$FLOW/build.yml"
	[ "$status" -eq 1 ]
	[[ "$output" == *'build.yml:5:7: step "a".context: a string is expected, not a sequence'* ]]
	# The default file is ./build.yml.
	flow_file 2016-03-14 '    a:
      name: x'
	cd "$FLOW"
	run petra flow --check
	[ "$status" -eq 0 ]
	[ "$output" = "build.yml: ok" ]
}
