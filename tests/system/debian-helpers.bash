# A Debian bookworm base for the tests that build real services: made once
# per day and mirror with debootstrap (--variant=minbase) into a fixed cache
# directory, /dev emptied (an image has no device nodes), and imported.

# The mirror apt on this host uses (a deb822 or a one-line sources list).
debian_mirror() {
	local m
	m=$(grep -h '^URIs:' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
		grep -v security | head -n1 | awk '{print $2}')
	[ -n "$m" ] || m=$(grep -h '^deb ' /etc/apt/sources.list 2>/dev/null | grep -v security |
		head -n1 | awk '{print $2}')
	echo "${m:-http://deb.debian.org/debian}"
}

# debian_base_dir: the cached debootstrapped root (made when missing).
debian_base_dir() {
	local mirror key cache
	mirror=$(debian_mirror)
	key="$(date -u +%Y%m%d)-$(echo "$mirror" | md5sum | cut -c1-8)"
	cache="${PETRA_TEST_CACHE:-/var/cache/petra-tests}/bookworm-$key"
	if [ ! -e "$cache.complete" ]; then
		mkdir -p "$(dirname "$cache")"
		# One maker at a time; a half-made root is thrown away.
		(
			flock 9
			if [ ! -e "$cache.complete" ]; then
				rm -rf "$cache.tmp"
				debootstrap --variant=minbase bookworm "$cache.tmp" "$mirror" \
					>"$cache.log" 2>&1 || exit 1
				rm -rf "${cache:?}.tmp/dev"/* "$cache.tmp/var/cache/apt/archives/"*.deb
				rm -rf "$cache"
				mv "$cache.tmp" "$cache"
				touch "$cache.complete"
			fi
		) 9>"$cache.lock" || { cat "$cache.log" >&2; return 1; }
	fi
	echo "$cache"
}
