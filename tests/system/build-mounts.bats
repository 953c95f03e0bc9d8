#!/usr/bin/env bats
# petra build: RUN --mount (secret, cache, bind, tmpfs), secrets never in
# the store, --squash.

load build-helpers
bats_require_minimum_version 1.5.0

# Fail when any file of the store (blobs, extracted layers, cache records,
# index) holds these bytes.
assert_not_in_store() {
	local found
	found=$(grep -rlaF -- "$1" "$PETRA_ROOT" || true)
	[ -z "$found" ] || { echo "found in: $found"; return 1; }
}

@test "a secret mount is on a tmpfs for that step only and in no blob, config, history or record" {
	local secret="s3cr3t-$RANDOM-$RANDOM-token"
	printf '%s' "$secret" >"$BATS_TEST_TMPDIR/token"
	export BUILD_TOKEN_ENV="env-$secret"
	dockerfile 'FROM bb:1
RUN --mount=type=secret,id=token \
    test "$(cat /run/secrets/token)" = "$(cat /run/secrets/token)" \
    && wc -c < /run/secrets/token > /secret-size \
    && stat -c "%a %u" /run/secrets/token > /secret-mode \
    && grep " /run/secrets/token " /proc/mounts | cut -d" " -f3 > /secret-fs \
    && (echo x > /run/secrets/token 2>/dev/null && echo writable || echo read-only) > /secret-write
RUN --mount=type=secret,id=token,target=/etc/app/key,mode=0440,uid=1000 \
    stat -c "%a %u" /etc/app/key > /key-mode
RUN --mount=type=secret,id=fromenv,env=API_TOKEN \
    test "$API_TOKEN" = "$BUILD_TOKEN_ENV_SEEN" || test -n "$API_TOKEN" && echo ${#API_TOKEN} > /env-size
RUN test ! -e /run/secrets/token && echo gone > /after'
	run petra build -t sec:1 --secret "id=token,src=$BATS_TEST_TMPDIR/token" \
		--secret id=fromenv,env=BUILD_TOKEN_ENV "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	unpack_image sec:1 "$BATS_TEST_TMPDIR/fs"
	local fs="$BATS_TEST_TMPDIR/fs"
	[ "$(cat "$fs/secret-size")" = "${#secret}" ]
	[ "$(cat "$fs/secret-mode")" = "400 0" ]
	[ "$(cat "$fs/secret-fs")" = tmpfs ]
	[ "$(cat "$fs/secret-write")" = read-only ]
	[ "$(cat "$fs/key-mode")" = "440 1000" ]
	[ "$(cat "$fs/env-size")" = "${#BUILD_TOKEN_ENV}" ]
	[ "$(cat "$fs/after")" = gone ]
	# Not even the mount points are left in a layer.
	[ ! -e "$fs/run/secrets" ]
	[ ! -e "$fs/etc/app" ]
	assert_not_in_store "$secret"
	# A changed secret does not rerun the step (as in BuildKit).
	printf 'other-%s' "$secret" >"$BATS_TEST_TMPDIR/token"
	run petra build -t sec:1 --secret "id=token,src=$BATS_TEST_TMPDIR/token" \
		--secret id=fromenv,env=BUILD_TOKEN_ENV "$CTX"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | grep -c '(cached)')" = 4 ]
	assert_not_in_store "$secret"
}

@test "a required secret that is not given stops the build; an optional one is skipped" {
	dockerfile 'FROM bb:1
RUN --mount=type=secret,id=missing,required=true cat /run/secrets/missing'
	run petra build "$CTX"
	[ "$status" -eq 1 ]
	[[ "$output" == *'secret "missing" is required but was not given'* ]]
	dockerfile 'FROM bb:1
RUN --mount=type=secret,id=missing test ! -e /run/secrets/missing'
	run petra build "$CTX"
	[ "$status" -eq 0 ]
}

@test "a cache mount persists across builds, outside the image" {
	dockerfile 'FROM bb:1
RUN --mount=type=cache,target=/var/cache/app \
    echo run >> /var/cache/app/log && wc -l < /var/cache/app/log > /runs'
	run petra build --no-cache -t cm:1 "$CTX"
	[ "$status" -eq 0 ]
	run petra build --no-cache -t cm:2 "$CTX"
	[ "$status" -eq 0 ]
	unpack_image cm:2 "$BATS_TEST_TMPDIR/fs"
	[ "$(cat "$BATS_TEST_TMPDIR/fs/runs")" -ge 2 ]
	[ ! -e "$BATS_TEST_TMPDIR/fs/var/cache/app" ]
	# Kept under the store, not in any layer.
	ls "$PETRA_ROOT"/build/cache-mounts/*/log
}

@test "bind mounts: the context through .dockerignore, read-only; a stage; writes vanish" {
	mkdir -p "$CTX/src"
	echo code >"$CTX/src/main.c"
	echo hidden >"$CTX/src/.env"
	echo '**/.env' >"$CTX/.dockerignore"
	dockerfile 'FROM bb:1 AS tools
RUN mkdir /tools && echo tool > /tools/t
FROM bb:1
RUN --mount=type=bind,source=src,target=/mnt/src \
    cat /mnt/src/main.c > /seen && (test -e /mnt/src/.env && echo leaked || echo hidden) > /env \
    && (touch /mnt/src/new 2>/dev/null && echo writable || echo read-only) > /ro
RUN --mount=type=bind,from=tools,source=/tools,target=/t cat /t/t > /tool
RUN --mount=type=bind,source=src,target=/w,rw touch /w/scratch && ls /w > /rw-list'
	run petra build -t bind:1 "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	unpack_image bind:1 "$BATS_TEST_TMPDIR/fs"
	local fs="$BATS_TEST_TMPDIR/fs"
	[ "$(cat "$fs/seen")" = code ]
	[ "$(cat "$fs/env")" = hidden ]
	[ "$(cat "$fs/ro")" = read-only ]
	[ "$(cat "$fs/tool")" = tool ]
	grep -qx scratch "$fs/rw-list"
	[ ! -e "$CTX/src/scratch" ]
	[ ! -e "$CTX/src/new" ]
	[ ! -e "$fs/mnt" ]
	[ ! -e "$fs/w" ]
	[ ! -e "$fs/t" ]
	# The bound content is part of the key.
	run petra build -t bind:1 "$CTX"
	[ "$(echo "$output" | grep -c '(cached)')" = 4 ]
	echo changed >"$CTX/src/main.c"
	run petra build -t bind:2 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"[tools] [2/2] RUN mkdir /tools && echo tool > /tools/t  (cached)"* ]]
	[[ "$output" != *"RUN --mount=type=bind,source=src,target=/mnt/src"*"(cached)"* ]]
}

@test "a tmpfs mount is empty, writable and not kept" {
	dockerfile 'FROM bb:1
RUN --mount=type=tmpfs,target=/var/tmp/work \
    test -z "$(ls -A /var/tmp/work)" && echo x > /var/tmp/work/f \
    && grep " /var/tmp/work " /proc/mounts | cut -d" " -f3 > /fs'
	run petra build -t tmp:1 "$CTX"
	[ "$status" -eq 0 ]
	unpack_image tmp:1 "$BATS_TEST_TMPDIR/fs"
	[ "$(cat "$BATS_TEST_TMPDIR/fs/fs")" = tmpfs ]
	[ -z "$(ls -A "$BATS_TEST_TMPDIR/fs/var/tmp")" ]
}

@test "--squash: the build's layers as one, and a file deleted later is in no layer" {
	local marker="squash-marker-$RANDOM$RANDOM"
	dockerfile "FROM bb:1
RUN echo $marker > /leftover && echo keep > /keep
RUN rm /leftover && mkdir -p /etc/app && echo conf > /etc/app/conf
RUN rm -rf /home && echo replaced > /home
RUN echo last > /last"
	run petra build -t nosquash:1 "$CTX"
	[ "$status" -eq 0 ]
	run petra build --squash -t squash:1 "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"squashing 4 layers"* ]]
	[ "$(petra inspect --manifest squash:1 | jq '.layers | length')" = 2 ]
	# The same filesystem as without squashing.
	unpack_image nosquash:1 "$BATS_TEST_TMPDIR/a"
	unpack_image squash:1 "$BATS_TEST_TMPDIR/b"
	assert_same_tree "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	[ "$(cat "$BATS_TEST_TMPDIR/b/home")" = replaced ]
	# The squashed layer holds no trace of the deleted file.
	local layer
	layer=$(petra inspect --manifest squash:1 | jq -r '.layers[1].digest')
	! gzip -dc "$PETRA_ROOT/blobs/sha256/${layer#sha256:}" | grep -qa "$marker"
	# History: one entry for the squashed layer.
	[ "$(petra inspect --config squash:1 | jq '[.history[] | select(.empty_layer != true)] | length')" = 2 ]
	# umoci unpacks it the same way.
	petra export squash:1 "oci:$BATS_TEST_TMPDIR/layout:1"
	umoci unpack --image "$BATS_TEST_TMPDIR/layout:1" "$BATS_TEST_TMPDIR/bundle" >/dev/null
	assert_same_tree "$BATS_TEST_TMPDIR/bundle/rootfs" "$BATS_TEST_TMPDIR/b"
}
