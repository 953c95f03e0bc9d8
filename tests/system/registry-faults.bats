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
