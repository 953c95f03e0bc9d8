#!/usr/bin/env bats
# A copy path in an image with no shell and no cp (FROM scratch, a static
# server): petra deploy kubernetes makes the copy helper image (the
# image's layers plus one layer with petra's static copier at
# /.petra/copy), names it by digest in the init container, and podman kube
# play fills the emptyDir with it and serves the copied page read-only.

load runtime-helpers
load kube-helpers
bats_require_minimum_version 1.5.0

setup_file() {
	export PETRA_ROOT="$BATS_FILE_TMPDIR/store"
	PORT=$(free_port)
	export PORT
	local ctx="$BATS_FILE_TMPDIR/static"
	mkdir -p "$ctx/www"
	# busybox-static's httpd under a path of its own: the image has no
	# /bin at all, so no cp and no sh.
	cp /bin/busybox "$ctx/httpd"
	echo '<h1>copied by petra-copy</h1>' >"$ctx/www/index.html"
	cat >"$ctx/Dockerfile" <<EOF
FROM scratch
COPY httpd /srv/bin/httpd
COPY www/ /srv/www/
USER 1000:1000
EXPOSE $PORT
LABEL org.petra.writable-paths='[{"path":"/srv/www","size":1048576,"copy":true}]'
CMD ["/srv/bin/httpd", "-f", "-p", "$PORT", "-h", "/srv/www"]
EOF
	petra build -q -t localhost/static:1 "$ctx" >/dev/null
}

setup() {
	export PETRA_ROOT="$BATS_FILE_TMPDIR/store"
}

digest_of() {
	petra images --format json |
		jq -r --arg n "$1" '.[] | select(.name + ":" + .tag == $n) | .digest'
}

@test "no cp in the image: the init container runs petra's copier from the copy helper image, by digest" {
	local d short
	d=$(digest_of localhost/static:1)
	short=${d#sha256:}
	short=${short:0:12}
	run -0 petra deploy kubernetes localhost/static:1 --memory 32m --cpus 0.5 -o "$BATS_TEST_TMPDIR/k.yaml"
	[[ "$output" == *"localhost/static:1 has no cp: its copy paths are filled by the copy helper image localhost/static:petra-copy-$short"* ]]
	local h
	h=$(digest_of "localhost/static:petra-copy-$short")
	[[ "$h" == sha256:* ]]
	[ "$h" != "$d" ]
	run -0 yaml_to_json "$BATS_TEST_TMPDIR/k.yaml"
	local j=$output pod='.[1].spec.template.spec'
	[ "$(jq -r "$pod.containers[0].image" <<<"$j")" = "localhost/static@$d" ]
	[ "$(jq -r "$pod.initContainers[0].image" <<<"$j")" = "localhost/static@$h" ]
	[ "$(jq -c "$pod.initContainers[0].command" <<<"$j")" = '["/.petra/copy","/srv/www","/mnt/petra-copy"]' ]
	[ "$(jq -r "$pod.initContainers[0].securityContext.readOnlyRootFilesystem" <<<"$j")" = true ]
	# The helper shares every layer of the image and adds one: the copier.
	local layers hlayers
	layers=$(petra inspect localhost/static:1 | jq -c '[.[0].manifest.layers[].digest]')
	hlayers=$(petra inspect "localhost/static@$h" | jq -c '[.[0].manifest.layers[].digest]')
	[ "$(jq -c '.[:-1]' <<<"$hlayers")" = "$layers" ]
	[ "$(petra inspect "localhost/static@$h" | jq '.[0].manifest.layers[-1].size')" -lt 1048576 ]
	[ "$(petra inspect "localhost/static@$h" | jq -r '.[0].config.config.User')" = "1000:1000" ]
	# Made again, the same helper (one layer of fixed content and times).
	petra deploy kubernetes localhost/static:1 -o /dev/null 2>/dev/null
	[ "$(digest_of "localhost/static:petra-copy-$short")" = "$h" ]
	# What petra writes passes its own linter, the schema and the strict check.
	run -0 petra kube-lint --failure-threshold info "$BATS_TEST_TMPDIR/k.yaml"
	[ -z "$output" ]
	run kube_schema_check "$BATS_TEST_TMPDIR/k.yaml"
	[ "$status" -eq 0 ]
	run -0 kube_strict_check "$BATS_TEST_TMPDIR/k.yaml"
	# A copier named but not there is an error, not a path left empty.
	PETRA_COPY=/nonexistent run -1 petra deploy kubernetes localhost/static:1 -o /dev/null
	[[ "$output" == *"the copy helper /nonexistent"* ]]
}

@test "podman kube play: the copy helper fills the emptyDir of an image with no shell and no cp, the copied page is served, the root read-only" {
	local p="/tmp/petra-kube-copy-$$-$RANDOM" short
	mkdir -p "$p"
	short=$(digest_of localhost/static:1)
	short=${short#sha256:}
	short=${short:0:12}
	petra deploy kubernetes localhost/static:1 -o "$p/web.yaml" 2>/dev/null
	petra export localhost/static:1 "oci:$p/layout:1"
	petra export "localhost/static:petra-copy-$short" "oci:$p/layout:helper"
	cat >"$p/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
events_logger = "file"
EOF
	cat >"$p/podman" <<EOF
#!/bin/sh
exec podman --root $p/root --runroot $p/runroot --storage-driver vfs --events-backend file \
	--runtime runc --cgroup-manager cgroupfs "\$@"
EOF
	chmod +x "$p/podman"
	# podman 4.3's race removing a finished "once" init container (see
	# deploy.bats): the "always" type, on the Deployment's own metadata.
	# podman then runs the copy on every start of the pod, which the copier
	# allows (it overwrites, as cp does).
	/usr/bin/python3 -c 'import sys, yaml
docs = list(yaml.safe_load_all(open(sys.argv[1])))
for d in docs:
    if d and d["kind"] == "Deployment":
        d["metadata"].setdefault("annotations", {})["io.podman.annotations.init.container.type"] = "always"
yaml.safe_dump_all(docs, open(sys.argv[1], "w"))' "$p/web.yaml"
	cat >"$p/steps.sh" <<EOF
export CONTAINERS_CONF=$p/containers.conf
P=$p/podman
skopeo copy -q oci:$p/layout:1 "containers-storage:[vfs@$p/root+$p/runroot]localhost/static:1" || exit 1
skopeo copy -q oci:$p/layout:helper "containers-storage:[vfs@$p/root+$p/runroot]localhost/static:petra-copy-$short" || exit 1
for try in 1 2 3; do
	\$P kube play $p/web.yaml >$p/play.log 2>&1
	echo \$? >$p/play.status
	grep -q 'failed to remove once init container' $p/play.log || break
	\$P kube down $p/web.yaml >/dev/null 2>&1
done
for i in \$(seq 1 300); do
	curl -m 3 -fsS http://127.0.0.1:$PORT/ >$p/page 2>/dev/null && break
	sleep 0.05
done
\$P ps -a >>$p/play.log 2>&1
\$P inspect static-pod-0-copy-w0-srv-www --format '{{.State.ExitCode}}' >$p/copy 2>&1
\$P logs static-pod-0-copy-w0-srv-www >>$p/copy 2>&1
\$P inspect static-pod-0-static --format '{{.HostConfig.ReadonlyRootfs}} {{.Config.User}}' >$p/ro 2>&1
\$P kube down $p/web.yaml >/dev/null 2>&1
\$P system reset -f >/dev/null 2>&1
EOF
	"$KUBE_TOOLS/private-shm" sh "$p/steps.sh" || true
	local status_play page copy ro
	status_play=$(cat "$p/play.status" 2>/dev/null || echo none)
	page=$(cat "$p/page" 2>/dev/null || true)
	copy=$(cat "$p/copy" 2>/dev/null || true)
	ro=$(cat "$p/ro" 2>/dev/null || true)
	cat "$p/play.log" 2>/dev/null || true
	rm -rf "$p"
	echo "play: $status_play; page: $page; copy: $copy; ro: $ro"
	[ "$status_play" = 0 ]
	# The copier ran in the image's root, and said nothing.
	[ "$copy" = 0 ]
	[ "$page" = "<h1>copied by petra-copy</h1>" ]
	[ "$ro" = "true 1000:1000" ]
}
