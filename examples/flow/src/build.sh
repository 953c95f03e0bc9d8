#!/bin/sh
# Assemble the runtime tree: the static shell, the app, its version.
# With a Go or C toolchain image this is where `go build` or `cc` runs.
set -eu
version=$1 root=$2
mkdir -p "$root/bin" "$root/app"
cp /bin/busybox "$root/bin/busybox"
for applet in sh cat echo uname; do
	ln -s busybox "$root/bin/$applet"
done
cp hello.sh "$root/app/hello.sh"
echo "$version" > "$root/app/VERSION"
