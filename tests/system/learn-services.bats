#!/usr/bin/env bats
# Real Debian services, built by petra build from Dockerfiles that
# apt-get install them on a debootstrapped bookworm base, learned with
# `run -d --learn` while they serve, saved, then served read-only by
# petra and, with the same label turned into --tmpfs options, by podman.

load runtime-helpers
load debian-helpers
bats_require_minimum_version 1.5.0

setup_file() {
	export PETRA_ROOT="$BATS_FILE_TMPDIR/store"
	local base
	base=$(debian_base_dir)
	petra import -q "$base" --ref debian:bookworm >/dev/null
	# Ports fixed at build time: the services listen on the host's
	# loopback (--network host).
	NGINX_PORT=$(free_port)
	APACHE_PORT=$(free_port)
	while [ "$APACHE_PORT" = "$NGINX_PORT" ]; do APACHE_PORT=$(free_port); done
	export NGINX_PORT APACHE_PORT
	local ctx="$BATS_FILE_TMPDIR/nginx"
	mkdir -p "$ctx"
	cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM debian:bookworm
ARG PORT=8080
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx-light \
 && rm -rf /var/lib/apt/lists/*
RUN sed -i "s/listen 80 default_server;/listen 127.0.0.1:${PORT} default_server;/; /listen \[::\]:80/d" \
      /etc/nginx/sites-available/default \
 && echo "hello from nginx" >/var/www/html/index.html
CMD ["nginx", "-g", "daemon off;"]
DOCKERFILE
	petra build -q --network host --build-arg "PORT=$NGINX_PORT" -t web/nginx:1 "$ctx" >/dev/null
	ctx="$BATS_FILE_TMPDIR/apache2"
	mkdir -p "$ctx"
	cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM debian:bookworm
ARG PORT=8080
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends apache2 \
 && rm -rf /var/lib/apt/lists/*
RUN sed -i "s/^Listen 80$/Listen 127.0.0.1:${PORT}/; /Listen 443/d" /etc/apache2/ports.conf \
 && echo "ServerName localhost" >>/etc/apache2/apache2.conf \
 && echo "hello from apache2" >/var/www/html/index.html
# What apache2ctl does: the run and lock directories, then the server.
CMD ["/bin/sh", "-c", ". /etc/apache2/envvars && mkdir -p \"$APACHE_RUN_DIR\" \"$APACHE_LOCK_DIR\" && exec /usr/sbin/apache2 -D FOREGROUND"]
DOCKERFILE
	petra build -q --network host --build-arg "PORT=$APACHE_PORT" -t web/apache2:1 "$ctx" >/dev/null
}

setup() {
	runtime_setup
}

teardown() {
	runtime_teardown
}

label_of() {
	petra inspect "$1" | jq -r '.[0].config.config.Labels["org.petra.writable-paths"]'
}

# learn_service IMAGE PORT SAVED PAGE: learn IMAGE detached while curl asks
# it for its page (and a missing one), stop it, check what was saved.
learn_service() {
	local image=$1 port=$2 saved=$3 page=$4 id
	id=$(petra run -d --learn --save "$saved" --network host "$image")
	wait_for_http "http://127.0.0.1:$port/"
	[ "$(curl -fsS "http://127.0.0.1:$port/")" = "$page" ]
	run curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/missing"
	[ "$output" = "404" ]
	# Learning goes on while it serves; stopping ends it and saves.
	run petra stop "$id"
	[ "$status" -eq 0 ]
	echo "$output"
	[[ "$output" == *"petra: saved $saved (sha256:"* ]]
}

# serve_read_only IMAGE PORT PAGE CONFIG: IMAGE serves PAGE on a read-only
# root, and its code and configuration cannot be written.
serve_read_only() {
	local image=$1 port=$2 page=$3 config=$4
	petra run -d --name ro --network host "$image" >/dev/null
	wait_for_http "http://127.0.0.1:$port/"
	[ "$(curl -fsS "http://127.0.0.1:$port/")" = "$page" ]
	run petra exec ro sh -c "echo x >>$config"
	[ "$status" -ne 0 ]
	[[ "$output" == *"$config: Read-only file system"* ]]
	run petra exec ro sh -c "echo x >/var/www/html/index.html"
	[[ "$output" == *"Read-only file system"* ]]
	run petra exec ro sh -c "echo x >/usr/sbin/x"
	[[ "$output" == *"Read-only file system"* ]]
	petra stop ro >/dev/null
	petra rm ro >/dev/null
}

@test "nginx on a read-only root without a learned label fails for want of a writable path" {
	run petra run --rm --network host web/nginx:1
	[ "$status" -ne 0 ]
	[[ "$output" == *"Read-only file system"* ]]
}

@test "nginx: learned while it serves, saved, then served read-only" {
	run learn_service web/nginx:1 "$NGINX_PORT" web/nginx:ro "hello from nginx"
	[ "$status" -eq 0 ]
	# The pid file nginx removes at exit is found: /run, whose image content
	# (lock/, mount/) is small, is a copy; /var/lib/nginx is empty in the image.
	[[ "$output" =~ /run\ +[0-9.]+B\ used\ +\(tmpfs\ size\ 1.05MB,\ mode\ 0755,\ uid\ 0,\ copy\ of\ the\ image\'s\ content\) ]]
	[[ "$output" =~ /var/lib/nginx\ + ]]
	[[ "$output" =~ /var/log/nginx\ + ]]
	local label
	label=$(label_of web/nginx:ro)
	[ "$(echo "$label" | jq -r '[.[].path] | join(",")')" = "/run,/var/lib/nginx,/var/log/nginx" ]
	[ "$(echo "$label" | jq -r '.[] | select(.path == "/run") | .copy')" = "true" ]
	run serve_read_only web/nginx:ro "$NGINX_PORT" "hello from nginx" /etc/nginx/nginx.conf
	[ "$status" -eq 0 ]
}

@test "apache2: learned while it serves, saved, then served read-only" {
	run learn_service web/apache2:1 "$APACHE_PORT" web/apache2:ro "hello from apache2"
	[ "$status" -eq 0 ]
	local label
	label=$(label_of web/apache2:ro)
	# Its run directory (made at start, pid file removed at exit), its lock
	# directory (empty in the image) and its logs (a copy: the image has
	# the directory's files).
	[ "$(echo "$label" | jq -r '[.[].path] | join(",")')" = "/run/apache2,/run/lock,/var/log/apache2" ]
	[ "$(echo "$label" | jq -r '.[] | select(.path == "/var/log/apache2") | .copy')" = "true" ]
	[ "$(echo "$label" | jq -r '.[] | select(.path == "/run/lock") | .mode')" = "1777" ]
	run serve_read_only web/apache2:ro "$APACHE_PORT" "hello from apache2" /etc/apache2/apache2.conf
	[ "$status" -eq 0 ]
}

# podman_serve IMAGE PORT PAGE: export IMAGE, copy it into the test's
# podman store ($POD) with skopeo, run it read-only with the label as
# --tmpfs options, ask it for PAGE, try to write its configuration.
podman_serve() {
	local image=$1 port=$2 page=$3
	local name
	name=$(echo "$image" | tr '/:' '--')
	petra export "$image" "oci:$POD/layout:$name"
	skopeo copy -q "oci:$POD/layout:$name" \
		"containers-storage:[vfs@$POD/root+$POD/runroot]localhost/$name:1"
	# The label is the single source of truth: each path a tmpfs with its
	# size and mode, filled with the image's content when "copy". podman
	# has no uid= for a tmpfs: a path of another owner than root is the
	# container user's (U), which is what learn writes for a service's own.
	local -a tmpfs
	mapfile -t tmpfs < <(label_of "$image" | jq -r '.[] |
		"--tmpfs=\(.path):rw,size=\(.size),mode=\(.mode)" +
		(if (.uid // -1) != 0 then ",U" else "" end) +
		(if .copy then ",tmpcopyup" else ",notmpcopyup" end)')
	echo "podman tmpfs: ${tmpfs[*]}"
	"${PODMAN[@]}" run -d -q --name "$name" --network host --read-only --read-only-tmpfs=false \
		--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 "${tmpfs[@]}" \
		"localhost/$name:1" >/dev/null
	local ok=0 wrote=""
	wait_for_http "http://127.0.0.1:$port/" &&
		[ "$(curl -fsS "http://127.0.0.1:$port/")" = "$page" ] && ok=1
	wrote=$("${PODMAN[@]}" exec "$name" sh -c 'echo x >>/etc/passwd' 2>&1) || true
	"${PODMAN[@]}" logs "$name" 2>&1 | tail -n 5
	"${PODMAN[@]}" rm -f -t 2 "$name" >/dev/null 2>&1 || true
	echo "wrote: $wrote"
	[ "$ok" -eq 1 ]
	[[ "$wrote" == *"Read-only file system"* ]]
}

@test "podman serves the learned nginx and apache2 read-only with --tmpfs from the label" {
	# Learned by the tests above, or here when run alone.
	if ! petra inspect web/nginx:ro >/dev/null 2>&1; then
		run learn_service web/nginx:1 "$NGINX_PORT" web/nginx:ro "hello from nginx"
		[ "$status" -eq 0 ]
	fi
	if ! petra inspect web/apache2:ro >/dev/null 2>&1; then
		run learn_service web/apache2:1 "$APACHE_PORT" web/apache2:ro "hello from apache2"
		[ "$status" -eq 0 ]
	fi
	# One podman store for both, reset and removed at the end. Its own
	# tmpdir and file locks: podman's default shared-memory locks and
	# /run/libpod are shared with every other podman on the host.
	POD="/tmp/petra-podman-learn-$$-$RANDOM"
	mkdir -p "$POD"
	printf '[engine]\nlock_type = "file"\n' >"$POD/containers.conf"
	export CONTAINERS_CONF="$POD/containers.conf"
	PODMAN=(podman --root "$POD/root" --runroot "$POD/runroot" --tmpdir "$POD/tmp"
		--storage-driver vfs --events-backend file --runtime runc --cgroup-manager cgroupfs)
	run podman_serve web/nginx:ro "$NGINX_PORT" "hello from nginx"
	local nginx_status=$status nginx_output=$output
	run podman_serve web/apache2:ro "$APACHE_PORT" "hello from apache2"
	local apache_status=$status apache_output=$output
	"${PODMAN[@]}" system reset -f >/dev/null 2>&1 || true
	rm -rf "$POD"
	echo "$nginx_output"
	echo "$apache_output"
	[ "$nginx_status" -eq 0 ]
	[ "$apache_status" -eq 0 ]
}
