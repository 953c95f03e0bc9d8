#!/usr/bin/env bats
# petra deploy compose: read-only services with a tmpfs per writable path,
# numeric user, no capabilities, no new privileges, by digest; valid for
# Debian's docker-compose (config -q needs no engine) and run for real by
# podman-compose.

load runtime-helpers
load kube-helpers
bats_require_minimum_version 1.5.0

EXAMPLES="$BATS_TEST_DIRNAME/../../examples"

setup_file() {
	export PETRA_ROOT="$BATS_FILE_TMPDIR/store"
	"$EXAMPLES/busybox/make-rootfs.sh" "$BATS_FILE_TMPDIR/busybox" >/dev/null
	petra import -q "$BATS_FILE_TMPDIR/busybox" --ref busybox:1.35 >/dev/null
	PETRA=$PETRA "$EXAMPLES/httpd/build.sh" busybox:1.35 localhost/httpd:1 >/dev/null
	petra harden -q localhost/httpd:1 -t localhost/httpd:2 --writable /tmp:1m \
		--writable /var/cache/httpd:2m >/dev/null
}

setup() {
	export PETRA_ROOT="$BATS_FILE_TMPDIR/store"
}

digest_of() {
	petra images --format json |
		jq -r --arg n "$1" '.[] | select(.name + ":" + .tag == $n) | .digest'
}

@test "deploy compose: read_only, tmpfs with uid/mode/size, user, cap_drop, no-new-privileges, by digest" {
	petra deploy compose localhost/httpd:2 -o "$BATS_TEST_TMPDIR/compose.yaml"
	run -0 yaml_to_json "$BATS_TEST_TMPDIR/compose.yaml"
	local s='.[0].services.httpd'
	[ "$(jq -r '.[0] | keys | join(",")' <<<"$output")" = services ]
	[ "$(jq -r "$s.image" <<<"$output")" = "localhost/httpd@$(digest_of localhost/httpd:2)" ]
	[ "$(jq -r "$s.read_only" <<<"$output")" = true ]
	[ "$(jq -r "$s.user" <<<"$output")" = "1000:1000" ]
	[ "$(jq -c "$s.cap_drop" <<<"$output")" = '["ALL"]' ]
	[ "$(jq -c "$s.security_opt" <<<"$output")" = '["no-new-privileges:true"]' ]
	[ "$(jq -c "$s.tmpfs" <<<"$output")" = \
		'["/tmp:mode=0755,uid=1000,gid=1000,size=1048576","/var/cache/httpd:mode=0755,uid=1000,gid=1000,size=2097152"]' ]
	[ "$(jq -c "$s.ports" <<<"$output")" = '["8080"]' ]
	run -0 docker-compose -f "$BATS_TEST_TMPDIR/compose.yaml" config -q
}

@test "deploy compose: several images, the classic version 2 format; docker-compose accepts both and refuses a typo" {
	petra deploy compose --compose-version 2 localhost/httpd:2 localhost/httpd:1 \
		-o "$BATS_TEST_TMPDIR/v2.yaml"
	run -0 yaml_to_json "$BATS_TEST_TMPDIR/v2.yaml"
	[ "$(jq -r '.[0].version' <<<"$output")" = "2.4" ]
	[ "$(jq -r '.[0].services | keys | join(",")' <<<"$output")" = "httpd,httpd-2" ]
	run -0 docker-compose -f "$BATS_TEST_TMPDIR/v2.yaml" config -q
	# The validator is not a yes-machine.
	sed 's/read_only/read_onyl/' "$BATS_TEST_TMPDIR/v2.yaml" >"$BATS_TEST_TMPDIR/typo.yaml"
	run -1 docker-compose -f "$BATS_TEST_TMPDIR/typo.yaml" config -q
	[[ "$output" == *"read_onyl"* ]]
	# A root image is written, with a note.
	run -0 petra deploy compose busybox:1.35 -o "$BATS_TEST_TMPDIR/root.yaml"
	[[ "$output" == *"runs as root"* ]]
}

@test "podman-compose up -d runs it read-only with its tmpfs, and it serves" {
	local p="/tmp/petra-compose-$$-$RANDOM"
	mkdir -p "$p/proj"
	petra export localhost/httpd:2 "oci:$p/layout:2"
	cat >"$p/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
events_logger = "file"
EOF
	# podman-compose calls "podman": this one has the test's own store.
	cat >"$p/podman" <<EOF
#!/bin/sh
exec podman --root $p/root --runroot $p/runroot --storage-driver vfs --events-backend file \
	--runtime runc --cgroup-manager cgroupfs "\$@"
EOF
	chmod +x "$p/podman"
	# podman 4.3 refuses uid= on a tmpfs: --engine podman writes "U".
	petra deploy compose --engine podman localhost/httpd:2 -o "$p/proj/compose.yaml"
	grep -q '/tmp:mode=0755,U,size=1048576' "$p/proj/compose.yaml"
	docker-compose -f "$p/proj/compose.yaml" config -q
	# Every podman step in one private /dev/shm (see kube/private-shm).
	cat >"$p/steps.sh" <<EOF
export CONTAINERS_CONF=$p/containers.conf
P=$p/podman
skopeo copy -q oci:$p/layout:2 "containers-storage:[vfs@$p/root+$p/runroot]localhost/httpd:2" || exit 1
cd $p/proj
podman-compose --podman-path \$P up -d >$p/up.log 2>&1
echo \$? >$p/up.status
grep -q 'exit code: 125' $p/up.log && echo 125 >$p/up.status
port=\$(\$P port proj_httpd_1 8080 | sed 's/.*://')
echo \$port >$p/port
for i in \$(seq 1 250); do
	curl -fsS http://127.0.0.1:\$port/ >$p/page 2>/dev/null && break
	sleep 0.02
done
\$P exec proj_httpd_1 sh -c 'touch /etc/httpd.conf 2>&1; id -u' >$p/ro 2>&1
\$P exec proj_httpd_1 sh -c 'echo ok >/var/cache/httpd/probe && cat /var/cache/httpd/probe; stat -c "%u %a" /tmp' >$p/tmp 2>&1
podman-compose --podman-path \$P down >/dev/null 2>&1
\$P system reset -f >/dev/null 2>&1
EOF
	"$KUBE_TOOLS/private-shm" sh "$p/steps.sh" || true
	local up port page ro tmp
	up=$(cat "$p/up.status" 2>/dev/null || echo none)
	port=$(cat "$p/port" 2>/dev/null)
	page=$(cat "$p/page" 2>/dev/null)
	ro=$(cat "$p/ro" 2>/dev/null)
	tmp=$(cat "$p/tmp" 2>/dev/null)
	tail -n 5 "$p/up.log" 2>/dev/null || true
	rm -rf "$p"
	echo "up: $up; port: $port; page: $page; ro: $ro; tmp: $tmp"
	[ "$up" = 0 ]
	[[ "$page" == *"hello from petra"* ]]
	[[ "$ro" == *"Read-only file system"* ]]
	[[ "$ro" == *1000 ]]
	[ "$tmp" = "ok
1000 755" ]
}
