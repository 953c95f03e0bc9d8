#!/usr/bin/env bats
# petra rebase: the policy's rewrite rules applied to FROM lines, COPY
# --from images and global ARG defaults; a diff, notifications, --write
# keeping every other byte.

load helpers

PIN=sha256:4bcff63911fcb4448bd4fdacec207030997caf25e9bea4045fa6c8c44de311d1

setup() {
	cd "$BATS_TEST_TMPDIR"
	mkdir -p .petra
	cat >.petra/policy.yaml <<EOF
bases:
  rewrite:
    - id: keycloak-cve
      match: quay.io/keycloak/keycloak:10.4.8
      to: quay.io/keycloak/keycloak:10.4.9
      reason: CVE-2024-1234 fixed in 10.4.9
    - id: pin-alpine
      match: alpine:3.19
      pin: $PIN
      reason: reproducible builds
EOF
	printf '%s\r\n' \
		'# syntax=docker/dockerfile:1' \
		'ARG BASE=alpine:3.19' \
		'from   quay.io/keycloak/keycloak:10.4.8   AS  kc' \
		'RUN echo a \' \
		'  # a comment in a continuation' \
		'  b' \
		'FROM ${BASE}' \
		'COPY --from=kc /opt/keycloak /opt/keycloak' \
		'COPY --from=quay.io/keycloak/keycloak:10.4.8 /x /y' >Dockerfile
	printf 'USER 10001' >>Dockerfile
}

@test "rebase --help and usage errors" {
	run petra rebase --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"Usage: petra rebase"* ]]
	run petra rebase
	[ "$status" -eq 2 ]
	run petra rebase --write --check Dockerfile
	[ "$status" -eq 2 ]
}

@test "rebase prints a diff on stdout and one line per change on stderr" {
	cp Dockerfile before
	petra rebase Dockerfile >diff 2>notes
	cmp Dockerfile before # nothing written
	[ "$(sed -n 1p notes)" = 'Dockerfile:2: ARG alpine:3.19 -> alpine:3.19@'$PIN': rule "pin-alpine" (line 7: reproducible builds)' ]
	[ "$(sed -n 2p notes)" = 'Dockerfile:3: FROM quay.io/keycloak/keycloak:10.4.8 -> quay.io/keycloak/keycloak:10.4.9: rule "keycloak-cve" (line 3: CVE-2024-1234 fixed in 10.4.9)' ]
	[ "$(sed -n 3p notes)" = 'Dockerfile:9: COPY --from quay.io/keycloak/keycloak:10.4.8 -> quay.io/keycloak/keycloak:10.4.9: rule "keycloak-cve" (line 3: CVE-2024-1234 fixed in 10.4.9)' ]
	[ "$(wc -l <notes)" -eq 3 ]
	[ "$(sed -n 1,3p diff)" = "$(printf -- '--- a/Dockerfile\n+++ b/Dockerfile\n@@ -1,10 +1,10 @@')" ]
	# the diff applies with patch and gives what --write gives
	cp before patched
	patch -s patched <diff
	petra rebase --write Dockerfile 2>/dev/null
	cmp Dockerfile patched
}

@test "rebase --write changes only the references, byte for byte" {
	cp Dockerfile before
	run petra rebase --write Dockerfile
	[ "$status" -eq 0 ]
	# the same file with the three references replaced, CRLF and comments kept
	sed -e "s|BASE=alpine:3.19|BASE=alpine:3.19@$PIN|" \
		-e 's|keycloak:10.4.8|keycloak:10.4.9|' before >expected
	cmp Dockerfile expected
	[ "$(stat -c %a Dockerfile)" = "$(stat -c %a before)" ]
	# a second run has nothing to do
	run petra rebase --check Dockerfile
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "rebase --check fails when a file would change" {
	run petra rebase --check Dockerfile
	[ "$status" -eq 1 ]
	[[ "$output" == *"+from   quay.io/keycloak/keycloak:10.4.9   AS  kc"* ]]
}

@test "rebase keeps the file's mode and writes atomically in its directory" {
	mkdir sub
	cp Dockerfile sub/Dockerfile
	chmod 0640 sub/Dockerfile
	petra rebase --write sub/Dockerfile 2>/dev/null
	[ "$(stat -c %a sub/Dockerfile)" = 640 ]
	[ -z "$(ls -A sub | grep -v '^Dockerfile$')" ]
	grep -q 'keycloak:10.4.9' sub/Dockerfile
}

@test "rebase: no policy, a bad policy, a file that does not parse" {
	rm -r .petra
	run petra rebase Dockerfile
	[ "$status" -eq 1 ]
	[ "$output" = "petra: no policy: give --policy FILE or create .petra/policy.yaml" ]
	printf 'bases:\n  rewrite:\n    - match: x\n      reason: r\n' >p.yaml
	run petra rebase --policy p.yaml Dockerfile
	[ "$status" -eq 1 ]
	[[ "$output" == 'petra: policy: p.yaml:3:7: bases.rewrite: a rule is "match" with "to"'* ]]
	printf 'bases: {}\n' >ok.yaml
	printf 'FROM alpine\nBOGUS\n' >bad.Dockerfile
	run petra rebase --policy ok.yaml bad.Dockerfile
	[ "$status" -eq 1 ]
	[ "$output" = "petra: bad.Dockerfile:2: unknown instruction: BOGUS" ]
}

@test "references rebase cannot rewrite in place are left with a note" {
	printf 'ARG TAG\nFROM alpine:${TAG}\nFROM alpi\\\nne:3.19\n' >vars.Dockerfile
	run petra rebase vars.Dockerfile
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 'petra rebase: note: vars.Dockerfile:2: FROM "alpine:${TAG}": uses variables with no literal default; not rewritten' ]
	[ "${lines[1]}" = 'petra rebase: note: vars.Dockerfile:3: FROM "alpine:3.19": written across lines or quoted; not rewritten' ]
}

@test "lint tells which bases rebase would change (PL408)" {
	run petra lint --no-shellcheck --failure-threshold none Dockerfile
	[[ "$output" == *'Dockerfile:3:8 PL408 info the policy rewrites quay.io/keycloak/keycloak:10.4.8 to quay.io/keycloak/keycloak:10.4.9 (rule "keycloak-cve": CVE-2024-1234 fixed in 10.4.9): run petra rebase'* ]]
	petra rebase --write Dockerfile 2>/dev/null
	run petra lint --no-shellcheck --failure-threshold none Dockerfile
	[[ "$output" != *PL408* ]]
}
