#!/usr/bin/env bats
# A real Debian nginx, end to end: built by petra build FROM the
# debootstrapped bookworm base (apt-get from Debian's mirror only) to run as
# a non-root USER on a high port, its writable paths learned with
# `petra run --learn --save` while it serves, then `petra deploy
# kubernetes` and `podman kube play` run it read-only with the learned
# emptyDirs, and `petra deploy compose` under `podman-compose up -d`.

load runtime-helpers
load debian-helpers
load kube-helpers
bats_require_minimum_version 1.5.0

setup_file() {
	export PETRA_ROOT="$BATS_FILE_TMPDIR/store"
	local base
	base=$(debian_base_dir)
	petra import -q "$base" --ref debian:bookworm >/dev/null
	# Fixed at build time: learning runs on the host's network, and podman
	# publishes the containerPort as the same host port.
	NGINX_PORT=$(free_port)
	export NGINX_PORT
	local ctx="$BATS_FILE_TMPDIR/nginx"
	mkdir -p "$ctx"
	cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM debian:bookworm
ARG PORT=8080
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx-light \
 && rm -rf /var/lib/apt/lists/*
# Non-root: no user switch, a high port, the pid file in a directory of its
# own under /run and the temp paths (/var/lib/nginx) owned by the service's
# user, so that each is a directory the learned label can give a volume;
# errors to the container's stderr, no access log file.
RUN sed -i -e '/^user /d' -e 's|^pid .*|pid /run/nginx/nginx.pid;|' \
      -e 's|access_log .*|access_log off;|' -e 's|error_log .*|error_log stderr;|' \
      /etc/nginx/nginx.conf \
 && sed -i "s/listen 80 default_server;/listen ${PORT} default_server;/; /listen \[::\]:80/d" \
      /etc/nginx/sites-available/default \
 && install -d -o www-data -g www-data /run/nginx /var/lib/nginx \
 && echo "hello from Debian's nginx" >/var/www/html/index.html
USER www-data
EXPOSE ${PORT}
CMD ["nginx", "-e", "stderr", "-g", "daemon off;"]
DOCKERFILE
	petra build -q --network host --build-arg "PORT=$NGINX_PORT" -t localhost/nginx:1 "$ctx" >/dev/null
}

setup() {
	export PETRA_ROOT="$BATS_FILE_TMPDIR/store"
	runtime_setup
}

teardown() {
	runtime_teardown
}

label_of() {
	petra inspect "$1" | jq -r '.[0].config.config.Labels["org.petra.writable-paths"]'
}

# learn_nginx: learn localhost/nginx:1 while it serves, saved as
# localhost/nginx:ro (once per file).
learn_nginx() {
	petra inspect localhost/nginx:ro >/dev/null 2>&1 && return 0
	local id
	id=$(petra run -d --learn --save localhost/nginx:ro --network host localhost/nginx:1)
	wait_for_http "http://127.0.0.1:$NGINX_PORT/"
	[ "$(curl -fsS "http://127.0.0.1:$NGINX_PORT/")" = "hello from Debian's nginx" ]
	petra stop "$id" >/dev/null
	petra rm "$id" >/dev/null 2>&1 || true
}

# podman_env DIR: a podman of the test's own (store, runtime, cgroup manager,
# the ulimits podman 4.3 needs here) as DIR/podman, CONTAINERS_CONF in
# DIR/containers.conf.
podman_env() {
	local p=$1
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
}

@test "nginx as www-data: --learn finds its pid directory (tmpfs-only) and its temp paths" {
	run -0 learn_nginx
	local label
	label=$(label_of localhost/nginx:ro)
	echo "$label"
	[ "$(jq -r '[.[].path] | join(",")' <<<"$label")" = "/run/nginx,/var/lib/nginx" ]
	# /run's pid file stays in memory; the temp paths may be on disk.
	[ "$(jq -c '[.[] | .memory // false]' <<<"$label")" = '[true,false]' ]
	[ "$(jq -c '[.[].uid] | unique' <<<"$label")" = '[33]' ]
}

@test "podman kube play runs the learned nginx from petra deploy kubernetes read-only with its emptyDirs, and curl gets the page" {
	run -0 learn_nginx
	local p="/tmp/petra-kube-nginx-$$-$RANDOM"
	mkdir -p "$p"
	petra deploy kubernetes localhost/nginx:ro --memory 64m --cpus 0.5 -o "$p/web.yaml"
	run -0 yaml_to_json "$p/web.yaml"
	local j=$output pod='.[1].spec.template.spec'
	[ "$(jq -c "$pod.securityContext | [.runAsNonRoot, .runAsUser, .runAsGroup]" <<<"$j")" = '[true,33,33]' ]
	[ "$(jq -c "[$pod.containers[0].volumeMounts[].mountPath]" <<<"$j")" = '["/run/nginx","/var/lib/nginx"]' ]
	[ "$(jq -c "[$pod.volumes[] | .emptyDir.medium // \"disk\"]" <<<"$j")" = '["Memory","disk"]' ]
	[ "$(jq -r "$pod.containers[0].ports[0].containerPort" <<<"$j")" = "$NGINX_PORT" ]
	run -0 petra kube-lint --failure-threshold info "$p/web.yaml"
	run kube_schema_check "$p/web.yaml"
	[ "$status" -eq 0 ]
	run -0 kube_strict_check "$p/web.yaml"

	petra export localhost/nginx:ro "oci:$p/layout:ro"
	podman_env "$p"
	# Every podman step in one private /dev/shm (see kube/private-shm).
	cat >"$p/steps.sh" <<EOF
export CONTAINERS_CONF=$p/containers.conf
P=$p/podman
skopeo copy -q oci:$p/layout:ro "containers-storage:[vfs@$p/root+$p/runroot]localhost/nginx:ro" || exit 1
\$P kube play $p/web.yaml >$p/play.log 2>&1
echo \$? >$p/play.status
for i in \$(seq 1 500); do
	curl -m 3 -fsS http://127.0.0.1:$NGINX_PORT/ >$p/page 2>/dev/null && break
	sleep 0.02
done
\$P exec nginx-pod-0-nginx sh -c 'touch /etc/nginx/x 2>&1; touch /var/www/html/x 2>&1; id -u; test -s /run/nginx/nginx.pid && echo pid; ls -d /var/lib/nginx/body' >$p/ro 2>&1
\$P logs nginx-pod-0-nginx >$p/logs 2>&1
\$P kube down $p/web.yaml >/dev/null 2>&1
\$P system reset -f >/dev/null 2>&1
EOF
	"$KUBE_TOOLS/private-shm" sh "$p/steps.sh" || true
	local status_play page ro
	status_play=$(cat "$p/play.status" 2>/dev/null || echo none)
	page=$(cat "$p/page" 2>/dev/null || true)
	ro=$(cat "$p/ro" 2>/dev/null || true)
	cat "$p/play.log" "$p/logs" 2>/dev/null || true
	rm -rf "$p"
	echo "play: $status_play; page: $page; ro: $ro"
	[ "$status_play" = 0 ]
	[ "$page" = "hello from Debian's nginx" ]
	# The root (configuration, content) is read-only; nginx runs as
	# www-data and wrote its pid file and temp directories into the
	# emptyDirs. (podman 4.3 backs every emptyDir with disk, medium:
	# Memory or not; a kubelet puts the Memory one on tmpfs.)
	[[ "$ro" == *"/etc/nginx/x': Read-only file system"* ]]
	[[ "$ro" == *"/var/www/html/x': Read-only file system"* ]]
	[[ "$ro" == *$'\n'33$'\n'pid$'\n'/var/lib/nginx/body ]]
}

@test "podman-compose up -d runs the learned nginx from petra deploy compose read-only with its tmpfs, and curl gets the page" {
	run -0 learn_nginx
	local p="/tmp/petra-compose-nginx-$$-$RANDOM"
	mkdir -p "$p/proj"
	petra deploy compose --engine podman localhost/nginx:ro -o "$p/proj/compose.yaml"
	grep -q '/run/nginx:mode=0755,U,size=1048576' "$p/proj/compose.yaml"
	docker-compose -f "$p/proj/compose.yaml" config -q
	petra export localhost/nginx:ro "oci:$p/layout:ro"
	podman_env "$p"
	cat >"$p/steps.sh" <<EOF
export CONTAINERS_CONF=$p/containers.conf
P=$p/podman
skopeo copy -q oci:$p/layout:ro "containers-storage:[vfs@$p/root+$p/runroot]localhost/nginx:ro" || exit 1
cd $p/proj
podman-compose --podman-path \$P up -d >$p/up.log 2>&1
echo \$? >$p/up.status
grep -q 'exit code: 125' $p/up.log && echo 125 >$p/up.status
port=\$(\$P port proj_nginx_1 $NGINX_PORT | sed 's/.*://')
for i in \$(seq 1 500); do
	curl -m 3 -fsS http://127.0.0.1:\$port/ >$p/page 2>/dev/null && break
	sleep 0.02
done
\$P exec proj_nginx_1 sh -c 'touch /etc/nginx/x 2>&1; id -u; test -s /run/nginx/nginx.pid && echo pid; grep " /run/nginx " /proc/self/mounts | cut -d" " -f3' >$p/ro 2>&1
podman-compose --podman-path \$P down >/dev/null 2>&1
\$P system reset -f >/dev/null 2>&1
EOF
	"$KUBE_TOOLS/private-shm" sh "$p/steps.sh" || true
	local up page ro
	up=$(cat "$p/up.status" 2>/dev/null || echo none)
	page=$(cat "$p/page" 2>/dev/null || true)
	ro=$(cat "$p/ro" 2>/dev/null || true)
	tail -n 5 "$p/up.log" 2>/dev/null || true
	rm -rf "$p"
	echo "up: $up; page: $page; ro: $ro"
	[ "$up" = 0 ]
	[ "$page" = "hello from Debian's nginx" ]
	[ "$ro" = "touch: cannot touch '/etc/nginx/x': Read-only file system
33
pid
tmpfs" ]
}
