#!/bin/sh
# The main job, end to end, on examples/: make a busybox base image from
# Debian's busybox-static, import it into a store, look at it, export it
# as an OCI layout and archive that other tools read, unpack it safely,
# build images from it (a Dockerfile, a two-step flow) and verify the
# store; then lint a Dockerfile against a policy and rebase it; then build
# the httpd example, audit it, harden it, audit the result, and serve it
# read-only on loopback. Everything lands in examples/out/.
#   examples/demo.sh [PETRA]
set -eu
PETRA=${1:-$(dirname "$0")/../build/petra}
PETRA=$(cd "$(dirname "$PETRA")" && pwd)/$(basename "$PETRA")
cd "$(dirname "$0")"
OUT=$PWD/out
rm -rf "$OUT"
mkdir -p "$OUT"
export PETRA_ROOT="$OUT/store"
export SOURCE_DATE_EPOCH=1700000000

step() {
	printf '\n\033[1m$ %s\033[0m\n' "$*"
	"$@"
}

busybox/make-rootfs.sh "$OUT/busybox-rootfs"
echo "made a busybox root filesystem in out/busybox-rootfs ($(ls "$OUT/busybox-rootfs/bin" | wc -l) applets)"
petra() { "$PETRA" "$@"; }
step petra import "$OUT/busybox-rootfs" --ref busybox:1.35
step petra images
step petra history busybox:1.35
printf '\n\033[1m$ petra inspect busybox:1.35 | jq ...\033[0m\n'
"$PETRA" inspect busybox:1.35 | jq '.[0] | {name, digest, layers: [.manifest.layers[] | {mediaType, size}], created: .config.created, diff_ids: .config.rootfs.diff_ids}'
step petra export busybox:1.35 "oci:$OUT/layout"
step petra export busybox:1.35 "oci-archive:$OUT/busybox.tar"
if command -v skopeo >/dev/null; then
	printf '\n\033[1m$ skopeo inspect oci:out/layout:1.35 | jq ...\033[0m\n'
	skopeo inspect "oci:$OUT/layout:1.35" | jq '{Digest, Architecture, Os, Layers}'
fi
step petra unpack busybox:1.35 "$OUT/rootfs"
printf '\n\033[1m$ out/rootfs/bin/busybox echo ...\033[0m\n'
"$OUT/rootfs/bin/busybox" echo "the unpacked busybox runs"
# Build: a Dockerfile and its context into an image, no daemon. Twice: the
# second time every step comes from the cache and the digest is the same.
# Then once more without the cache: SOURCE_DATE_EPOCH fixes every time
# stamp, so the digest is still the same, and is on every run of the demo.
step petra build -t web:1 --build-arg SITE_VERSION=1.0 web
step petra build -q -t web:1 --build-arg SITE_VERSION=1.0 web
web_digest=$("$PETRA" inspect web:1 | jq -r '.[0].digest')
printf '\n\033[1m$ petra build -q --no-cache -t web:again --build-arg SITE_VERSION=1.0 web\033[0m\n'
again=$("$PETRA" build -q --no-cache -t web:again --build-arg SITE_VERSION=1.0 web)
echo "$again"
if [ "$again" != "$web_digest" ]; then
	echo "demo: web:1 is $web_digest, rebuilt without the cache $again: not reproducible" >&2
	exit 1
fi
printf '\nReproducible: SOURCE_DATE_EPOCH=%s, so web:1 is %s on every run (from this commit).\n' \
	"$SOURCE_DATE_EPOCH" "$web_digest"
step petra history web:1
printf '\n\033[1m$ petra inspect --manifest web:1 | jq .annotations\033[0m\n'
"$PETRA" inspect --manifest web:1 | jq .annotations
# A flow (Habitus build.yml): build and test in a full image with a secret,
# ship the artifact in an image from scratch.
# Its secret is flow/token.txt, a fake value checked in for the example.
cp -a flow "$OUT/flow"
rm -rf "$OUT/flow/artifacts"
step petra flow "$OUT/flow/build.yml"
step petra run --rm hello
step petra fsck

# Audit and harden: examples/httpd, a busybox httpd whose files belong to
# the user it runs as (httpd/build.sh makes the same image with umoci).
step petra build -t httpd-example:1 httpd
step petra audit --fail-on none httpd-example:1
step petra harden httpd-example:1 -t httpd-example:hardened --writable /tmp:1m
step petra audit httpd-example:hardened
for image in httpd-example:1 httpd-example:hardened; do
	for format in text json sarif; do
		"$PETRA" audit --fail-on none --format "$format" "$image" \
			>"$OUT/audit-$(echo "$image" | tr : -).$format"
	done
done
echo "reports in out/audit-*.{text,json,sarif}"

# Serve the hardened image on loopback, read-only; ask it; try to change
# its configuration from inside.
export PETRA_RUN_DIR="$OUT/run"
port=$((20000 + $$ % 20000))
printf '\n\033[1m$ petra run -d --network host httpd-example:hardened httpd -f -p 127.0.0.1:%s ...\033[0m\n' "$port"
id=$("$PETRA" run -d --network host httpd-example:hardened \
	httpd -f -p "127.0.0.1:$port" -h /srv/www -c /etc/httpd.conf)
echo "$id"
trap '"$PETRA" rm -f "$id" >/dev/null 2>&1 || true' EXIT
i=0
until curl -fsS "http://127.0.0.1:$port/" >/dev/null 2>&1 || [ $i -ge 250 ]; do
	sleep 0.02
	i=$((i + 1))
done
printf '\n\033[1m$ curl http://127.0.0.1:%s/cgi-bin/request?hello=world\033[0m\n' "$port"
curl -fsS "http://127.0.0.1:$port/cgi-bin/request?hello=world" | jq -c .
printf '\n\033[1m$ petra exec %s sh -c "echo x >>/etc/httpd.conf; chmod 666 /etc/httpd.conf"\033[0m\n' "$(echo "$id" | cut -c1-12)"
"$PETRA" exec "$id" sh -c 'echo x >>/etc/httpd.conf; chmod 666 /etc/httpd.conf' || true
step petra rm -f "$id"

# Definitions are source: lint a Dockerfile against the policy, then let the
# policy's rewrite rules update its bases, byte for byte.
cp lint/Dockerfile "$OUT/Dockerfile"
cd "$OUT"
printf '\n\033[1m$ petra lint --policy policy.yaml Dockerfile\033[0m\n'
"$PETRA" lint --policy ../lint/policy.yaml Dockerfile || echo "(exit status $?: findings at or above the threshold)"
printf '\n\033[1m$ petra rebase --policy policy.yaml Dockerfile\033[0m\n'
"$PETRA" rebase --policy ../lint/policy.yaml Dockerfile
printf '\n\033[1m$ petra rebase --write ... && petra lint --format sarif ... | jq ...\033[0m\n'
"$PETRA" rebase --policy ../lint/policy.yaml --write Dockerfile 2>/dev/null
"$PETRA" lint --policy ../lint/policy.yaml --format sarif --failure-threshold none Dockerfile |
	jq -c '.runs[0].results[] | {ruleId, level, line: .locations[0].physicalLocation.region.startLine}'
cd - >/dev/null
