#!/usr/bin/env bats
# petra build as an unprivileged user: a user namespace with the user's
# subordinate ids (newuidmap/newgidmap), overlay inside it or copies, layers
# with the ids inside as a root build writes them, and nothing the user does
# not own within reach. The test makes its users and removes them.

load build-helpers

# A free name for a test user.
free_user_name() {
	local name
	for _ in $(seq 50); do
		name=prl$((RANDOM % 100000))
		id "$name" >/dev/null 2>&1 || { echo "$name"; return 0; }
	done
	return 1
}

setup_file() {
	RL_DIR=$(mktemp -d /tmp/petra-rootless.XXXXXX)
	chmod 755 "$RL_DIR"
	RL_USER=$(free_user_name)
	# -K ..._COUNT=0: no automatic ranges; the test writes its own.
	useradd -M -d "$RL_DIR/home" -s /bin/sh -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "$RL_USER"
	RL_NOSUB=$(free_user_name)
	useradd -M -d "$RL_DIR/nosub" -s /bin/sh -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "$RL_NOSUB"
	mkdir -p "$RL_DIR/home" "$RL_DIR/nosub"
	chown "$RL_USER:" "$RL_DIR/home"
	chown "$RL_NOSUB:" "$RL_DIR/nosub"
	# A range above every range any user has, for uids and gids alike.
	local top
	top=$(cat /etc/subuid /etc/subgid 2>/dev/null |
		awk -F: 'NF == 3 && $2 + $3 > m { m = $2 + $3 } END { print m + 0 }')
	RL_SUB_START=$(((top < 200000 ? 200000 : top) + 65536))
	usermod --add-subuids "$RL_SUB_START-$((RL_SUB_START + 65535))" \
		--add-subgids "$RL_SUB_START-$((RL_SUB_START + 65535))" "$RL_USER"
	make_build_rootfs "$RL_DIR/bb-rootfs"
	export RL_DIR RL_USER RL_NOSUB RL_SUB_START
}

teardown_file() {
	# What a rootless petra run left (its run directory), then the users.
	rm -rf "/tmp/petra-run-$(id -u "$RL_USER")" "/tmp/petra-run-$(id -u "$RL_NOSUB")"
	userdel "$RL_USER" 2>/dev/null || true
	userdel "$RL_NOSUB" 2>/dev/null || true
	# userdel takes the subordinate ranges along; only what it left.
	local f
	for f in /etc/subuid /etc/subgid; do
		if grep -qE "^($RL_USER|$RL_NOSUB):" "$f"; then
			sed -i -E "/^($RL_USER|$RL_NOSUB):/d" "$f"
		fi
	done
	rm -rf "$RL_DIR"
}

setup() {
	RL_STORE="$RL_DIR/home/store-$BATS_TEST_NUMBER"
	CTX="$RL_DIR/ctx-$BATS_TEST_NUMBER"
	mkdir -p "$CTX"
	echo "from the context" >"$CTX/f.txt"
	chown -R "$RL_USER:" "$CTX"
	unset SOURCE_DATE_EPOCH
}

teardown() {
	stop_registry
	assert_build_clean "$RL_STORE"
}

# as USER CMD...: run CMD as USER with a clean environment: its home, the
# test's store, SOURCE_DATE_EPOCH when set.
as() {
	local user=$1 home=$RL_DIR/home
	shift
	[ "$user" = "$RL_NOSUB" ] && home=$RL_DIR/nosub
	(cd "$RL_DIR" && runuser -u "$user" -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		HOME="$home" ${RL_STORE:+PETRA_ROOT=$RL_STORE} \
		${SOURCE_DATE_EPOCH:+SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH} "$@")
}
upetra() {
	as "$RL_USER" "$PETRA" "$@"
}

# The base, imported by the user itself.
import_base() {
	upetra import -q "$RL_DIR/bb-rootfs" --ref bb:1 >/dev/null
}

# layer_listing IMAGE [STORE]: "path uid/gid mode" of every entry of every
# layer, from the blobs themselves.
layer_listing() {
	local store=${2:-$RL_STORE} digest
	for digest in $(PETRA_ROOT=$store "$PETRA" inspect "$1" |
		jq -r '.[0].manifest.layers[].digest'); do
		tar -tzvf "$store/blobs/sha256/${digest#sha256:}" --numeric-owner |
			awk '{ print $NF, $2, $1 }'
	done
}

dockerfile_multistage() {
	dockerfile 'FROM bb:1 AS builder
RUN mkdir /out && echo built >/out/tool && chown -R 1000:1000 /out && id -u >/out/id
FROM bb:1
COPY --from=builder /out /opt/out
COPY --chown=1000:1000 f.txt /data/f.txt
RUN mkdir -p /srv && touch /srv/owned && chown 123:456 /srv/owned && id -u >/root-id && rm /etc/motd
USER app
RUN id -u >/tmp/app-id && touch /home/app/mine
USER root
CMD ["cat", "/tmp/app-id"]'
	chown "$RL_USER:" "$CTX/Dockerfile"
}

@test "rootless build: RUN as root with chown, COPY --chown, USER, multi-stage, cached rebuild, run" {
	import_base
	dockerfile_multistage
	# A rootless run first extracts the base without owners (it maps one
	# id): the build must not take its layers from there.
	run upetra run --rm bb:1 stat -c %u /home/app
	[ "$status" -eq 0 ]
	run upetra build -t app:1 "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	# Overlay in the user namespace: no fallback to copies was needed.
	[[ "$output" != *"overlayfs cannot be mounted"* ]]
	local listing
	listing=$(layer_listing app:1)
	echo "$listing"
	# The ids inside, as a root build writes them: not the user's, not
	# its subordinate ids.
	grep -qx 'opt/out/tool 1000/1000 -rw-r--r--' <<<"$listing"
	grep -qx 'data/f.txt 1000/1000 -rw-r--r--' <<<"$listing"
	grep -qx 'srv/owned 123/456 -rw-r--r--' <<<"$listing"
	grep -qx 'home/app/mine 1000/1000 -rw-r--r--' <<<"$listing"
	grep -qx 'home/app/ 1000/1000 drwxr-xr-x' <<<"$listing"
	grep -qx 'root-id 0/0 -rw-r--r--' <<<"$listing"
	grep -q '^etc/.wh.motd ' <<<"$listing"
	! grep -E " ($(id -u "$RL_USER")|$RL_SUB_START|$((RL_SUB_START + 999)))/" <<<"$listing" || false
	# Cached: every step of the rebuild.
	run upetra build -t app:1 "$CTX"
	[ "$status" -eq 0 ]
	[ "$(grep -c '(cached)' <<<"$output")" = 5 ]
	# And it runs rootless.
	run upetra run --rm app:1
	[ "$status" -eq 0 ]
	[ "$output" = 1000 ]
	run upetra run --rm app:1 cat /root-id /opt/out/id
	[ "$output" = "$(printf '0\n0')" ]
}

@test "rootless and root builds give the same digests when reproducible (overlay and copies)" {
	export SOURCE_DATE_EPOCH=1700000000
	dockerfile_multistage
	# An opaque directory and whiteouts too.
	printf 'RUN rm -rf /var && mkdir /var && echo x >/var/new\n' >>"$CTX/Dockerfile"
	local snapshot root_store root_digest
	# The copy snapshot writes a replaced directory as whiteouts, overlay
	# as an opaque one: each is compared with a root build of its kind.
	for snapshot in overlay copy; do
		root_store=$RL_DIR/root-store-$BATS_TEST_NUMBER-$snapshot
		PETRA_ROOT=$root_store petra import -q "$RL_DIR/bb-rootfs" --ref bb:1 >/dev/null
		run env PETRA_ROOT="$root_store" "$PETRA" build -q --snapshot "$snapshot" -t app:1 "$CTX"
		[ "$status" -eq 0 ]
		root_digest=${lines[-1]}
		RL_STORE=$RL_DIR/home/store-$BATS_TEST_NUMBER-$snapshot
		import_base
		run upetra build -q --snapshot "$snapshot" -t app:1 "$CTX"
		echo "$output"
		[ "$status" -eq 0 ]
		[ "${lines[-1]}" = "$root_digest" ]
		assert_build_clean "$RL_STORE"
		assert_build_clean "$root_store"
	done
}

@test "rootless: the default store is \$XDG_DATA_HOME/petra, else ~/.local/share/petra" {
	dockerfile 'FROM scratch
COPY f.txt /f.txt'
	chown "$RL_USER:" "$CTX/Dockerfile"
	RL_STORE='' run as "$RL_USER" "$PETRA" build -q -t plain:1 "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	PETRA_ROOT="$RL_DIR/home/.local/share/petra" petra inspect plain:1 >/dev/null
	[ "$(stat -c %U "$RL_DIR/home/.local/share/petra/index.json")" = "$RL_USER" ]
	RL_STORE='' run as "$RL_USER" env XDG_DATA_HOME="$RL_DIR/home/xdg" "$PETRA" build -q -t xdg:1 "$CTX"
	[ "$status" -eq 0 ]
	PETRA_ROOT="$RL_DIR/home/xdg/petra" petra inspect xdg:1 >/dev/null
	[ ! -e /var/lib/petra/index.json ] || ! PETRA_ROOT=/var/lib/petra petra inspect xdg:1
}

@test "rootless: build scenarios of the build tests (ARG, ENV, WORKDIR, heredoc, ADD, mounts, target, squash, .dockerignore)" {
	import_base
	tar -C "$CTX" -czf "$CTX/payload.tgz" f.txt
	printf 'secret-value' >"$CTX/token"
	mkdir -p "$CTX/ignored"
	echo no >"$CTX/ignored/x"
	printf "ignored\ntoken\n" >"$CTX/.dockerignore"
	dockerfile 'ARG GREETING=hello
FROM bb:1 AS base
ARG GREETING
ENV APP_HOME=/srv/app
WORKDIR $APP_HOME
RUN echo "$GREETING" >greeting
ADD payload.tgz /srv/unpacked/
COPY . /ctx/
RUN --mount=type=cache,target=/cache echo hit >>/cache/count && wc -l </cache/count >/cache-count
RUN --mount=type=secret,id=token,uid=1000 stat -c "%u %a" /run/secrets/token >/secret-stat
RUN --mount=type=tmpfs,target=/scratch touch /scratch/x && test ! -e /leak
RUN <<EOF
set -e
echo from-heredoc >/heredoc
chown 1000 /heredoc
EOF
FROM base AS final
RUN echo final >/final
FROM base AS unused
RUN false'
	chown -R "$RL_USER:" "$CTX"
	run upetra build -t scen:1 --build-arg GREETING=hi --secret "id=token,src=$CTX/token" \
		--target final --squash "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	local listing
	listing=$(layer_listing scen:1)
	grep -q '^srv/app/greeting 0/0 ' <<<"$listing"
	grep -q '^srv/unpacked/f.txt ' <<<"$listing"
	grep -q '^heredoc 1000/0 ' <<<"$listing"
	grep -q '^final 0/0 ' <<<"$listing"
	! grep -qE 'ctx/(ignored|token)' <<<"$listing" || false
	# Squashed: the base's layer and one more.
	[ "$(PETRA_ROOT=$RL_STORE petra inspect scen:1 | jq '.[0].manifest.layers | length')" = 2 ]
	run upetra run --rm scen:1 sh -c 'cat greeting /secret-stat /cache-count /heredoc; echo $APP_HOME; pwd'
	echo "$output"
	[ "$output" = "$(printf 'hi\n1000 400\n1\nfrom-heredoc\n/srv/app\n/srv/app')" ]
	! zgrep -qs secret-value "$RL_STORE"/blobs/sha256/* || false
	# The cache mount is kept, owned by the user's namespace.
	run upetra build -t scen:2 --build-arg GREETING=hi --secret "id=token,src=$CTX/token" \
		--target final --no-cache "$CTX"
	[ "$status" -eq 0 ]
	run upetra run --rm scen:2 cat /cache-count
	[ "$output" = 2 ]
}

@test "rootless flow: the example, its parallel steps in one namespace, artifact out as the user's" {
	local flow=$RL_DIR/home/flow-$BATS_TEST_NUMBER base=$RL_DIR/busybox-$BATS_TEST_NUMBER
	mkdir -p "$flow"
	cp -a "$BATS_TEST_DIRNAME/../../examples/flow/." "$flow/"
	rm -rf "$flow/artifacts"
	chown -R "$RL_USER:" "$flow"
	sh "$BATS_TEST_DIRNAME/../../examples/busybox/make-rootfs.sh" "$base"
	upetra import -q "$base" --ref busybox:1.35 >/dev/null
	run upetra flow --jobs 2 "$flow/build.yml"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"runtime hello:latest sha256:"* ]]
	[ "$(cat "$flow/artifacts/rootfs/app/VERSION")" = 1.0 ]
	# Taken out as the user's own files: it can remove them.
	[ -z "$(find "$flow/artifacts" ! -user "$RL_USER")" ]
	run upetra run --rm hello
	[ "$output" = "hello from 1.0 on Linux" ]
	as "$RL_USER" rm -r "$flow/artifacts"
}

@test "rootless: the base pulled from a registry, the result pushed (what a rebuild Job does)" {
	start_registry
	local root_store=$RL_DIR/push-store-$BATS_TEST_NUMBER
	PETRA_ROOT=$root_store petra import -q "$RL_DIR/bb-rootfs" --ref bb:1 >/dev/null
	PETRA_ROOT=$root_store petra push -q --tls-verify=false bb:1 "$REGISTRY/rl/base:1" >/dev/null
	dockerfile "FROM $REGISTRY/rl/base:1
RUN mkdir /data && chown 1000:1000 /data"
	chown "$RL_USER:" "$CTX/Dockerfile"
	run upetra build -q --tls-verify=false -t app:1 "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	local digest=${lines[-1]}
	run upetra push -q --tls-verify=false app:1 "$REGISTRY/rl/app:1"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(skopeo inspect --raw --tls-verify=false "docker://$REGISTRY/rl/app:1" | sha256sum | cut -d' ' -f1)" = \
		"${digest#sha256:}" ]
	grep -qx 'data/ 1000/1000 drwxr-xr-x' <<<"$(layer_listing app:1)"
}

@test "rootless: rmi and prune remove what the build cached, subordinate ids included" {
	import_base
	dockerfile_multistage
	run upetra build -t app:1 "$CTX"
	[ "$status" -eq 0 ]
	# Cached layers hold files of the subordinate ids: only root of the
	# user's namespace can remove them.
	[ -n "$(find "$RL_STORE/rootfs" -uid $((RL_SUB_START + 999)) | head -1)" ]
	run upetra rmi app:1 bb:1
	echo "$output"
	[ "$status" -eq 0 ]
	run upetra prune
	[ "$status" -eq 0 ]
	[ -z "$(find "$RL_STORE/rootfs/layers" -mindepth 1 | head -1)" ]
}

@test "rootless without subordinate ids: builds as the single id 0; another id is a clear error" {
	chown -R "$RL_NOSUB:" "$CTX"
	RL_STORE=$RL_DIR/nosub/store-$BATS_TEST_NUMBER
	mkdir -p "$RL_DIR/nosub-root"
	make_busybox_rootfs "$RL_DIR/nosub-root"
	as "$RL_NOSUB" "$PETRA" import -q "$RL_DIR/nosub-root" --ref bbs:1 >/dev/null
	dockerfile 'FROM bbs:1
RUN echo root >/r && id -u >>/r
COPY f.txt /f.txt'
	chown "$RL_NOSUB:" "$CTX/Dockerfile"
	run as "$RL_NOSUB" "$PETRA" build -t one:1 "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	grep -qx 'r 0/0 -rw-r--r--' <<<"$(layer_listing one:1)"
	dockerfile 'FROM bbs:1
COPY --chown=1000:1000 f.txt /f.txt'
	run as "$RL_NOSUB" "$PETRA" build -t two:1 "$CTX"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"COPY --chown=1000:1000 f.txt /f.txt"* ]]
	[[ "$output" == *"this rootless build maps only uid 0, your own uid $(id -u "$RL_NOSUB")"* ]]
	[[ "$output" == *"/etc/subuid"* ]]
	# In a RUN, the command itself meets the limit.
	dockerfile 'FROM bbs:1
RUN chown 1000 /tmp'
	run as "$RL_NOSUB" "$PETRA" build -t three:1 "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Invalid argument"* ]]
}

@test "rootless with ranges but no way to map them (no_new_privs, a failing newgidmap): only the own ids, said" {
	import_base
	# A base of root's files only, which the own ids alone can hold.
	make_busybox_rootfs "$RL_DIR/plain-$BATS_TEST_NUMBER"
	upetra import -q "$RL_DIR/plain-$BATS_TEST_NUMBER" --ref plain:1 >/dev/null
	dockerfile 'FROM plain:1
RUN cat /proc/self/uid_map /proc/self/gid_map | tr -s " " >/maps'
	chown "$RL_USER:" "$CTX/Dockerfile"
	# A pod that forbids privilege escalation: the setuid helpers cannot
	# work, the own ids still can.
	run as "$RL_USER" setpriv --no-new-privs "$PETRA" build -t nnp:1 "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"no_new_privs is set"* ]]
	run upetra run --rm nnp:1 cat /maps
	[ "$output" = "$(printf ' 0 %s 1\n 0 %s 1' "$(id -u "$RL_USER")" "$(id -g "$RL_USER")")" ]
	# bb:1 has a directory of uid 1000: with only 0, the clear error.
	dockerfile 'FROM bb:1
RUN true'
	run as "$RL_USER" setpriv --no-new-privs "$PETRA" build "$CTX"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"chown 1000:1000: Invalid argument (this rootless build maps only uid 0"* ]]
	# newgidmap failing (a stand-in that refuses): uids mapped, gids not.
	dockerfile 'FROM plain:1
RUN cat /proc/self/uid_map /proc/self/gid_map | tr -s " " >/maps'
	mkdir -p "$RL_DIR/fake-bin"
	printf '#!/bin/sh\necho "newgidmap: refused" >&2\nexit 1\n' >"$RL_DIR/fake-bin/newgidmap"
	chmod 755 "$RL_DIR/fake-bin" "$RL_DIR/fake-bin/newgidmap"
	run as "$RL_USER" env PATH="$RL_DIR/fake-bin:/usr/bin:/bin" "$PETRA" build --no-cache -t gid:1 "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"newgidmap: refused"* ]]
	[[ "$output" == *"newgidmap could not map the subordinate gids of $RL_USER"* ]]
	run upetra run --rm gid:1 cat /maps
	[ "$output" = "$(printf ' 0 %s 1\n 1 %s 65536\n 0 %s 1' "$(id -u "$RL_USER")" "$RL_SUB_START" "$(id -g "$RL_USER")")" ]
}

@test "rootless: the build reaches nothing of the host the user could not (files, secrets, Dockerfile, RUN)" {
	import_base
	# Host files only root may read or write.
	local host=$RL_DIR/host-only
	mkdir -p "$host"
	echo "host secret" >"$host/secret"
	echo "original" >"$host/victim"
	chmod 600 "$host/secret"
	chmod 644 "$host/victim"
	chmod 700 "$host"
	ln -s "$host/secret" "$CTX/secret-link"
	ln -s "$host/victim" "$CTX/victim-link"
	ln -s "$host" "$CTX/host-link"
	chown -h "$RL_USER:" "$CTX"/*-link
	# petra itself is root in the user namespace, with every capability
	# there: none of that reaches a file of an unmapped owner.
	dockerfile 'FROM bb:1
RUN true'
	run upetra build -f "$host/secret" "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Permission denied"* ]]
	run upetra build -f /etc/shadow "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Permission denied"* ]]
	dockerfile 'FROM bb:1
RUN --mount=type=secret,id=s cat /run/secrets/s'
	run upetra build --secret "id=s,src=$host/secret" "$CTX"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Permission denied"* ]]
	[[ "$output" != *"host secret"* ]]
	# A context symlink resolves inside the context, never to the host.
	dockerfile 'FROM bb:1
COPY secret-link /in/'
	run upetra build "$CTX"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" != *"host secret"* ]]
	dockerfile 'FROM bb:1
RUN --mount=type=bind,source=.,target=/ctx,rw \
    (cat /ctx/secret-link /ctx/host-link/secret 2>&1 || true) >/read-attempt; \
    (echo pwned >/ctx/victim-link; echo pwned >/ctx/host-link/victim) 2>/dev/null; \
    ls /proc/1/root/ >/proc-root; touch /proc/sysrq-trigger 2>/dev/null && echo sysrq >>/read-attempt; \
    mount -t tmpfs none /mnt 2>/dev/null && echo mounted >>/read-attempt; \
    cat /proc/self/uid_map /proc/self/gid_map >/id-maps; true'
	run upetra build -t attack:1 "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	run upetra run --rm attack:1 cat /read-attempt
	echo "$output"
	[[ "$output" != *"host secret"* ]]
	[[ "$output" != *sysrq* ]]
	[[ "$output" != *mounted* ]]
	# Mapped: the user's own id as 0 and its one range above, nothing more.
	run upetra run --rm attack:1 cat /id-maps
	echo "$output"
	[ "$(echo "$output" | awk '{ print $1, $2, $3 }' | tr '\n' ' ')" = \
		"0 $(id -u "$RL_USER") 1 1 $RL_SUB_START 65536 0 $(id -g "$RL_USER") 1 1 $RL_SUB_START 65536 " ]
	[ "$(cat "$host/victim")" = original ]
	[ "$(stat -c '%U %a' "$host/victim")" = "root 644" ]
	[ "$(cat "$host/secret")" = "host secret" ]
	! grep -rqs "host secret" "$RL_STORE" || false
	# What the build left is the user's alone: the store keeps the layers
	# (files of the subordinate ids among them) where no other user can
	# reach them.
	[ "$(stat -c %a "$RL_STORE/rootfs/layers")" = 700 ]
	run as "$RL_NOSUB" ls "$RL_STORE/rootfs/layers"
	[ "$status" -ne 0 ]
	# The worst of it: a setuid file the build made is, on the host,
	# setuid to the user (its 0) or to one of its subordinate ids (its
	# 1000). Another user must not get to run it as them.
	dockerfile 'FROM bb:1
RUN cp /bin/busybox /suid-root && chmod 4755 /suid-root && cp /bin/busybox /suid-app && chown 1000 /suid-app && chmod 4755 /suid-app'
	run upetra build -t suid:1 "$CTX"
	[ "$status" -eq 0 ]
	local as_user as_app
	as_user=$(find "$RL_STORE/rootfs/layers" -name suid-root -perm -4000 -uid "$(id -u "$RL_USER")")
	as_app=$(find "$RL_STORE/rootfs/layers" -name suid-app -perm -4000 -uid $((RL_SUB_START + 999)))
	[ -n "$as_user" ]
	[ -n "$as_app" ]
	run as "$RL_NOSUB" "$as_user" id -u
	[ "$status" -ne 0 ]
	[[ "$output" == *"Permission denied"* ]]
	run as "$RL_NOSUB" "$as_app" id -u
	[ "$status" -ne 0 ]
	[[ "$output" == *"Permission denied"* ]]
}

@test "rootless: /etc/subgid lines are keyed by user name or uid, never by the user's gid" {
	# OWNER's uid is also GUEST's primary gid. OWNER's subgid line, keyed
	# by that number, is not GUEST's to map (newgidmap refuses it, and the
	# build would lose GUEST's own range as well).
	local owner guest gid start=$((RL_SUB_START + 131072))
	owner=$(free_user_name)
	useradd -M -d /nonexistent -s /bin/sh -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "$owner"
	gid=$(id -u "$owner")
	getent group "$gid" >/dev/null || groupadd -g "$gid" "$owner"
	guest=$(free_user_name)
	useradd -M -N -g "$gid" -d "$RL_DIR/home" -s /bin/sh -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "$guest"
	usermod --add-subuids "$start-$((start + 65535))" --add-subgids "$start-$((start + 65535))" "$guest"
	echo "$gid:$((start + 65536)):65536" >>/etc/subgid
	RL_STORE=$RL_DIR/home/store-guest-$BATS_TEST_NUMBER
	mkdir -p "$RL_STORE" && chown "$guest" "$RL_STORE"
	chown -R "$guest" "$CTX"
	dockerfile 'FROM bb:1
RUN cat /proc/self/gid_map | tr -s " " >/maps'
	chown "$guest" "$CTX/Dockerfile"
	local built maps
	built=$(as "$guest" "$PETRA" import -q "$RL_DIR/bb-rootfs" --ref bb:1 2>&1 &&
		as "$guest" "$PETRA" build -t g:1 "$CTX" 2>&1) || built="FAILED $built"
	maps=$(as "$guest" "$PETRA" run --rm g:1 cat /maps 2>&1) || true
	as "$guest" "$PETRA" rmi -f g:1 bb:1 >/dev/null 2>&1 || true
	as "$guest" "$PETRA" prune >/dev/null 2>&1 || true
	sed -i "/^$gid:$((start + 65536)):65536\$/d" /etc/subgid
	userdel "$guest" 2>/dev/null || true
	userdel "$owner" 2>/dev/null || true
	sed -i -E "/^($guest|$owner):/d" /etc/subuid /etc/subgid
	if getent group "$owner" >/dev/null; then groupdel "$owner" 2>/dev/null || true; fi
	echo "$built"
	echo "$maps"
	[[ "$built" != FAILED* ]]
	[[ "$built" != *"newgidmap could not map"* ]]
	[ "$maps" = "$(printf ' 0 %s 1\n 1 %s 65536' "$gid" "$start")" ]
}

@test "rootless: overlayfs's own attributes on a context file (user.overlay.*) never reach the layers" {
	import_base
	# In a user namespace overlayfs reads its marks from user.overlay.*,
	# which the user may set on the files it builds from.
	echo "meta" >"$CTX/meta.txt"
	python3 -c 'import os, sys
for k, v in (("user.overlay.metacopy", b""), ("user.overlay.redirect", b"/etc"), ("user.overlay.origin", b"x"), ("user.kept", b"yes")):
    os.setxattr(sys.argv[1], k, v)' "$CTX/meta.txt"
	chown "$RL_USER:" "$CTX/meta.txt"
	dockerfile 'FROM scratch
COPY meta.txt /meta.txt'
	chown "$RL_USER:" "$CTX/Dockerfile"
	run upetra build -t meta:1 "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	dockerfile 'FROM bb:1
COPY --from=meta:1 /meta.txt /again.txt
RUN cat /again.txt >/read'
	run upetra build -t meta:2 "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	run upetra run --rm meta:2 cat /read
	[ "$output" = meta ]
	# The cached layers hold none of them (overlayfs's own uuid of a
	# layer's root aside; this kernel escapes what is set through a mount,
	# as user.overlay.overlay.*); the user's own attribute is kept.
	run python3 -c 'import os, sys
for top, dirs, files in os.walk(sys.argv[1]):
    for name in dirs + files:
        path = os.path.join(top, name)
        for k in os.listxattr(path, follow_symlinks=False):
            if k.startswith("user.overlay.") and k not in ("user.overlay.opaque", "user.overlay.uuid") or k == "user.kept":
                print(path, k)' "$RL_STORE/rootfs"
	echo "$output"
	[[ "$output" != *user.overlay.* ]]
	[[ "$output" == *"/meta.txt user.kept"* ]]
}
