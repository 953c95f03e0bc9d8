#!/bin/sh
# Make a minimal busybox root filesystem from Debian's busybox-static:
# the static binary, a symlink per applet, /etc/passwd and /etc/group with
# an unprivileged user, and a sticky /tmp.
#   examples/busybox/make-rootfs.sh DIR
set -eu
dir=$1
rm -rf "$dir"
mkdir -p "$dir/bin" "$dir/etc" "$dir/tmp" "$dir/root" "$dir/home/app" "$dir/var/www"
cp /bin/busybox "$dir/bin/busybox"
for applet in $("$dir/bin/busybox" --list); do
	[ "$applet" = busybox ] || ln -s busybox "$dir/bin/$applet"
done
cat >"$dir/etc/passwd" <<PASSWD
root:x:0:0:root:/root:/bin/sh
app:x:1000:1000:app:/home/app:/bin/sh
nobody:x:65534:65534:nobody:/:/bin/false
PASSWD
cat >"$dir/etc/group" <<GROUP
root:x:0:
app:x:1000:
nogroup:x:65534:
GROUP
echo '<h1>hello from petra</h1>' >"$dir/var/www/index.html"
chmod 1777 "$dir/tmp"
