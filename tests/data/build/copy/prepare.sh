#!/bin/sh
# What git does not keep: modes and an archive.
set -e
chmod 0640 files/b.txt
chmod 0755 scripts/tool.sh
echo hush > secret.key
mkdir -p archive/pkg/bin
echo packed > archive/pkg/bin/packed
chmod 0750 archive/pkg/bin/packed
tar -C archive -czf archive.tar.gz pkg
rm -rf archive
