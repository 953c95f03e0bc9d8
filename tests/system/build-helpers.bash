# Helpers for the build tests: base images made once per file, contexts,
# and looking into what a build produced.

load helpers
export PETRA

# The applets the build tests use, on top of make_busybox_rootfs's.
BUILD_APPLETS="test [ printf tr seq cp mv find dd basename dirname tail sort uniq
  expr tar gzip xz date ip md5sum sha256sum cut chown mknod"

# make_build_rootfs DIR: busybox with more applets and the mount points a
# real base has (/proc, /dev, /sys, /run, /etc/hosts, /etc/resolv.conf).
make_build_rootfs() {
	local dir=$1 applet
	make_busybox_rootfs "$dir"
	for applet in $BUILD_APPLETS; do
		ln -sf busybox "$dir/bin/$applet"
	done
	mkdir -p "$dir/proc" "$dir/dev" "$dir/sys" "$dir/run" "$dir/var/tmp" "$dir/home/app"
	: >"$dir/etc/hosts"
	: >"$dir/etc/resolv.conf"
	: >"$dir/etc/hostname"
	echo "welcome" >"$dir/etc/motd"
	printf 'app:x:1000:1000:app:/home/app:/bin/sh\n' >>"$dir/etc/passwd"
	printf 'app:x:1000:\n' >>"$dir/etc/group"
	chown 1000:1000 "$dir/home/app"
}

# A Debian slice: dash, coreutils and what they link, copied from this
# machine (no network to Debian's mirrors), with passwd and group.
make_debian_rootfs() {
	local dir=$1 prog lib path
	mkdir -p "$dir/bin" "$dir/usr/bin" "$dir/etc" "$dir/tmp" "$dir/root" "$dir/proc" \
		"$dir/dev" "$dir/sys" "$dir/run" "$dir/var/lib"
	chmod 1777 "$dir/tmp"
	cp -a /bin/sh /bin/dash "$dir/bin/" 2>/dev/null || cp /bin/dash "$dir/bin/sh"
	for prog in ls cat cp mv rm mkdir rmdir ln chmod chown touch echo id env stat \
		head tail wc sort true false sleep printf test basename dirname readlink \
		sed grep tar gzip; do
		path=$(type -P "$prog") || continue
		cp -L "$path" "$dir/usr/bin/$prog"
		for lib in $(ldd "$path" 2>/dev/null | grep -o '/[^ ]*'); do
			[ -e "$dir$lib" ] && continue
			mkdir -p "$dir$(dirname "$lib")"
			cp -L "$lib" "$dir$lib"
		done
	done
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\napp:x:1000:1000:app:/home/app:/bin/sh\n' \
		>"$dir/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\napp:x:1000:\n' >"$dir/etc/group"
	: >"$dir/etc/hosts"
	: >"$dir/etc/resolv.conf"
	: >"$dir/etc/hostname"
	echo "welcome" >"$dir/etc/motd"
	mkdir -p "$dir/home/app"
	chown 1000:1000 "$dir/home/app"
}

# One store per file with the base images "bb:1" (busybox) and, when
# asked, "deb:1" (the Debian slice).
build_setup_file() {
	export PETRA_ROOT="$BATS_FILE_TMPDIR/store"
	export SOURCE_DATE_EPOCH=
	unset SOURCE_DATE_EPOCH
	make_build_rootfs "$BATS_FILE_TMPDIR/bb-rootfs"
	petra import -q "$BATS_FILE_TMPDIR/bb-rootfs" --ref bb:1 >/dev/null
	if [ "${1:-}" = debian ]; then
		make_debian_rootfs "$BATS_FILE_TMPDIR/deb-rootfs"
		petra import -q "$BATS_FILE_TMPDIR/deb-rootfs" --ref deb:1 >/dev/null
	fi
}

build_setup() {
	export PETRA_ROOT="$BATS_FILE_TMPDIR/store"
	CTX="$BATS_TEST_TMPDIR/ctx"
	mkdir -p "$CTX"
}

# What a build test file does unless it says otherwise (define these
# again after `load build-helpers`).
setup_file() {
	build_setup_file
}

setup() {
	build_setup
}

teardown() {
	assert_build_clean
}

# dockerfile TEXT: write $CTX/Dockerfile.
dockerfile() {
	printf '%s\n' "$1" >"$CTX/Dockerfile"
}

# The image's runtime config (.config) as compact JSON.
image_config() {
	petra inspect --config "$1" | jq -c .config
}

# unpack_image NAME DIR: the image's filesystem.
unpack_image() {
	rm -rf "$2"
	# Exactly the image, setuid bits and all: these tests check what was built.
	petra unpack --keep-setuid "$1" "$2"
}

# No mount of the build left anywhere, nothing left in its scratch space.
assert_build_clean() {
	local root=${1:-$PETRA_ROOT}
	! grep -qF "$root" /proc/self/mountinfo || { echo "mounts left under $root"; return 1; }
	local left
	left=$(find "$root/build/tmp" -mindepth 1 -maxdepth 1 2>/dev/null)
	[ -z "$left" ] || { echo "scratch left: $left"; return 1; }
}
