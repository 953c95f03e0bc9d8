#!/usr/bin/env bats
# petra build: reproducibility, provenance, the build record, compression,
# --link, the copy fallback, proxy arguments.

load build-helpers
bats_require_minimum_version 1.5.0

REPRO_DOCKERFILE='FROM bb:1 AS build
ARG NAME=app
WORKDIR /src
COPY . .
RUN mkdir -p /out && cat main.txt > /out/$NAME && touch /out/stamp && echo built > /out/built
FROM bb:1
ENV MODE=prod
COPY --from=build /out /opt/app
RUN ln -s /opt/app/app /opt/app-link && rm /etc/hostname
CMD ["/opt/app/app"]'

@test "with a source date epoch two builds on two machines give the same digest" {
	# Two contexts (other paths, other file times), two stores (two
	# machines), built a second apart.
	local ctx1="$BATS_TEST_TMPDIR/one/ctx" ctx2="$BATS_TEST_TMPDIR/two/elsewhere"
	mkdir -p "$ctx1" "$ctx2"
	echo main >"$ctx1/main.txt"
	printf '%s\n' "$REPRO_DOCKERFILE" >"$ctx1/Dockerfile"
	cp "$ctx1/main.txt" "$ctx1/Dockerfile" "$ctx2/"
	touch -d '2020-05-05 12:00' "$ctx2/main.txt"
	local s2="$BATS_TEST_TMPDIR/store2"
	PETRA_ROOT=$s2 petra import -q "$BATS_FILE_TMPDIR/bb-rootfs" --ref bb:1 >/dev/null
	# The base must be the same too: import it reproducibly into both.
	export SOURCE_DATE_EPOCH=1700000000
	local base1 base2
	base1=$(petra import -q "$BATS_FILE_TMPDIR/bb-rootfs" --ref bb:repro)
	base2=$(PETRA_ROOT=$s2 petra import -q "$BATS_FILE_TMPDIR/bb-rootfs" --ref bb:repro)
	[ "$base1" = "$base2" ]
	sed -i 's/FROM bb:1/FROM bb:repro/' "$ctx1/Dockerfile" "$ctx2/Dockerfile"
	local d1 d2
	d1=$(petra build -q -t repro:1 "$ctx1")
	sleep 1
	d2=$(PETRA_ROOT=$s2 petra build -q -t repro:1 "$ctx2")
	[ "$d1" = "$d2" ]
	[ "$(petra inspect --config repro:1 | jq -r '[.created, .history[].created] | unique | join(",")')" = \
		2023-11-14T22:13:20Z ]
	# Even without the cache, and with the flag instead of the variable.
	unset SOURCE_DATE_EPOCH
	local d3
	d3=$(petra build -q --no-cache --source-date-epoch 1700000000 -t repro:2 "$ctx1")
	[ "$d3" = "$d1" ]
	# Without an epoch, times are the build's.
	local d4
	d4=$(petra build -q --no-cache -t repro:3 "$ctx1")
	[ "$d4" != "$d1" ]
}

@test "provenance: base and creation annotations, git origin and revision, dirty trees marked" {
	echo v1 >"$CTX/app.txt"
	dockerfile 'FROM bb:1
COPY app.txt /'
	git -C "$CTX" init -q
	git -C "$CTX" config user.email t@example.com
	git -C "$CTX" config user.name t
	git -C "$CTX" remote add origin https://ci-user:hunter2-token@git.example.com/org/app.git
	git -C "$CTX" add -A
	git -C "$CTX" commit -qm one
	local head
	head=$(git -C "$CTX" rev-parse HEAD)
	petra build -q -t prov:1 "$CTX" >/dev/null
	local ann
	ann=$(petra inspect --manifest prov:1 | jq -c .annotations)
	# As buildah names a local image (lineage-records.bats compares).
	[ "$(echo "$ann" | jq -r '.["org.opencontainers.image.base.name"]')" = localhost/bb:1 ]
	[ "$(echo "$ann" | jq -r '.["org.opencontainers.image.base.digest"]')" = \
		"$(petra images --format json | jq -r '.[] | select(.name=="bb" and .tag=="1") | .digest')" ]
	[ "$(echo "$ann" | jq -r '.["org.opencontainers.image.created"]')" = \
		"$(petra inspect --config prov:1 | jq -r .created)" ]
	# The origin without its credentials.
	[ "$(echo "$ann" | jq -r '.["org.opencontainers.image.source"]')" = \
		https://git.example.com/org/app.git ]
	! grep -rqF hunter2-token "$PETRA_ROOT"
	[ "$(echo "$ann" | jq -r '.["org.opencontainers.image.revision"]')" = "$head" ]
	revision() {
		petra build -q -t "prov:$1" "$CTX" >/dev/null
		petra inspect --manifest "prov:$1" | jq -r '.annotations["org.opencontainers.image.revision"]'
	}
	# An untracked file does not make it dirty; a changed tracked file
	# does, staged or not; a commit makes it clean again.
	echo scratch >"$CTX/untracked"
	[ "$(revision 2)" = "$head" ]
	echo v2 >"$CTX/app.txt"
	[ "$(revision 3)" = "$head-dirty" ]
	git -C "$CTX" add app.txt
	[ "$(revision 4)" = "$head-dirty" ]
	git -C "$CTX" commit -qm two
	head=$(git -C "$CTX" rev-parse HEAD)
	[ "$(revision 5)" = "$head" ]
	# Packed refs and objects are read too.
	git -C "$CTX" gc -q
	[ ! -e "$CTX/.git/refs/heads/master" ]
	[ ! -e "$CTX/.git/refs/heads/main" ]
	[ "$(revision 6)" = "$head" ]
	echo v3 >"$CTX/app.txt"
	[ "$(revision 7)" = "$head-dirty" ]
	# A linked worktree (.git is a file).
	git -C "$CTX" checkout -q app.txt
	git -C "$CTX" worktree add -q "$BATS_TEST_TMPDIR/wt" 2>/dev/null
	petra build -q -t prov:8 "$BATS_TEST_TMPDIR/wt" >/dev/null
	[ "$(petra inspect --manifest prov:8 | jq -r '.annotations["org.opencontainers.image.revision"]')" = "$head" ]
}

@test "the build record is kept as a referrer of the image" {
	echo x >"$CTX/x"
	dockerfile 'FROM bb:1 AS one
ARG FLAVOUR
COPY x /
FROM one'
	petra build -q -t rec:1 -t rec:latest --target one --build-arg FLAVOUR=mint \
		--secret "id=s,src=$CTX/x" "$CTX" >/dev/null
	local rec ext='.predicate.buildDefinition.externalParameters'
	rec=$(petra inspect --record rec:1)
	[ "$(echo "$rec" | jq -r "$ext.context.directory")" = "$(realpath "$CTX")" ]
	[ "$(echo "$rec" | jq -r "$ext.dockerfile.path")" = "$(realpath "$CTX")/Dockerfile" ]
	[ "$(echo "$rec" | jq -r "$ext.dockerfile.digest.sha256")" = "$(sha256sum "$CTX/Dockerfile" | cut -d' ' -f1)" ]
	[ "$(echo "$rec" | jq -r "$ext.target")" = one ]
	[ "$(echo "$rec" | jq -c "$ext.buildArgs")" = '{"FLAVOUR":"mint"}' ]
	[ "$(echo "$rec" | jq -c "$ext.parameters.secrets")" = '["s"]' ]
	# Both names are the same image: the same record.
	[ "$(petra inspect --record rec:latest)" = "$rec" ]
}

@test "--compress zstd and none make layers of those media types" {
	dockerfile 'FROM bb:1
RUN echo zz > /zz'
	petra build -q --compress zstd -t comp:zstd "$CTX" >/dev/null
	petra build -q --compress none -t comp:none "$CTX" >/dev/null
	[ "$(petra inspect --manifest comp:zstd | jq -r '.layers[1].mediaType')" = application/vnd.oci.image.layer.v1.tar+zstd ]
	[ "$(petra inspect --manifest comp:none | jq -r '.layers[1].mediaType')" = application/vnd.oci.image.layer.v1.tar ]
	unpack_image comp:zstd "$BATS_TEST_TMPDIR/fs"
	[ "$(cat "$BATS_TEST_TMPDIR/fs/zz")" = zz ]
}

@test "COPY --link makes a layer independent of what is below it" {
	echo linked >"$CTX/l"
	dockerfile 'FROM bb:1
ARG V=1
RUN echo $V > /v
COPY --link l /opt/l'
	petra build -q -t link:1 "$CTX" >/dev/null
	petra build -q -t link:2 --build-arg V=2 "$CTX" >/dev/null
	# The linked layer is the same blob over both parents.
	[ "$(petra inspect --manifest link:1 | jq -r '.layers[-1].digest')" = \
		"$(petra inspect --manifest link:2 | jq -r '.layers[-1].digest')" ]
	unpack_image link:2 "$BATS_TEST_TMPDIR/fs"
	[ "$(cat "$BATS_TEST_TMPDIR/fs/opt/l")" = linked ]
	[ "$(cat "$BATS_TEST_TMPDIR/fs/v")" = 2 ]
}

@test "the copy fallback gives the same filesystem as overlayfs" {
	mkdir -p "$CTX/d"
	echo a >"$CTX/d/a"
	dockerfile 'FROM bb:1
COPY d /srv/d
RUN rm -f /etc/hostname && rm -rf /home/app && mkdir /home/app2 && echo x > /srv/d/a \
 && chmod 700 /srv && ln -s /srv/d /d-link && rm /bin/seq
RUN mkdir -p /var/tmp && rm -rf /var/tmp && echo file > /var/tmp
RUN --mount=type=tmpfs,target=/mnt/deep/scratch mkdir -p /x/y/z && echo h > /x/y/z/f \
 && ln /x/y/z/f /x/y/z/hl && mkdir /srv/d/sub && echo s > /srv/d/sub/s
RUN rm -rf /x/y && mkdir /x/y && echo g > /x/y/g && rm -rf /srv/d/sub
WORKDIR /made/by/workdir'
	petra build -q --snapshot overlay -t snap:overlay "$CTX" >/dev/null
	run petra build --no-cache --snapshot copy -t snap:copy "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" != *"(cached)"* ]]
	unpack_image snap:overlay "$BATS_TEST_TMPDIR/a"
	unpack_image snap:copy "$BATS_TEST_TMPDIR/b"
	assert_same_tree "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	[ ! -e "$BATS_TEST_TMPDIR/b/etc/hostname" ]
	[ ! -e "$BATS_TEST_TMPDIR/b/bin/seq" ]
	[ "$(cat "$BATS_TEST_TMPDIR/b/var/tmp")" = file ]
	# The mount target's stub directories are in no layer; what a later
	# step removed is gone.
	[ ! -e "$BATS_TEST_TMPDIR/b/mnt" ]
	[ ! -e "$BATS_TEST_TMPDIR/b/x/y/z" ]
	[ ! -e "$BATS_TEST_TMPDIR/b/srv/d/sub" ]
	[ "$(cat "$BATS_TEST_TMPDIR/b/x/y/g")" = g ]
	# Squashing over the copy fallback gives that filesystem too.
	run petra build --no-cache --snapshot copy --squash -t snap:squashed "$CTX"
	[ "$status" -eq 0 ]
	[ "$(petra inspect --manifest snap:squashed | jq '.layers | length')" = 2 ]
	unpack_image snap:squashed "$BATS_TEST_TMPDIR/c"
	assert_same_tree "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/c"
}

@test "where overlayfs cannot be mounted the build says so once and copies" {
	# A store on an overlayfs: overlayfs cannot use it as an upper
	# directory. All in a private mount namespace that goes with the
	# command.
	local o="$BATS_TEST_TMPDIR/ovl"
	mkdir -p "$o/lower" "$o/upper" "$o/work" "$o/mnt"
	echo f >"$CTX/f"
	dockerfile 'FROM bb:1
COPY f /f
RUN echo one > /one
RUN echo two > /two'
	run unshare -m sh -c "mount -t overlay overlay -o lowerdir=$o/lower,upperdir=$o/upper,workdir=$o/work $o/mnt &&
		export PETRA_ROOT=$o/mnt/store &&
		$PETRA import -q $BATS_FILE_TMPDIR/bb-rootfs --ref bb:1 >/dev/null &&
		$PETRA build -t fallback:1 $CTX && $PETRA unpack fallback:1 $BATS_TEST_TMPDIR/fs"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'overlayfs cannot be mounted here' <<<"$output")" = 1 ]
	[ "$(cat "$BATS_TEST_TMPDIR/fs/one" "$BATS_TEST_TMPDIR/fs/two" "$BATS_TEST_TMPDIR/fs/f")" = "one"$'\n'"two"$'\n'"f" ]
	# --snapshot overlay refuses instead.
	run unshare -m sh -c "mount -t overlay overlay -o lowerdir=$o/lower,upperdir=$o/upper,workdir=$o/work $o/mnt &&
		PETRA_ROOT=$o/mnt/store $PETRA build --no-cache --snapshot overlay $CTX"
	[ "$status" -eq 1 ]
}

@test "proxy variables given as build arguments reach RUN without an ARG and stay out of the history" {
	dockerfile 'FROM bb:1
RUN echo "$http_proxy" > /proxy'
	petra build -q -t proxy:1 --build-arg http_proxy=http://proxy.example:3128 "$CTX" >/dev/null
	unpack_image proxy:1 "$BATS_TEST_TMPDIR/fs"
	[ "$(cat "$BATS_TEST_TMPDIR/fs/proxy")" = http://proxy.example:3128 ]
	! petra inspect --config proxy:1 | grep -q proxy.example
}
