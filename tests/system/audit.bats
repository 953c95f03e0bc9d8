#!/usr/bin/env bats
# petra audit on images made layer by layer with petra and umoci: each
# finding once, with the layer and history step that brought it.

load layer-helpers
bats_require_minimum_version 1.5.0

GH_TOKEN=ghp_0123456789abcdefghijABCDEFGHIJ012345
AWS_KEY=AKIAZXCVBNMASDFGHJKL

setup_file() {
	export PETRA_ROOT="$BATS_FILE_TMPDIR/store"
	BATS_TEST_TMPDIR=$BATS_FILE_TMPDIR
	local l="$BATS_FILE_TMPDIR/layout"
	layered_start "$l"
	# A secret written in one layer and deleted in the next.
	layer "$l" "COPY deploy.env /app/.env" sh -c \
		"mkdir -p app && echo 'GITHUB_TOKEN=$GH_TOKEN' >app/.env && echo ok >app/run"
	layer "$l" "RUN rm /app/.env" rm app/.env
	# A copied private key.
	layer "$l" "COPY id_rsa /root/.ssh/id_rsa" sh -c \
		"mkdir -p root/.ssh && cp '$TESTS_DATA/secrets/id_rsa' root/.ssh/id_rsa"
	# A token in a RUN line, a world-writable directory, a setuid binary.
	layer "$l" "RUN curl -H 'Authorization: token $GH_TOKEN' https://example.com/a >/app/a && chmod 777 /app/uploads" \
		sh -c "mkdir -p app/uploads/x && echo a >app/a && chmod 777 app/uploads app/uploads/x"
	layer "$l" "COPY tool /usr/local/bin/tool" sh -c \
		"mkdir -p usr/local/bin && cp bin/busybox usr/local/bin/tool && chmod 4755 usr/local/bin/tool"
	layered_finish "$l" leaky:1 --config.user 65534 --config.env "AWS_ACCESS_KEY_ID=$AWS_KEY" \
		--history.created_by "ENV AWS_ACCESS_KEY_ID=$AWS_KEY"
}

@test "a secret written in one layer and deleted in the next: a leak, with its layer and step" {
	local report
	report=$(audit_json leaky:1)
	local leaks
	leaks=$(findings "$report" leak-sensitive-file)
	[ "$(echo "$leaks" | wc -l)" -eq 1 ]
	[ "$(echo "$leaks" | jq -r .path)" = "/app/.env" ]
	[ "$(echo "$leaks" | jq -r .layer.index)" = "1" ]
	[ "$(echo "$leaks" | jq -r .layer.digest)" = "$(echo "$report" | jq -r '.layers[1].digest')" ]
	[ "$(echo "$leaks" | jq -r .created_by)" = "COPY deploy.env /app/.env" ]
	[ "$(echo "$leaks" | jq -r .hidden_by_layer)" = "2" ]
	[ "$(echo "$leaks" | jq -r .value)" = "ghp_****************" ]
	[ "$(findings "$report" leak-hidden-bytes | jq -r .bytes)" -gt 0 ]
	# Exit status: errors fail by default, not with --fail-on none.
	run petra audit leaky:1
	[ "$status" -eq 1 ]
	run petra audit --fail-on none leaky:1
	[ "$status" -eq 0 ]
}

@test "a copied id_rsa, an AWS key in ENV, a GitHub token in a RUN line: once each" {
	local report
	report=$(audit_json leaky:1)
	local key
	key=$(findings "$report" secret-private-key)
	[ "$(echo "$key" | wc -l)" -eq 1 ]
	[ "$(echo "$key" | jq -r .path)" = "/root/.ssh/id_rsa" ]
	[ "$(echo "$key" | jq -r .layer.index)" = "3" ]
	[ "$(echo "$key" | jq -r .created_by)" = "COPY id_rsa /root/.ssh/id_rsa" ]
	[ "$(findings "$report" secret-file | wc -l)" -eq 0 ]
	local aws
	aws=$(findings "$report" secret-aws-access-key)
	[ "$(echo "$aws" | wc -l)" -eq 1 ]
	[ "$(echo "$aws" | jq -r .where)" = "env" ]
	[ "$(echo "$aws" | jq -r .key)" = "AWS_ACCESS_KEY_ID" ]
	# The ENV step shows the value too: it is this finding's step, not a
	# second finding.
	[ "$(echo "$aws" | jq -r .created_by)" = "ENV AWS_ACCESS_KEY_ID=AKIA****************" ]
	local gh
	gh=$(findings "$report" secret-github-token)
	[ "$(echo "$gh" | wc -l)" -eq 1 ]
	[ "$(echo "$gh" | jq -r .where)" = "history" ]
	[ "$(echo "$gh" | jq -r .layer.index)" = "4" ]
	[[ "$(echo "$gh" | jq -r .created_by)" == "RUN curl -H 'Authorization: token ghp_****************'"* ]]
	# No report shows a value.
	for format in text json sarif; do
		run petra audit --format "$format" --fail-on none leaky:1
		[ "$status" -eq 0 ]
		[[ "$output" != *"$GH_TOKEN"* ]]
		[[ "$output" != *"$AWS_KEY"* ]]
		[[ "$output" != *"b3BlbnNzaC1rZXktdjE"* ]]
	done
}

@test "a world-writable app directory and a setuid binary, in the layers that made them" {
	local report
	report=$(audit_json leaky:1)
	local ww
	ww=$(findings "$report" world-writable | jq -c 'select(.path == "/app/uploads")')
	[ "$(echo "$ww" | wc -l)" -eq 1 ]
	[ "$(echo "$ww" | jq -r .layer.index)" = "4" ]
	[ "$(echo "$ww" | jq -r .more_below)" = "1" ]
	# /tmp of the base too, in layer 0.
	[ "$(findings "$report" world-writable | jq -r 'select(.path == "/tmp") | .layer.index')" = "0" ]
	local suid
	suid=$(findings "$report" setuid | jq -c 'select(.path == "/usr/local/bin/tool")')
	[ "$(echo "$suid" | jq -r .layer.index)" = "5" ]
	[ "$(echo "$suid" | jq -r .created_by)" = "COPY tool /usr/local/bin/tool" ]
	# The base's own setuid probe, in layer 0.
	[ "$(findings "$report" setuid | jq -r 'select(.path == "/bin/euid") | .layer.index')" = "0" ]
	# Each (id, path, key) once.
	[ "$(echo "$report" | jq '[.findings[] | [.id, .path, .key]] | length')" = \
		"$(echo "$report" | jq '[.findings[] | [.id, .path, .key]] | unique | length')" ]
}

@test "text groups by severity and ends with one summary line; SARIF 2.1.0 for dashboards" {
	run petra audit --fail-on none leaky:1
	[ "$status" -eq 0 ]
	[[ "$output" == *$'\nERROR ('* ]]
	[[ "$output" == *$'\nWARNING ('* ]]
	[[ "${lines[-1]}" =~ ^[0-9]+\ errors,\ [0-9]+\ warnings?,\ [0-9]+\ info\;\ efficiency ]]
	# ERROR comes before WARNING, WARNING before INFO.
	local e w
	e=$(echo "$output" | grep -n '^ERROR' | cut -d: -f1)
	w=$(echo "$output" | grep -n '^WARNING' | cut -d: -f1)
	[ "$e" -lt "$w" ]
	run petra audit --format sarif --fail-on none leaky:1
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .version)" = "2.1.0" ]
	[ "$(echo "$output" | jq -r '.runs[0].tool.driver.name')" = "petra audit" ]
	[ "$(echo "$output" | jq '.runs[0].results | length')" = \
		"$(audit_json leaky:1 | jq '.findings | length')" ]
	[ "$(echo "$output" | jq -r '[.runs[0].results[] | select(.ruleId == "secret-private-key")][0].locations[0].physicalLocation.artifactLocation.uri')" = \
		"root/.ssh/id_rsa" ]
	run petra audit --format yaml leaky:1
	[ "$status" -eq 2 ]
	run petra audit --fail-on sometimes leaky:1
	[ "$status" -eq 2 ]
}

@test "an allow-list entry silences a known false positive" {
	local fp
	fp=$(findings "$(audit_json leaky:1)" secret-private-key | jq -r .fingerprint)
	[ -n "$fp" ]
	run petra audit --format json --fail-on none --allow "secret-private-key:/root/*:$fp" leaky:1
	[ "$(findings "$output" secret-private-key | wc -l)" -eq 0 ]
	run petra audit --format json --fail-on none --allow "secret-*:/etc/*" leaky:1
	[ "$(findings "$output" secret-private-key | wc -l)" -eq 1 ]
}

@test "a 50 MB file written twice: dive's efficiency, the layer that wasted it" {
	local l="$BATS_TEST_TMPDIR/fat"
	layered_start "$l"
	layer "$l" "COPY data.bin /data/data.bin" sh -c \
		"mkdir -p data && head -c 52428800 /dev/urandom >data/data.bin"
	layer "$l" "RUN chmod 600 /data/data.bin" chmod 600 data/data.bin
	layered_finish "$l" fat:1 --config.user 65534
	local report
	report=$(audit_json fat:1)
	local w
	w=$(findings "$report" wasted-file)
	[ "$(echo "$w" | wc -l)" -eq 1 ]
	[ "$(echo "$w" | jq -r .path)" = "/data/data.bin" ]
	[ "$(echo "$w" | jq -r .layer.index)" = "2" ]
	[ "$(echo "$w" | jq -r .created_by)" = "RUN chmod 600 /data/data.bin" ]
	[ "$(echo "$w" | jq -r .bytes)" = "104857600" ]
	[ "$(echo "$report" | jq -r .efficiency.wasted_bytes)" = "104857600" ]
	[ "$(findings "$report" efficiency-score | wc -l)" -eq 1 ]
	[ "$(findings "$report" wasted-share | wc -l)" -eq 1 ]
	# The base was recorded (annotation): the user share is the two layers'.
	[ "$(echo "$report" | jq -r .base.layers)" = "1" ]
	[ "$(echo "$report" | jq -r .efficiency.user_bytes)" = "104857600" ]
	# dive's thresholds give warnings, the wasted file a note.
	[ "$(findings "$report" efficiency-score | jq -r .severity)" = "warning" ]
	[ "$(echo "$w" | jq -r .severity)" = "info" ]
}

@test "the inventory lists the packages of a real dpkg database, whiteouts honoured" {
	local l="$BATS_TEST_TMPDIR/pkgs"
	layered_start "$l"
	layer "$l" "COPY dpkg status" sh -c \
		"mkdir -p var/lib/dpkg lib/apk/db && cp /var/lib/dpkg/status var/lib/dpkg/status && printf 'P:musl\nV:1.2.4-r2\nA:x86_64\no:musl\n' >lib/apk/db/installed"
	layer "$l" "RUN rm -r /lib/apk" rm -r lib/apk
	layered_finish "$l" pkgs:1 --config.user 65534
	local report
	report=$(audit_json pkgs:1)
	local expected
	expected=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' | grep -c '^ii')
	[ "$(echo "$report" | jq '.inventory.packages | length')" -eq "$expected" ]
	local libc
	libc=$(echo "$report" | jq -c '.inventory.packages[] | select(.name == "libc6")')
	[ "$(echo "$libc" | jq -r .version)" = "$(dpkg-query -W -f='${Version}' libc6)" ]
	[ "$(echo "$libc" | jq -r .source)" = "glibc" ]
	[ "$(echo "$libc" | jq -r .type)" = "deb" ]
	[ "$(echo "$libc" | jq -r .layer)" = "1" ]
	[ "$(echo "$report" | jq '[.inventory.packages[] | select(.type == "apk")] | length')" = "0" ]
}

@test "--policy: the audit section's allow-list, thresholds and fail-on; options win" {
	local fp
	fp=$(findings "$(audit_json leaky:1)" secret-private-key | jq -r .fingerprint)
	cat >"$BATS_TEST_TMPDIR/policy.yaml" <<YAML
version: 1
audit:
  fail-on: none
  efficiency:
    min-score: 0.5
  allow:
    - id: secret-private-key
      fingerprint: "$fp"
      reason: a test key
YAML
	run petra audit --policy "$BATS_TEST_TMPDIR/policy.yaml" --format json leaky:1
	[ "$status" -eq 0 ]
	[ "$(findings "$output" secret-private-key | wc -l)" -eq 0 ]
	[ "$(findings "$output" secret-github-token | wc -l)" -eq 1 ]
	# --fail-on given here wins over the file's.
	run petra audit --policy "$BATS_TEST_TMPDIR/policy.yaml" --fail-on error leaky:1
	[ "$status" -eq 1 ]
	# Without --policy, .petra/policy.yaml of the current directory.
	mkdir -p "$BATS_TEST_TMPDIR/proj/.petra"
	cp "$BATS_TEST_TMPDIR/policy.yaml" "$BATS_TEST_TMPDIR/proj/.petra/policy.yaml"
	run bash -c "cd '$BATS_TEST_TMPDIR/proj' && '$PETRA' audit leaky:1"
	[ "$status" -eq 0 ]
	printf 'audit:\n  allow: yes\n' >"$BATS_TEST_TMPDIR/bad.yaml"
	run petra audit --policy "$BATS_TEST_TMPDIR/bad.yaml" leaky:1
	[ "$status" -eq 1 ]
	[ "$output" = "petra: $BATS_TEST_TMPDIR/bad.yaml:2:3: audit: allow is a list" ]
}
