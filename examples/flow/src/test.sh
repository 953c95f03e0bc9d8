#!/bin/sh
# Test the runtime tree before it ships.
set -eu
root=$1
out=$(chroot "$root" /bin/sh /app/hello.sh 2>/dev/null || PATH=$root/bin sh "$root/app/hello.sh")
case "$out" in
"hello from "*) echo "test passed: $out" ;;
*) echo "test failed: $out" >&2; exit 1 ;;
esac
