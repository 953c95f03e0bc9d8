#!/usr/bin/env bats
# petra harden: the result passes petra audit (no immutability or leak
# findings), holds nothing that was deleted, and still runs under petra
# run, runc (petra bundle) and podman.

load layer-helpers
bats_require_minimum_version 1.5.0

GH_TOKEN=ghp_0123456789abcdefghijABCDEFGHIJ012345

setup_file() {
	export PETRA_ROOT="$BATS_FILE_TMPDIR/store"
	BATS_TEST_TMPDIR=$BATS_FILE_TMPDIR
	local l="$BATS_FILE_TMPDIR/layout"
	layered_start "$l"
	layer "$l" "COPY . /app" sh -c \
		"mkdir -p app/data && echo 'GITHUB_TOKEN=$GH_TOKEN' >app/.env && printf '#!/bin/sh\necho app ok\nid -u\n' >app/run && chmod 775 app/run && chown -R 65534:65534 app && chmod 777 app/data"
	layer "$l" "RUN --mount=secret rm /app/.env # token $GH_TOKEN" rm app/.env
	layered_finish "$l" app:1 --config.user nobody --config.cmd /app/run
	petra harden app:1 -t app:hard --writable /app/data:1m --writable /tmp:1m >/dev/null
}

setup() {
	export PETRA_ROOT="$BATS_FILE_TMPDIR/store"
	export PETRA_RUN_DIR="$BATS_TEST_TMPDIR/run"
}

teardown() {
	runtime_teardown
}

@test "the input has leaks and mutable files; the hardened image has neither" {
	local before after
	before=$(audit_json app:1)
	[ "$(echo "$before" | jq '[.findings[] | select(.category == "immutability")] | length')" -gt 0 ]
	[ "$(findings "$before" leak-sensitive-file | wc -l)" -eq 1 ]
	after=$(audit_json app:hard)
	echo "$after" | jq -c '.findings[]'
	[ "$(echo "$after" | jq '[.findings[] | select(.category == "immutability" or .id == "leak-sensitive-file")] | length')" -eq 0 ]
	# What the result hides is the base's setuid probe, corrected on top
	# of the shared base layer: the same bytes, root's and without the bit.
	[ "$(echo "$after" | jq -r .hidden.files)" = "1" ]
	[ "$(echo "$after" | jq -r .hidden.bytes)" = "$(stat -c %s "$BATS_FILE_TMPDIR/base-rootfs/bin/euid")" ]
	run petra audit app:hard
	[ "$status" -eq 0 ]
	# The token is in no layer of the result and in no history step.
	[ "$(image_layer_bytes app:1 | grep -c "$GH_TOKEN")" -ge 1 ]
	[ "$(image_layer_bytes app:hard | grep -c "$GH_TOKEN")" -eq 0 ]
	! petra inspect app:hard | grep -q "$GH_TOKEN"
	# The input is untouched.
	[ "$(petra inspect app:1 | jq -r '.[0].digest')" = "$(echo "$before" | jq -r .digest)" ]
}

@test "the result: base shared, one honest step, numeric user, labels that trace it" {
	local cfg
	cfg=$(petra inspect app:hard | jq '.[0].config')
	[ "$(petra inspect app:hard | jq -r '.[0].manifest.layers[0].digest')" = \
		"$(petra inspect base:1 | jq -r '.[0].manifest.layers[0].digest')" ]
	[ "$(petra inspect app:hard | jq '.[0].manifest.layers | length')" = "2" ]
	[ "$(echo "$cfg" | jq -r '.history[-1].created_by')" = "petra harden: squashed 2 layers" ]
	[ "$(echo "$cfg" | jq -r '.history[0].created_by')" = "petra import base-rootfs" ]
	[ "$(echo "$cfg" | jq '.history | length')" = "2" ]
	[ "$(echo "$cfg" | jq -r .config.User)" = "65534:65534" ]
	local labels
	labels=$(echo "$cfg" | jq .config.Labels)
	[ "$(echo "$labels" | jq -r '."org.petra.hardened.from"')" = "$(petra inspect app:1 | jq -r '.[0].digest')" ]
	[ "$(echo "$labels" | jq -r '."org.petra.hardened.base"')" = "$(petra inspect base:1 | jq -r '.[0].digest')" ]
	[ "$(echo "$labels" | jq -r '."org.petra.base.layers"')" = "1" ]
	[[ "$(echo "$labels" | jq -r '."org.petra.hardened.options"')" == *"--writable /app/data:1048576"* ]]
	[ "$(echo "$labels" | jq -r '."org.petra.writable-paths"' | jq -r '[.[] | .path + ":" + (.uid|tostring)] | join(",")')" = \
		"/app/data:65534,/tmp:65534" ]
}

@test "the hardened image runs under petra run: its files cannot change, its writable paths can" {
	run petra run --rm app:hard
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "app ok" ]
	[ "${lines[1]}" = "65534" ]
	run petra run --rm app:hard sh -c 'ls -ld /app /app/run | cut -c1-10; stat -c %U /app/run /app/data; touch /app/x 2>&1; chmod 777 /app/run 2>&1; echo w >/app/data/f && echo data-writable; /bin/euid'
	echo "$output"
	[ "${lines[0]}" = "drwxr-xr-x" ]
	[ "${lines[1]}" = "-rwxr-xr-x" ]
	[ "${lines[2]}" = "root" ]
	[ "${lines[3]}" = "nobody" ]
	[ "${lines[4]}" = "touch: /app/x: Read-only file system" ]
	[[ "${lines[5]}" == "chmod: /app/run: "* ]]
	[ "${lines[6]}" = "data-writable" ]
	# The setuid probe lost its bit.
	[ "${lines[7]}" = "65534" ]
}

@test "the hardened image runs under runc from petra bundle" {
	petra bundle app:hard "$BATS_TEST_TMPDIR/b" sh -c 'id -u; /app/run; touch /etc/x 2>&1; echo w >/tmp/t && echo tmp-writable'
	run runc --root "$BATS_TEST_TMPDIR/runc" run -b "$BATS_TEST_TMPDIR/b" "petra-harden-$$-$BATS_TEST_NUMBER"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "65534" ]
	[ "${lines[1]}" = "app ok" ]
	[ "${lines[3]}" = "touch: /etc/x: Read-only file system" ]
	[ "${lines[4]}" = "tmp-writable" ]
}

@test "the hardened image runs under podman, whose root is writable: still nothing to change" {
	local p="/tmp/petra-podman-$$-$RANDOM"
	petra export app:hard "oci:$p/layout:1"
	petra export app:1 "oci:$p/layout:2"
	local podman=(podman --root "$p/root" --runroot "$p/runroot" --storage-driver vfs
		--events-backend file --runtime runc --cgroup-manager cgroupfs)
	# One stream: podman passes stdout and stderr on separately, so their
	# lines would come in either order.
	local probe='exec 2>&1; id -u; /app/run | head -n 1; echo x >>/app/run && echo app-changed; chmod 777 /app && echo app-opened; true'
	run "${podman[@]}" run --rm -q --network none --ulimit nofile=1024:1024 \
		--ulimit nproc=1024:1024 "oci:$p/layout:1" sh -c "$probe"
	local hard=("${lines[@]}") hard_status=$status
	run "${podman[@]}" run --rm -q --network none --ulimit nofile=1024:1024 \
		--ulimit nproc=1024:1024 "oci:$p/layout:2" sh -c "$probe"
	local soft=("${lines[@]}")
	"${podman[@]}" system reset -f >/dev/null 2>&1 || true
	rm -rf "$p"
	printf 'hardened: %s\n' "${hard[@]}"
	printf 'input: %s\n' "${soft[@]}"
	[ "$hard_status" -eq 0 ]
	[ "${hard[0]}" = "65534" ]
	[ "${hard[1]}" = "app ok" ]
	[[ "${hard[2]}" == *"/app/run: Permission denied"* ]]
	[[ "${hard[3]}" == "chmod: /app: Operation not permitted" ]]
	# The input, on the same writable root, lets its user change its code.
	[ "${soft[2]}" = "app-changed" ]
	[ "${soft[3]}" = "app-opened" ]
}

@test "--strip-shells and --strip remove programs and label the image; audit agrees" {
	run petra harden app:1 -t app:bare --strip-shells --strip /bin/euid --writable /tmp
	[ "$status" -eq 0 ]
	[[ "$output" == *" paths removed"* ]]
	local labels
	labels=$(petra inspect app:bare | jq '.[0].config.config.Labels')
	[ "$(echo "$labels" | jq -r '."org.petra.no-shell"')" = "true" ]
	[[ "$(echo "$labels" | jq -r '."org.petra.hardened.stripped"')" == *'"/bin/sh"'* ]]
	run -127 petra run --rm app:bare /bin/sh -c true
	run -127 petra run --rm app:bare /bin/euid
	local report
	report=$(audit_json app:bare)
	[ "$(findings "$report" shell-present | wc -l)" -eq 0 ]
	[ "$(echo "$report" | jq '[.findings[] | select(.category == "immutability" or .id == "leak-sensitive-file")] | length')" -eq 0 ]
	# The input with the label but not stripped: audit reports its shells.
	petra harden app:1 -t app:labelled --writable /tmp >/dev/null
	local l="$BATS_TEST_TMPDIR/labelled"
	petra export app:labelled "oci:$l:1"
	umoci config --image "$l:1" --config.label org.petra.no-shell=true >/dev/null
	petra import -q "oci:$l:1" --ref app:claims >/dev/null
	report=$(audit_json app:claims)
	[ "$(findings "$report" shell-present | jq -r .path | grep -c '^/bin/sh$')" -eq 1 ]
}

@test "--squash all makes one layer, --squash none keeps every layer and corrects on top" {
	petra harden app:1 -t app:all --squash all >/dev/null
	[ "$(petra inspect app:all | jq '.[0].manifest.layers | length')" = "1" ]
	[ "$(petra inspect app:all | jq -r '.[0].config.history[0].created_by')" = "petra harden: squashed 3 layers" ]
	petra harden app:1 -t app:none --squash none >/dev/null
	[ "$(petra inspect app:none | jq '.[0].manifest.layers | length')" = "4" ]
	[ "$(petra inspect app:none | jq -r '.[0].config.history[-1].created_by')" = "petra harden: corrected ownership and modes" ]
	# squash none keeps history, leaks included: audit says so.
	local report
	report=$(audit_json app:none)
	[ "$(findings "$report" leak-sensitive-file | wc -l)" -eq 1 ]
	[ "$(echo "$report" | jq '[.findings[] | select(.category == "immutability")] | length')" -eq 0 ]
}

@test "the same input and options with SOURCE_DATE_EPOCH give the same image" {
	local a b
	a=$(SOURCE_DATE_EPOCH=1700000000 petra harden -q app:1 -t app:r1 --writable /tmp)
	b=$(SOURCE_DATE_EPOCH=1700000000 petra harden -q app:1 -t app:r2 --writable /tmp)
	[[ "$a" == sha256:* ]]
	[ "$a" = "$b" ]
}

@test "usage and refusals" {
	run petra harden app:1
	[ "$status" -eq 2 ]
	[[ "$output" == *"the new image needs a name: -t NAME"* ]]
	run petra harden app:1 -t x:1 --squash some
	[ "$status" -eq 2 ]
	run petra harden app:1 -t x:1 --user 0
	[ "$status" -eq 1 ]
	[ "$output" = "petra: harden app:1: --user 0 is root: a hardened image runs as another user" ]
	run petra harden app:1 -t x:1 --writable /app/run
	[ "$status" -eq 1 ]
	[[ "$output" == *"writable path /app/run is a file in the image, not a directory"* ]]
	run petra harden no-such:1 -t x:1
	[ "$status" -eq 1 ]
	[[ "$output" == "petra: "*"not found"* ]]
}

@test "--policy: the harden section gives the defaults, options win, lists add up" {
	cat >"$BATS_TEST_TMPDIR/policy.yaml" <<'YAML'
harden:
  user: "4242"
  writable: [{path: /app/data, size: 2097152}]
  strip: [/bin/euid]
  squash: all
YAML
	run petra harden --policy "$BATS_TEST_TMPDIR/policy.yaml" app:1 -t app:pol --writable /tmp:1m
	[ "$status" -eq 0 ]
	local cfg
	cfg=$(petra inspect app:pol | jq '.[0].config')
	[ "$(echo "$cfg" | jq -r .config.User)" = "4242:4242" ]
	[ "$(echo "$cfg" | jq -r '.config.Labels."org.petra.writable-paths"' | jq -r '[.[] | .path + ":" + (.size|tostring)] | join(",")')" = \
		"/app/data:2097152,/tmp:1048576" ]
	[ "$(petra inspect app:pol | jq '.[0].manifest.layers | length')" = "1" ]
	[[ "$(echo "$cfg" | jq -r '.config.Labels."org.petra.hardened.stripped"')" == *'"/bin/euid"'* ]]
	# --user and --squash given here win.
	petra harden --policy "$BATS_TEST_TMPDIR/policy.yaml" app:1 -t app:pol2 --user 5000 --squash app >/dev/null
	[ "$(petra inspect app:pol2 | jq -r '.[0].config.config.User')" = "5000:5000" ]
	[ "$(petra inspect app:pol2 | jq '.[0].manifest.layers | length')" = "2" ]
}
