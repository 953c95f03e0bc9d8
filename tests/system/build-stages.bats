#!/usr/bin/env bats
# petra build: multi-stage builds, --target, stages skipped and in parallel.

load build-helpers
bats_require_minimum_version 1.5.0

@test "multi-stage: COPY --from by name and index, FROM a stage, only what the target needs" {
	echo source >"$CTX/src.txt"
	dockerfile 'ARG BASE=bb:1
FROM $BASE AS build
COPY src.txt /src/
RUN mkdir -p /out && tr a-z A-Z < /src/src.txt > /out/built && chown 42:42 /out/built

FROM build AS test
RUN grep -q SOURCE /out/built && touch /out/tested

FROM bb:1 AS unused
RUN echo this stage must not run; exit 1

FROM scratch AS runtime
COPY --from=build /out/built /app/built
COPY --from=0 /src/src.txt /app/
COPY --from=test /out/tested /app/tested
CMD ["/app/built"]'
	run petra build -t ms:1 "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" != *"must not run"* ]]
	unpack_image ms:1 "$BATS_TEST_TMPDIR/fs"
	local fs="$BATS_TEST_TMPDIR/fs"
	[ "$(cd "$fs" && find . | sort | tr '\n' ' ')" = ". ./app ./app/built ./app/src.txt ./app/tested " ]
	[ "$(cat "$fs/app/built")" = SOURCE ]
	# From a stage, owners are kept.
	[ "$(stat -c %u:%g "$fs/app/built")" = 42:42 ]
	# The scratch stage's base has no name: empty base annotations, as
	# buildah 1.28 writes them.
	[ "$(petra inspect --manifest ms:1 | jq -r '.annotations["org.opencontainers.image.base.name"]')" = "" ]
	[ "$(petra inspect --manifest ms:1 | jq -r '.annotations["org.opencontainers.image.base.digest"]')" = "" ]
	# --target builds that stage and what it needs; the unused stage too
	# when it is the target, and then it fails.
	run petra build -t ms:test --target test "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"[build] "* || "$output" == *"[1/4] FROM"* ]]
	[[ "$output" != *"runtime"* ]]
	[ "$(image_config ms:test | jq -c .Cmd)" = null ]
	run petra build -t ms:unused --target unused "$CTX"
	[ "$status" -eq 1 ]
	[[ "$output" == *"exit status 1"* ]]
	run petra build --target nope "$CTX"
	[ "$status" -eq 1 ]
	[[ "$output" == *'target stage "nope" could not be found'* ]]
}

@test "the base of a stage built FROM another stage is the image at the bottom of the chain" {
	dockerfile 'FROM bb:1 AS one
RUN echo 1 > /one
FROM one
RUN echo 2 > /two'
	run petra build -t chain:1 "$CTX"
	[ "$status" -eq 0 ]
	local ann
	ann=$(petra inspect --manifest chain:1 | jq -c .annotations)
	[ "$(echo "$ann" | jq -r '.["org.opencontainers.image.base.name"]')" = localhost/bb:1 ]
	[ "$(echo "$ann" | jq -r '.["org.opencontainers.image.base.digest"]')" = \
		"$(petra images --format json | jq -r '.[] | select(.name=="bb") | .digest')" ]
}

@test "independent stages build in parallel" {
	# Each stage waits (20 s at most) for the other's mark in a shared
	# cache mount: built one after the other, the first would give up.
	dockerfile 'FROM bb:1 AS a
RUN --mount=type=cache,target=/meet,id=meet,sharing=shared \
    touch /meet/a; i=0; while [ ! -e /meet/b ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done; \
    test -e /meet/b && echo a > /a
FROM bb:1 AS b
RUN --mount=type=cache,target=/meet,id=meet,sharing=shared \
    touch /meet/b; i=0; while [ ! -e /meet/a ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done; \
    test -e /meet/a && echo b > /b
FROM bb:1
COPY --from=a /a /a
COPY --from=b /b /b'
	run petra build --jobs 2 --no-cache -t par:1 "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	# Lines of parallel stages say which stage they are from.
	[[ "$output" == *"[a] [2/2] RUN"* ]]
	[[ "$output" == *"[b] [2/2] RUN"* ]]
	unpack_image par:1 "$BATS_TEST_TMPDIR/fs"
	[ "$(cat "$BATS_TEST_TMPDIR/fs/a" "$BATS_TEST_TMPDIR/fs/b")" = "a"$'\n'"b" ]
}

@test "a failing stage stops the others and the build" {
	dockerfile 'FROM bb:1 AS bad
RUN exit 7
FROM bb:1 AS good
RUN echo ok > /ok
FROM bb:1
COPY --from=bad / /bad
COPY --from=good /ok /ok'
	run petra build --jobs 2 -t failing:1 "$CTX"
	[ "$status" -eq 1 ]
	[[ "$output" == *"petra: stage bad: [2/2] RUN exit 7: exit status 7"* ]]
	run petra inspect failing:1
	[ "$status" -eq 1 ]
}

@test "FROM takes an OCI layout; a missing base names itself" {
	petra export bb:1 "oci:$BATS_TEST_TMPDIR/layout:v1"
	dockerfile "FROM oci:$BATS_TEST_TMPDIR/layout:v1
RUN echo from-layout > /x"
	run petra build -t fromlayout:1 "$CTX"
	[ "$status" -eq 0 ]
	unpack_image fromlayout:1 "$BATS_TEST_TMPDIR/fs"
	[ "$(cat "$BATS_TEST_TMPDIR/fs/x")" = from-layout ]
	dockerfile 'FROM docker.io/library/nothing:here'
	run petra build "$CTX"
	[ "$status" -eq 1 ]
	[[ "$output" == *'image "docker.io/library/nothing:here" is not in the store'* ]]
}
