#!/bin/sh
# Build the httpd example as its Dockerfile says, one layer per step, with
# petra (export, import) and umoci (the layers): FROM the base image,
# COPY --chown=app, USER, EXPOSE, CMD. The base digest is recorded as a
# manifest annotation, as builders do, so petra knows which layers are
# the base.
#   examples/httpd/build.sh [BASE [NAME]]      (PETRA: the petra binary)
set -eu
PETRA=${PETRA:-petra}
BASE=${1:-busybox:1.35}
NAME=${2:-httpd-example:1}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/petra-httpd-example.XXXXXX)
trap 'rm -rf "$work"' EXIT
layout="$work/layout"
"$PETRA" export "$BASE" "oci:$layout:base"
umoci unpack --image "$layout:base" "$work/bundle" >/dev/null
rootfs="$work/bundle/rootfs"
uid=$(awk -F: '$1 == "app" { print $3 ":" $4 }' "$rootfs/etc/passwd")
[ -n "$uid" ] || { echo "build.sh: the base has no user app" >&2; exit 1; }

repack() {
	umoci repack --refresh-bundle --history.created_by "$1" --image "$layout:$2" \
		"$work/bundle" >/dev/null
}
# COPY --chown=app httpd.conf /etc/httpd.conf
install -m 0644 "$here/httpd.conf" "$rootfs/etc/httpd.conf"
chown "$uid" "$rootfs/etc/httpd.conf"
repack "COPY --chown=app httpd.conf /etc/httpd.conf" 2
# COPY --chown=app www/ /srv/www/
mkdir -p "$rootfs/srv/www"
cp -R "$here/www/." "$rootfs/srv/www/"
chown -R "$uid" "$rootfs/srv/www"
repack "COPY --chown=app www/ /srv/www/" 3
base_digest=$("$PETRA" inspect "$BASE" | jq -r '.[0].digest')
umoci config --image "$layout:3" --tag final --config.user app \
	--config.exposedports 8080/tcp \
	--config.cmd httpd --config.cmd -f --config.cmd -p --config.cmd 8080 \
	--config.cmd -h --config.cmd /srv/www --config.cmd -c --config.cmd /etc/httpd.conf \
	--history.created_by 'USER app; EXPOSE 8080; CMD ["httpd", "-f", "-p", "8080", ...]' \
	--manifest.annotation "org.opencontainers.image.base.digest=$base_digest" \
	--manifest.annotation "org.opencontainers.image.base.name=$BASE" >/dev/null
"$PETRA" import -q "oci:$layout:final" --ref "$NAME" >/dev/null
echo "built $NAME on $BASE"
