# Shared helpers for petra's system tests (bats). Every test gets its own
# store in $BATS_TEST_TMPDIR; whatever a test starts, it stops by pid.

: "${PETRA:=$BATS_TEST_DIRNAME/../../build/petra}"
TESTS_DATA="$BATS_TEST_DIRNAME/../data"

petra() {
	"$PETRA" "$@"
}

# A fresh store per test.
petra_setup_store() {
	export PETRA_ROOT="$BATS_TEST_TMPDIR/store"
}

# A minimal busybox root filesystem from Debian's busybox-static: the
# binary, one symlink per applet, /etc/passwd and /etc/group.
make_busybox_rootfs() {
	local dir=$1
	mkdir -p "$dir/bin" "$dir/etc" "$dir/tmp" "$dir/root"
	cp /bin/busybox "$dir/bin/busybox"
	local applet
	for applet in sh ls cat echo true false id env sleep mkdir rm touch wc head \
		sed grep stat ln chmod readlink httpd; do
		ln -sf busybox "$dir/bin/$applet"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' \
		>"$dir/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$dir/etc/group"
	chmod 1777 "$dir/tmp"
}

# One line per entry below DIR: path, type, mode, owner, size, link target,
# and the content's sha256 for regular files. Times are left out: tools
# differ in what they preserve and the OCI spec does not require them.
tree_listing() {
	local dir=$1
	(
		cd "$dir" || exit 1
		find . -mindepth 1 -printf '%p %y %m %U:%G %s %l\n' | LC_ALL=C sort
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
	) | sed -E 's/^(\S+ d \S+ \S+) [0-9]+ /\1 - /'
}

# Fail with a diff unless two trees have the same listing.
assert_same_tree() {
	local a b
	a=$(tree_listing "$1") || return 1
	b=$(tree_listing "$2") || return 1
	if [ "$a" != "$b" ]; then
		diff <(echo "$a") <(echo "$b") | head -n 40 >&2
		return 1
	fi
}

# Start Debian's docker-registry on a free loopback port with a temporary
# storage directory. Sets REGISTRY (host:port) and REGISTRY_PID.
start_registry() {
	local dir="$BATS_TEST_TMPDIR/registry" port try
	mkdir -p "$dir/data"
	for try in 1 2 3 4 5 6 7 8 9 10; do
		port=$((20000 + RANDOM % 20000))
		cat >"$dir/config.yml" <<YAML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
YAML
		docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
		REGISTRY_PID=$!
		local i
		for i in $(seq 1 50); do
			if curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1; then
				REGISTRY="127.0.0.1:$port"
				export REGISTRY REGISTRY_PID
				return 0
			fi
			kill -0 "$REGISTRY_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill "$REGISTRY_PID" 2>/dev/null
		wait "$REGISTRY_PID" 2>/dev/null
	done
	echo "could not start docker-registry: $(cat "$dir/log")" >&2
	return 1
}

stop_registry() {
	if [ -n "${REGISTRY_PID:-}" ]; then
		kill "$REGISTRY_PID" 2>/dev/null
		wait "$REGISTRY_PID" 2>/dev/null
		unset REGISTRY_PID REGISTRY
	fi
}

# The manifest digest of an OCI layout's only (or TAG's) image.
layout_digest() {
	local layout=$1 tag=${2:-}
	if [ -n "$tag" ]; then
		jq -r --arg t "$tag" \
			'.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' \
			"$layout/index.json"
	else
		jq -r '.manifests[0].digest' "$layout/index.json"
	fi
}

# buildah with its own storage under the test's directory.
buildah_isolated() {
	buildah --root "$BATS_TEST_TMPDIR/containers" --runroot "$BATS_TEST_TMPDIR/containers-run" \
		--storage-driver vfs "$@"
}

# Import a busybox rootfs into the store as NAME (default busybox:latest).
import_busybox() {
	local name=${1:-busybox:latest}
	make_busybox_rootfs "$BATS_TEST_TMPDIR/busybox-rootfs"
	petra import -q "$BATS_TEST_TMPDIR/busybox-rootfs" --ref "$name" >/dev/null
}

# Wrap raw layer files into a new OCI layout DIR tagged TAG. Each layer is
# FILE or FILE:MEDIATYPE (tar by default; .gz files are +gzip).
make_layout_with_layers() {
	local dir=$1 tag=$2
	shift 2
	mkdir -p "$dir/blobs/sha256"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
	local layers="" diff_ids="" spec file mt digest diff_id size
	for spec in "$@"; do
		file=${spec%%:*}
		mt=application/vnd.oci.image.layer.v1.tar
		case "$file" in *.gz) mt=$mt+gzip ;; esac
		[ "$spec" != "$file" ] && mt=${spec#*:}
		digest=$(sha256sum "$file" | cut -d' ' -f1)
		case "$mt" in
		*+gzip) diff_id=$(gzip -dc "$file" | sha256sum | cut -d' ' -f1) ;;
		*) diff_id=$digest ;;
		esac
		size=$(stat -c %s "$file")
		cp "$file" "$dir/blobs/sha256/$digest"
		layers="$layers${layers:+,}{\"mediaType\":\"$mt\",\"digest\":\"sha256:$digest\",\"size\":$size}"
		diff_ids="$diff_ids${diff_ids:+,}\"sha256:$diff_id\""
	done
	local config="{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[$diff_ids]}}"
	local cdigest
	cdigest=$(printf '%s' "$config" | sha256sum | cut -d' ' -f1)
	printf '%s' "$config" >"$dir/blobs/sha256/$cdigest"
	local manifest="{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$cdigest\",\"size\":${#config}},\"layers\":[$layers]}"
	local mdigest
	mdigest=$(printf '%s' "$manifest" | sha256sum | cut -d' ' -f1)
	printf '%s' "$manifest" >"$dir/blobs/sha256/$mdigest"
	echo "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:$mdigest\",\"size\":${#manifest},\"annotations\":{\"org.opencontainers.image.ref.name\":\"$tag\"}}]}" >"$dir/index.json"
}
