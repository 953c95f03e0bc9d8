#!/usr/bin/env bats
# A proxy in front of the registry that corrupts a byte, drops the
# connection half way through a blob, or answers 500 once; and
# registries.conf (mirrors, blocked, insecure).

load helpers
load registry-helpers

setup() {
	petra_setup_store
	export CONTAINERS_REGISTRIES_CONF="$BATS_TEST_TMPDIR/registries.conf"
	: >"$CONTAINERS_REGISTRIES_CONF"
	start_registry_with
	make_two_layer_image app:1 256
	petra push -q --tls-verify=false app:1 "$REG/app:1" >/dev/null
	export PETRA_ROOT="$BATS_TEST_TMPDIR/pulled"
}

teardown() {
	registry_teardown
}

no_temp_files() {
	[ -z "$(find "$PETRA_ROOT" -name '.tmp-*' 2>/dev/null)" ]
}

@test "a corrupted byte fails the pull naming the blob; nothing of it is stored" {
	start_fault_proxy corrupt
	run petra pull --tls-verify=false "$PROXY/app:1"
	[ "$status" -eq 1 ]
	grep -q 'fault corrupt' "$PROXY_LOG"
	echo "$output"
	[[ "${lines[-1]}" =~ ^petra:\ pull\ $PROXY/app:1:\ blob\ (sha256:[0-9a-f]{64}):\ .*corrupt ]]
	local blob=${BASH_REMATCH[1]}
	PETRA_ROOT="$BATS_TEST_TMPDIR/store" petra inspect --manifest app:1 | jq -e --arg b "$blob" '.layers[] | select(.digest == $b)'
	[ ! -e "$PETRA_ROOT/blobs/sha256/${blob#sha256:}" ]
	no_temp_files
	petra fsck
	# Without the fault the same pull succeeds.
	run petra pull --tls-verify=false "$REG/app:1"
	[ "$status" -eq 0 ]
	petra fsck
}

@test "a connection dropped mid-blob resumes with a Range request" {
	start_fault_proxy drop
	run petra pull --tls-verify=false "$PROXY/app:1"
	[ "$status" -eq 0 ]
	grep -q 'fault drop' "$PROXY_LOG"
	grep -q '^GET /v2/app/blobs/sha256:[0-9a-f]* bytes=[1-9][0-9]*- 206' "$PROXY_LOG"
	petra fsck
	no_temp_files
}

@test "a 500 once is retried" {
	start_fault_proxy error500
	run petra pull --tls-verify=false "$PROXY/app:1"
	[ "$status" -eq 0 ]
	grep -q 'fault 500' "$PROXY_LOG"
	petra fsck
}

@test "registries.conf: a mirror is tried first, a blocked prefix refused, insecure allows http" {
	start_fault_proxy none
	cat >"$CONTAINERS_REGISTRIES_CONF" <<EOF2
# A comment, and keys petra does not use.
unqualified-search-registries = ["docker.io",
  "quay.io"]
[[registry]]
prefix = "example.test/team"
location = "$REG"
insecure = true
[[registry.mirror]]
location = "$PROXY"
insecure = true

[[registry]]
prefix = "$REG/secret"
blocked = true

[aliases]
"x" = "y"
EOF2
	run petra pull -q "example.test/team/app:1"
	[ "$status" -eq 0 ]
	grep -q '^GET /v2/app/manifests/1' "$PROXY_LOG"
	[ "$(petra images --format json | jq -r '.[0].name')" = example.test/team/app ]
	petra fsck
	run petra pull --tls-verify=false "$REG/secret/app:1"
	[ "$status" -eq 1 ]
	[[ "$output" == *"blocked in registries.conf"* ]]
	printf '[[registry]]\nprefix = "broken\n' >"$CONTAINERS_REGISTRIES_CONF"
	run petra pull --tls-verify=false "$REG/app:1"
	[ "$status" -eq 1 ]
	[[ "$output" == *"registries.conf:2: "* ]]
}

@test "a pull killed mid-blob resumes from the bytes it kept; a killed push leaves both sides consistent" {
	PETRA_ROOT="$BATS_TEST_TMPDIR/store" make_two_layer_image big:1 4096
	PETRA_ROOT="$BATS_TEST_TMPDIR/store" petra push -q --tls-verify=false big:1 "$REG/big:1" >/dev/null
	start_fault_proxy slow
	"$PETRA" pull -q --tls-verify=false "$PROXY/big:1" >"$BATS_TEST_TMPDIR/pull.out" 2>&1 &
	local pid=$! i
	for i in $(seq 1 100); do
		grep -q 'fault slow' "$PROXY_LOG" && break
		sleep 0.1
	done
	sleep 1
	kill -9 "$pid"
	wait "$pid" || true
	local partial size
	partial=$(find "$PETRA_ROOT/blobs/sha256" -name '.partial-*' | head -1)
	[ -n "$partial" ]
	size=$(stat -c %s "$partial")
	[ "$size" -gt 0 ]
	# Again through a proxy without faults: a Range request from what was kept.
	kill "$PROXY_PID"
	wait "$PROXY_PID" 2>/dev/null || true
	start_fault_proxy none
	run petra pull -q --tls-verify=false "$PROXY/big:1"
	[ "$status" -eq 0 ]
	grep -q "^GET /v2/big/blobs/sha256:${partial##*.partial-} bytes=$size- 206" "$PROXY_LOG"
	petra fsck
	no_temp_files
	[ "$output" = "$(PETRA_ROOT="$BATS_TEST_TMPDIR/store" petra images --format json | jq -r '.[] | select(.name == "big") | .digest')" ]

	# A push killed in the middle of its chunks: a second push completes
	# and skopeo copies the image.
	export PETRA_ROOT="$BATS_TEST_TMPDIR/store"
	make_two_layer_image huge:1 16384
	"$PETRA" push -q --tls-verify=false --jobs 1 --chunk-size 4k huge:1 "$REG/killed:1" >/dev/null 2>&1 &
	pid=$!
	for i in $(seq 1 200); do
		[ "$(grep -c '"PATCH /v2/killed/' "$REG_LOG")" -ge 3 ] && break
		sleep 0.05
	done
	kill -9 "$pid"
	wait "$pid" || true
	run skopeo inspect --tls-verify=false "docker://$REG/killed:1"
	[ "$status" -ne 0 ]
	run petra push -q --tls-verify=false huge:1 "$REG/killed:1"
	[ "$status" -eq 0 ]
	skopeo copy -q --src-tls-verify=false "docker://$REG/killed:1" "oci:$BATS_TEST_TMPDIR/sk:1"
	[ "$(layout_digest "$BATS_TEST_TMPDIR/sk" 1)" = "$output" ]
	petra fsck
}
