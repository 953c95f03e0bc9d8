#!/usr/bin/env bats
# petra build: every instruction and flag, the cache, .dockerignore,
# failures, output.

load build-helpers
bats_require_minimum_version 1.5.0

@test "every config instruction ends up in the image config" {
	dockerfile 'FROM bb:1
MAINTAINER someone@example.com
ARG VERSION=1.0
ARG FLAVOUR
ENV APP_HOME=/srv/app APP_VERSION=$VERSION
ENV LEGACY form with spaces
LABEL org.example.version=$VERSION "with space"="a b"
EXPOSE 80 443/udp 8000-8002/tcp
VOLUME /data
VOLUME ["/logs", "/cache"]
WORKDIR $APP_HOME
WORKDIR sub
USER app:app
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=30s --timeout=5s --start-period=1m --retries=3 CMD wget -q -O- localhost || exit 1
SHELL ["/bin/sh", "-e", "-c"]
ENTRYPOINT ["/bin/sh", "-c"]
CMD echo "$APP_HOME"'
	run petra build -t cfg:1 --build-arg VERSION=2.5 "$CTX"
	[ "$status" -eq 0 ]
	local c
	c=$(image_config cfg:1)
	[ "$(echo "$c" | jq -r '.Env | join(",")')" = \
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin,APP_HOME=/srv/app,APP_VERSION=2.5,LEGACY=form with spaces" ]
	[ "$(echo "$c" | jq -r '.Labels["org.example.version"]')" = 2.5 ]
	[ "$(echo "$c" | jq -r '.Labels["with space"]')" = "a b" ]
	[ "$(echo "$c" | jq -r '.ExposedPorts | keys | join(",")')" = \
		"443/udp,80/tcp,8000/tcp,8001/tcp,8002/tcp" ]
	[ "$(echo "$c" | jq -r '.Volumes | keys | join(",")')" = "/cache,/data,/logs" ]
	[ "$(echo "$c" | jq -r .WorkingDir)" = /srv/app/sub ]
	[ "$(echo "$c" | jq -r .User)" = app:app ]
	[ "$(echo "$c" | jq -r .StopSignal)" = SIGQUIT ]
	[ "$(echo "$c" | jq -c .Healthcheck)" = \
		'{"Test":["CMD-SHELL","wget -q -O- localhost || exit 1"],"Interval":30000000000,"Timeout":5000000000,"StartPeriod":60000000000,"Retries":3}' ]
	[ "$(echo "$c" | jq -c .Shell)" = '["/bin/sh","-e","-c"]' ]
	[ "$(echo "$c" | jq -c .Entrypoint)" = '["/bin/sh","-c"]' ]
	# Shell-form CMD goes through the SHELL in force.
	[ "$(echo "$c" | jq -c .Cmd)" = '["/bin/sh","-e","-c","echo \"$APP_HOME\""]' ]
	[ "$(petra inspect --config cfg:1 | jq -r .author)" = someone@example.com ]
	# The working directory exists, made by root.
	unpack_image cfg:1 "$BATS_TEST_TMPDIR/fs"
	[ "$(stat -c '%F %a %u' "$BATS_TEST_TMPDIR/fs/srv/app/sub")" = "directory 755 0" ]
	# A build argument no ARG declares is reported.
	run petra build -t cfg:2 --build-arg NOBODY=x "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"build arguments not used by any ARG: NOBODY"* ]]
}

@test "RUN: shell and exec form, SHELL, ENV and ARG in its environment, USER and WORKDIR" {
	dockerfile 'FROM bb:1
ARG TOKEN=t1
ENV GREETING=hello
RUN echo "$GREETING $TOKEN" > /greeting
RUN ["/bin/sh", "-c", "id -u > /uid-root"]
WORKDIR /home/app
USER app
RUN id -u > uid && pwd > pwd && echo "$HOME" > home
USER root
SHELL ["/bin/sh", "-c", "echo shell-$0 > /shell; exec \"$0\" \"$@\""]
RUN true'
	run petra build -t run:1 "$CTX"
	[ "$status" -eq 0 ]
	unpack_image run:1 "$BATS_TEST_TMPDIR/fs"
	local fs="$BATS_TEST_TMPDIR/fs"
	[ "$(cat "$fs/greeting")" = "hello t1" ]
	[ "$(cat "$fs/uid-root")" = 0 ]
	[ "$(cat "$fs/home/app/uid")" = 1000 ]
	[ "$(cat "$fs/home/app/pwd")" = /home/app ]
	[ "$(cat "$fs/home/app/home")" = /home/app ]
	[ "$(stat -c %u "$fs/home/app/uid")" = 1000 ]
	[ -f "$fs/shell" ]
	# ARG values are not in the image's config, but the history says them.
	! petra inspect --config run:1 | jq -r '.config.Env[]' | grep -q TOKEN
	petra inspect --config run:1 | jq -r '.history[].created_by' | grep -qF 'RUN |1 TOKEN=t1 /bin/sh -c echo'
}

@test "RUN runs in new namespaces on the stage root, with /proc, /dev, read-only /etc/hosts and no network" {
	dockerfile 'FROM bb:1
RUN echo $$ > /pid && ls /proc/1/ns >/dev/null && ls /dev > /devs \
 && cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " " > /ifaces \
 && (echo x >> /etc/hosts && echo writable || echo read-only) > /hosts-write \
 && hostname > /hostname-seen'
	run petra build -t ns:1 "$CTX"
	[ "$status" -eq 0 ]
	unpack_image ns:1 "$BATS_TEST_TMPDIR/fs"
	local fs="$BATS_TEST_TMPDIR/fs"
	[ "$(cat "$fs/pid")" = 1 ]
	grep -qx null "$fs/devs"
	grep -qx urandom "$fs/devs"
	! grep -qx sda "$fs/devs"
	[ "$(cat "$fs/ifaces")" = lo ]
	[ "$(cat "$fs/hosts-write")" = read-only ]
	# The mount points are the base's, unchanged; nothing else leaked in.
	[ ! -s "$fs/etc/hosts" ]
	[ -z "$(ls -A "$fs/proc")" ]
	[ -z "$(ls -A "$fs/dev")" ]
	# --network=host on a RUN needs the build's consent.
	dockerfile 'FROM bb:1
RUN --network=host true'
	run petra build -t ns:2 "$CTX"
	[ "$status" -eq 1 ]
	[[ "$output" == *"needs the build's consent"* ]]
	run petra build --network host -t ns:2 "$CTX"
	[ "$status" -eq 0 ]
}

@test "RUN with --network host sees the host's interfaces" {
	dockerfile 'FROM bb:1
RUN cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " " | sort > /ifaces'
	run petra build --network host -t net:1 "$CTX"
	[ "$status" -eq 0 ]
	unpack_image net:1 "$BATS_TEST_TMPDIR/fs"
	[ "$(cat "$BATS_TEST_TMPDIR/fs/ifaces")" = "$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort)" ]
}

@test "a mount point the base lacks leaves nothing in the layer" {
	# A bare base: no /proc, /dev, /sys, /etc/hosts.
	make_busybox_rootfs "$BATS_TEST_TMPDIR/bare"
	petra import -q "$BATS_TEST_TMPDIR/bare" --ref bare:1 >/dev/null
	dockerfile 'FROM bare:1
RUN --mount=type=tmpfs,target=/scratch/space touch /scratch/space/x
RUN echo made > /made'
	run petra build -t bare:2 "$CTX"
	[ "$status" -eq 0 ]
	unpack_image bare:2 "$BATS_TEST_TMPDIR/fs"
	local fs="$BATS_TEST_TMPDIR/fs"
	[ ! -e "$fs/proc" ]
	[ ! -e "$fs/dev" ]
	[ ! -e "$fs/sys" ]
	[ ! -e "$fs/etc/hosts" ]
	[ ! -e "$fs/etc/resolv.conf" ]
	[ ! -e "$fs/scratch" ]
	[ -f "$fs/made" ]
	# The first RUN changed nothing: no layer for it.
	[ "$(petra inspect --manifest bare:2 | jq '.layers | length')" = 2 ]
}

@test "COPY: files, directories, wildcards, destinations, --chown, --chmod, heredocs, symlinks" {
	mkdir -p "$CTX/dir/sub" "$CTX/other"
	echo a >"$CTX/a.txt"
	echo b >"$CTX/b.txt"
	echo c >"$CTX/c.md"
	echo deep >"$CTX/dir/sub/deep"
	chmod 0640 "$CTX/dir/sub/deep"
	echo x >"$CTX/other/x"
	ln -s dir "$CTX/link-to-dir"
	ln -s a.txt "$CTX/dir/rel-link"
	dockerfile 'FROM bb:1
WORKDIR /w
COPY a.txt single
COPY *.txt /many/
COPY dir /d1/
COPY dir/ /d2
COPY --chown=app:app dir /owned/
COPY --chown=7:8 other /numeric/
COPY --chmod=0700 other /modes
COPY link-to-dir /via-link
COPY a.txt /existing-dir
COPY <<EOF /etc/here.conf
written by a heredoc
EOF
COPY <<-"RAW" /raw
	$NOT_EXPANDED
	RAW'
	mkdir -p "$BATS_TEST_TMPDIR/x"
	run petra build -t copy:1 "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	unpack_image copy:1 "$BATS_TEST_TMPDIR/fs"
	local fs="$BATS_TEST_TMPDIR/fs"
	[ "$(cat "$fs/w/single")" = a ]
	[ "$(ls "$fs/many" | tr '\n' ' ')" = "a.txt b.txt " ]
	[ "$(cat "$fs/d1/sub/deep")" = deep ]
	[ "$(stat -c '%a %u:%g' "$fs/d1/sub/deep")" = "640 0:0" ]
	[ "$(readlink "$fs/d1/rel-link")" = a.txt ]
	[ -f "$fs/d2/sub/deep" ]
	[ "$(stat -c '%u:%g' "$fs/owned" "$fs/owned/sub" "$fs/owned/sub/deep" | sort -u)" = 1000:1000 ]
	[ "$(stat -c '%u:%g' "$fs/numeric/x")" = 7:8 ]
	[ "$(stat -c '%a' "$fs/modes/x")" = 700 ]
	[ "$(cat "$fs/via-link/sub/deep")" = deep ]
	[ "$(cat "$fs/existing-dir")" = a ]
	[ "$(cat "$fs/etc/here.conf")" = "written by a heredoc" ]
	[ "$(cat "$fs/raw")" = '$NOT_EXPANDED' ]
	# More than one source needs a directory destination.
	dockerfile 'FROM bb:1
COPY a.txt b.txt /not-a-dir'
	run petra build -t copy:2 "$CTX"
	[ "$status" -eq 1 ]
	[[ "$output" == *"must be a directory and end with a /"* ]]
	# A source that is not there names itself.
	dockerfile 'FROM bb:1
COPY missing.txt /'
	run petra build -t copy:3 "$CTX"
	[ "$status" -eq 1 ]
	[[ "$output" == *'"missing.txt"'* ]]
}

@test "ADD unpacks local archives (gzip, xz, plain) and copies other files; no URLs" {
	mkdir -p "$BATS_TEST_TMPDIR/t/pkg/bin"
	echo tool >"$BATS_TEST_TMPDIR/t/pkg/bin/tool"
	tar -C "$BATS_TEST_TMPDIR/t" -czf "$CTX/pkg.tar.gz" pkg
	tar -C "$BATS_TEST_TMPDIR/t" -cJf "$CTX/pkg.tar.xz" pkg
	tar -C "$BATS_TEST_TMPDIR/t" -cf "$CTX/pkg.tar" pkg
	echo plain >"$CTX/notes.txt"
	gzip -c "$CTX/notes.txt" >"$CTX/notes.txt.gz"
	dockerfile 'FROM bb:1
ADD pkg.tar.gz /opt/gz/
ADD pkg.tar.xz /opt/xz
ADD pkg.tar /opt/plain/
ADD notes.txt notes.txt.gz /opt/files/
ADD --unpack=false pkg.tar /opt/kept/'
	run petra build -t add:1 "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	unpack_image add:1 "$BATS_TEST_TMPDIR/fs"
	local fs="$BATS_TEST_TMPDIR/fs"
	[ "$(cat "$fs/opt/gz/pkg/bin/tool")" = tool ]
	[ "$(cat "$fs/opt/xz/pkg/bin/tool")" = tool ]
	[ "$(cat "$fs/opt/plain/pkg/bin/tool")" = tool ]
	[ "$(cat "$fs/opt/files/notes.txt")" = plain ]
	# A compressed file that is not a tar stays as it is.
	[ "$(gzip -dc "$fs/opt/files/notes.txt.gz")" = plain ]
	[ -f "$fs/opt/kept/pkg.tar" ]
	dockerfile 'FROM bb:1
ADD https://example.com/x /x'
	run petra build -t add:2 "$CTX"
	[ "$status" -eq 1 ]
	[[ "$output" == *"remote sources are not supported"* ]]
}

@test ".dockerignore: excluded files are not copied and do not change the cache key" {
	mkdir -p "$CTX/src" "$CTX/node_modules/pkg" "$CTX/logs/keep"
	echo main >"$CTX/src/main.c"
	echo secret >"$CTX/src/.env"
	echo module >"$CTX/node_modules/pkg/index.js"
	echo l1 >"$CTX/logs/a.log"
	echo kept >"$CTX/logs/keep/b.log"
	printf '# comment\nnode_modules\n**/.env\nlogs\n!logs/keep\nDockerfile\n' >"$CTX/.dockerignore"
	dockerfile 'FROM bb:1
COPY . /app/'
	run petra build -t ign:1 "$CTX"
	[ "$status" -eq 0 ]
	unpack_image ign:1 "$BATS_TEST_TMPDIR/fs"
	local fs="$BATS_TEST_TMPDIR/fs"
	[ "$(cd "$fs/app" && find . | sort | tr '\n' ' ')" = \
		". ./.dockerignore ./logs ./logs/keep ./logs/keep/b.log ./src ./src/main.c " ]
	# A change to an excluded file: every step from the cache.
	echo other-secret >"$CTX/src/.env"
	echo more >"$CTX/node_modules/pkg/index.js"
	run petra build -t ign:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"COPY . /app/  (cached)"* ]]
	# A change to an included one: not.
	echo main2 >"$CTX/src/main.c"
	run petra build -t ign:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" != *"(cached)"* ]]
}

@test "the cache: a rebuild runs nothing and gives the same image; a change reruns exactly the steps after it" {
	echo one >"$CTX/one"
	echo two >"$CTX/two"
	dockerfile 'FROM bb:1
RUN echo first > /first
COPY one /one
RUN cat /one > /one-copy
ARG LEVEL=1
RUN echo "$LEVEL" > /level
COPY two /two
CMD ["cat", "/two"]'
	run petra build -t c:1 "$CTX"
	[ "$status" -eq 0 ]
	local first
	first=$(petra images --format json | jq -r '.[] | select(.name=="c" and .tag=="1") | .digest')
	# Nothing changed (times of files do not count).
	touch -d '2001-01-01' "$CTX/one"
	run petra build -t c:1 "$CTX"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | grep -c '(cached)')" = 5 ]
	[[ "$output" == *"c:1 $first"* ]]
	[ "$(grep -c 'done in' <<<"$output")" = 0 ]
	# The second COPY's source changes: only it runs.
	echo TWO >"$CTX/two"
	run petra build -t c:2 "$CTX"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | grep -c '(cached)')" = 4 ]
	[[ "$output" == *"[7/8] COPY two /two"$'\n'"      done in"* ]]
	# The first COPY's source changes: it and everything after run.
	echo ONE >"$CTX/one"
	run petra build -t c:3 "$CTX"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | grep -c '(cached)')" = 1 ]
	[[ "$output" == *"[2/8] RUN echo first > /first  (cached)"* ]]
	# A build argument the RUN sees changes it.
	run petra build -t c:4 --build-arg LEVEL=2 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"RUN cat /one > /one-copy  (cached)"* ]]
	[[ "$output" != *'RUN echo "$LEVEL" > /level  (cached)'* ]]
	# --no-cache runs everything (and the result is the same content).
	run petra build -t c:5 --no-cache "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" != *"(cached)"* ]]
	unpack_image c:5 "$BATS_TEST_TMPDIR/fs"
	[ "$(cat "$BATS_TEST_TMPDIR/fs/one-copy")" = ONE ]
	[ "$(cat "$BATS_TEST_TMPDIR/fs/level")" = 1 ]
}

@test "a failing RUN stops the build with its status and last output lines; the store is as it was" {
	export PETRA_ROOT="$BATS_TEST_TMPDIR/store"
	make_build_rootfs "$BATS_TEST_TMPDIR/rootfs"
	petra import -q "$BATS_TEST_TMPDIR/rootfs" --ref bb:1 >/dev/null
	dockerfile 'FROM bb:1
RUN echo kept > /kept
RUN for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do echo "line $i"; done; echo oops >&2; exit 3
RUN echo never'
	cp "$PETRA_ROOT/index.json" "$BATS_TEST_TMPDIR/index.before"
	run petra build -t broken:1 "$CTX"
	[ "$status" -eq 1 ]
	[[ "$output" == *"petra: [3/4] RUN for i in"*"exit status 3; the last lines of its output:"* ]]
	# The message holds the last lines only.
	local message=${output##*petra: }
	[[ "$message" == *"| line 20"$'\n'"  | oops"* ]]
	[[ "$message" != *"| line 1"$'\n'* ]]
	[[ "$output" != *"never"* ]]
	cmp "$PETRA_ROOT/index.json" "$BATS_TEST_TMPDIR/index.before"
	assert_build_clean "$PETRA_ROOT"
	run petra fsck
	[ "$status" -eq 0 ]
	# A command that is not there.
	dockerfile 'FROM bb:1
RUN ["/no/such/program"]'
	run petra build -t broken:2 "$CTX"
	[ "$status" -eq 1 ]
	[[ "$output" == *"/no/such/program"* ]]
	cmp "$PETRA_ROOT/index.json" "$BATS_TEST_TMPDIR/index.before"
}

@test "output: numbered steps, durations and layer sizes; --quiet prints only the digest" {
	dockerfile 'FROM bb:1
RUN echo hello from the build
ENV A=1'
	run petra build -t out:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "[1/3] FROM bb:1 ("* ]]
	[ "${lines[1]}" = "[2/3] RUN echo hello from the build" ]
	[ "${lines[2]}" = "      | hello from the build" ]
	[[ "${lines[3]}" =~ ^"      done in "[0-9.]+"s, no changes"$ ]]
	[ "${lines[4]}" = "[3/3] ENV A=1" ]
	[[ "${lines[5]}" =~ ^out:1\ sha256:[0-9a-f]{64}$ ]]
	run --separate-stderr petra build -q -t out:2 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
	[ -z "$stderr" ]
	# A layer's size is shown.
	dockerfile 'FROM bb:1
RUN echo some content > /file'
	run petra build -t out:3 "$CTX"
	[[ "$output" =~ "done in "[0-9.]+"s, layer "[0-9.]+"B" ]]
}

@test "ONBUILD is recorded, then triggered when the image is a base" {
	dockerfile 'FROM bb:1
ONBUILD RUN echo triggered > /onbuild
ONBUILD ENV FROM_TRIGGER=yes
RUN echo parent > /parent'
	run petra build -t parent:1 "$CTX"
	[ "$status" -eq 0 ]
	[ "$(image_config parent:1 | jq -c .OnBuild)" = '["RUN echo triggered > /onbuild","ENV FROM_TRIGGER=yes"]' ]
	unpack_image parent:1 "$BATS_TEST_TMPDIR/p"
	[ ! -e "$BATS_TEST_TMPDIR/p/onbuild" ]
	dockerfile 'FROM parent:1
RUN echo child > /child'
	run petra build -t child:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"ONBUILD RUN echo triggered > /onbuild"* ]]
	unpack_image child:1 "$BATS_TEST_TMPDIR/c"
	[ "$(cat "$BATS_TEST_TMPDIR/c/onbuild")" = triggered ]
	image_config child:1 | jq -e '.Env | index("FROM_TRIGGER=yes")'
	[ "$(image_config child:1 | jq -c .OnBuild)" = null ]
}

@test "ENTRYPOINT clears an inherited CMD; a CMD of the same stage stays" {
	dockerfile 'FROM bb:1
CMD ["base-cmd"]'
	petra build -q -t withcmd:1 "$CTX" >/dev/null
	dockerfile 'FROM withcmd:1
ENTRYPOINT ["/bin/echo"]'
	petra build -q -t ep:1 "$CTX" >/dev/null
	[ "$(image_config ep:1 | jq -c .Cmd)" = null ]
	dockerfile 'FROM withcmd:1
CMD ["mine"]
ENTRYPOINT ["/bin/echo"]'
	petra build -q -t ep:2 "$CTX" >/dev/null
	[ "$(image_config ep:2 | jq -c .Cmd)" = '["mine"]' ]
}

@test "RUN heredocs: a script, a shebang script, heredocs fed to a command" {
	dockerfile 'FROM bb:1
RUN <<EOF
echo from-script > /script
EOF
RUN <<EOF
#!/bin/sh -e
echo "from-shebang $0" > /shebang
EOF
RUN cat <<A > /fed && cat <<-B >> /fed
first
A
	second
	B'
	run petra build -t here:1 "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	unpack_image here:1 "$BATS_TEST_TMPDIR/fs"
	local fs="$BATS_TEST_TMPDIR/fs"
	[ "$(cat "$fs/script")" = from-script ]
	[[ "$(cat "$fs/shebang")" == "from-shebang "* ]]
	[ "$(cat "$fs/fed")" = "first"$'\n'"second" ]
	[ ! -e "$fs/run/petra-heredoc" ]
}

@test "control bytes of a Dockerfile are shown escaped, never sent to the terminal" {
	dockerfile "FROM bb:1
LABEL title=\"bell$(printf '\a')and$(printf '\033')[31mred\"
RUN true 'ok$(printf '\033')]0;owned$(printf '\a')'"
	run petra build -t ctl:1 "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	# No raw ESC or BEL reaches the output...
	! printf '%s' "$output" | grep -q "$(printf '\033')"
	! printf '%s' "$output" | grep -q "$(printf '\a')"
	# ...they are shown as \xNN in the step's line.
	[[ "$output" == *'bell\x07and\x1b[31mred'* ]]
	[[ "$output" == *'ok\x1b]0;owned\x07'* ]]
}
