#!/usr/bin/env bats
# petra lint: the command line, exit status by threshold, every format,
# the config and policy files, ShellCheck, and the whole corpus.

load helpers

CORPUS="$BATS_TEST_DIRNAME/../data/dockerfiles"
DIGEST=sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa

setup() {
	cd "$BATS_TEST_TMPDIR"
	# clean: pinned base, numeric user, exec-form command
	cat >clean.Dockerfile <<EOF
FROM debian:12@$DIGEST
COPY --chmod=0755 app /usr/local/bin/app
USER 10001:10001
CMD ["/usr/local/bin/app"]
EOF
	# one warning (PL102) and one info (PL117)
	cat >warn.Dockerfile <<EOF
FROM debian:12@$DIGEST
RUN cd /tmp && true
RUN true
USER 10001:10001
EOF
	# only an info finding (PL117)
	cat >info.Dockerfile <<EOF
FROM debian:12@$DIGEST
RUN true
RUN true
USER 10001:10001
EOF
}

@test "lint --help, usage errors and --list-rules" {
	run petra lint --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"Usage: petra lint"* ]]
	run petra lint
	[ "$status" -eq 2 ]
	[[ "$output" == *"expects at least one DOCKERFILE"* ]]
	run petra lint --format yaml clean.Dockerfile
	[ "$status" -eq 2 ]
	[[ "$output" == *'unknown format "yaml"'* ]]
	run petra lint --failure-threshold loud clean.Dockerfile
	[ "$status" -eq 2 ]
	run petra lint --list-rules
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "PL001  error    The Dockerfile does not parse" ]]
	[ "$(echo "$output" | wc -l)" -eq "$(ls "$BATS_TEST_DIRNAME"/../../docs/rules/PL*.md | wc -l)" ]
}

@test "a clean Dockerfile: no output, status 0" {
	run petra lint clean.Dockerfile
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "text output is file:line:col ID severity message" {
	run petra lint --no-shellcheck warn.Dockerfile
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = "warn.Dockerfile:2:1 PL102 warning cd in RUN: use WORKDIR to change directories" ]
	[[ "${lines[1]}" == "warn.Dockerfile:3:1 PL117 info RUN right after the RUN on line 2"* ]]
}

@test "the exit status follows the failure threshold" {
	run petra lint --no-shellcheck info.Dockerfile
	[ "$status" -eq 0 ] # default threshold: warning
	[ -n "$output" ]
	run petra lint --no-shellcheck --failure-threshold info info.Dockerfile
	[ "$status" -eq 1 ]
	run petra lint --no-shellcheck --failure-threshold error warn.Dockerfile
	[ "$status" -eq 0 ]
	run petra lint --no-shellcheck --failure-threshold warning warn.Dockerfile
	[ "$status" -eq 1 ]
	run petra lint --no-shellcheck --failure-threshold none warn.Dockerfile
	[ "$status" -eq 0 ]
	# several files: the worst decides
	run petra lint --no-shellcheck clean.Dockerfile info.Dockerfile warn.Dockerfile
	[ "$status" -eq 1 ]
	# a file that cannot be read fails, the others are still linted
	run petra lint --no-shellcheck missing.Dockerfile info.Dockerfile
	[ "$status" -eq 1 ]
	[[ "$output" == *"petra: "*"missing.Dockerfile"* ]]
	[[ "$output" == *"info.Dockerfile:3:1 PL117"* ]]
}

@test "a parse error is finding PL001 on its line" {
	printf 'FROM alpine:3.19\nRUNN x\n' >bad.Dockerfile
	run petra lint bad.Dockerfile
	[ "$status" -eq 1 ]
	[ "$output" = "bad.Dockerfile:2:1 PL001 error unknown instruction: RUNN" ]
	run petra lint - <bad.Dockerfile
	[ "$output" = "-:2:1 PL001 error unknown instruction: RUNN" ]
}

@test "--format json" {
	run petra lint --no-shellcheck --format json warn.Dockerfile info.Dockerfile
	[ "$status" -eq 1 ]
	[ "$(echo "$output" | jq length)" = 3 ]
	[ "$(echo "$output" | jq -r '.[0] | "\(.file) \(.line) \(.column) \(.rule) \(.severity)"')" = "warn.Dockerfile 2 1 PL102 warning" ]
	[ "$(echo "$output" | jq -r '.[2].file')" = "info.Dockerfile" ]
	run petra lint --format json clean.Dockerfile
	[ "$output" = "[]" ]
}

@test "--format sarif is a SARIF 2.1.0 log" {
	run petra lint --no-shellcheck --format sarif warn.Dockerfile
	[ "$status" -eq 1 ]
	local log=$output
	[ "$(jq -r .version <<<"$log")" = "2.1.0" ]
	[ "$(jq -r '."$schema"' <<<"$log")" = "https://json.schemastore.org/sarif-2.1.0.json" ]
	[ "$(jq -r '.runs | length' <<<"$log")" = 1 ]
	[ "$(jq -r '.runs[0].tool.driver.name' <<<"$log")" = petra ]
	[ "$(jq -r '.runs[0].tool.driver.rules | length' <<<"$log")" -ge 40 ]
	[ "$(jq -r '.runs[0].results[0].ruleId' <<<"$log")" = PL102 ]
	[ "$(jq -r '.runs[0].results[0].level' <<<"$log")" = warning ]
	[ "$(jq -r '.runs[0].results[1].level' <<<"$log")" = note ]
	[ "$(jq -r '.runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri' <<<"$log")" = warn.Dockerfile ]
	[ "$(jq -r '.runs[0].results[0].locations[0].physicalLocation.region.startLine' <<<"$log")" = 2 ]
	# every result's ruleIndex points at its rule
	[ "$(jq '[.runs[0] as $r | $r.results[] | $r.tool.driver.rules[.ruleIndex].id == .ruleId] | all' <<<"$log")" = true ]
}

@test "--format checkstyle is Checkstyle XML" {
	run petra lint --no-shellcheck --format checkstyle warn.Dockerfile clean.Dockerfile
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = '<?xml version="1.0" encoding="UTF-8"?>' ]
	[ "${lines[1]}" = '<checkstyle version="4.3">' ]
	[ "${lines[2]}" = '<file name="warn.Dockerfile">' ]
	[[ "${lines[3]}" == '<error line="2" column="1" severity="warning" message="cd in RUN: use WORKDIR to change directories" source="petra.PL102"/>' ]]
	[ "${lines[-1]}" = '</checkstyle>' ]
	# Well-formed XML (xmllint comes from scripts/install-deps).
	echo "$output" | xmllint --noout -
}

@test "pragmas silence findings on the next instruction or the whole file" {
	cat >p.Dockerfile <<EOF
FROM debian:12@$DIGEST
# petra ignore=PL102
RUN cd /a && true
RUN cd /b && true
USER 10001
EOF
	run petra lint --no-shellcheck --failure-threshold none p.Dockerfile
	[[ "$output" != *"p.Dockerfile:3:1 PL102"* ]]
	[[ "$output" == *"p.Dockerfile:4:1 PL102"* ]]
	echo "# petra global ignore=PL102,PL117" >>p.Dockerfile
	run petra lint --no-shellcheck p.Dockerfile
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "the config: .petra.yaml by default, --config, errors with lines" {
	cat >.petra.yaml <<'EOF'
ignore: [PL102]
severity:
  PL117: error
EOF
	run petra lint --no-shellcheck warn.Dockerfile
	[ "$status" -eq 1 ]
	[ "$output" = "warn.Dockerfile:3:1 PL117 error RUN right after the RUN on line 2: merge them with && to make one layer" ]
	cat >other.yaml <<'EOF'
failure-threshold: none
trusted-registries: [registry.example]
EOF
	run petra lint --no-shellcheck --config other.yaml warn.Dockerfile
	[ "$status" -eq 0 ]
	[[ "$output" == *"PL407 error debian:12@$DIGEST comes from docker.io, which is not a trusted registry (other.yaml)"* ]]
	printf 'ignore: [PL101]\nsevrity: {}\n' >bad.yaml
	run petra lint --config bad.yaml warn.Dockerfile
	[ "$status" -eq 1 ]
	[ "$output" = 'petra: lint config: bad.yaml:2:1: config: unknown key "sevrity" (known: ignore, severity, trusted-registries, label-schema, failure-threshold, shellcheck)' ]
	run petra lint --config nowhere.yaml warn.Dockerfile
	[ "$status" -eq 1 ]
	[[ "$output" == "petra: lint config: "*"nowhere.yaml"* ]]
}

@test "the policy: .petra/policy.yaml by default, banned and unapproved bases" {
	mkdir .petra
	cat >.petra/policy.yaml <<'EOF'
bases:
  allow:
    - debian:12*
  ban:
    - image: debian:12.1*
      reason: CVE-2023-4911 in glibc
EOF
	cat >bases.Dockerfile <<EOF
FROM debian:12.1@$DIGEST AS one
FROM alpine:3.19@$DIGEST
USER 10001
EOF
	run petra lint --no-shellcheck bases.Dockerfile
	[ "$status" -eq 1 ]
	[[ "${lines[0]}" == "bases.Dockerfile:1:6 PL405 error debian:12.1@$DIGEST is banned by .petra/policy.yaml:5 (debian:12.1*): CVE-2023-4911 in glibc" ]]
	[[ "${lines[1]}" == "bases.Dockerfile:2:6 PL404 error alpine:3.19@$DIGEST (docker.io/library/alpine:3.19@$DIGEST) is not in the catalog of approved bases in .petra/policy.yaml" ]]
	printf 'bases:\n  alow: []\n' >broken.yaml
	run petra lint --policy broken.yaml bases.Dockerfile
	[ "$status" -eq 1 ]
	[ "$output" = 'petra: policy: broken.yaml:2:3: bases: unknown key "alow" (known: require-digest, allow, ban, rewrite)' ]
}

@test "--target picks the runtime stage" {
	cat >t.Dockerfile <<EOF
FROM debian:12@$DIGEST AS app
USER 10001
FROM debian:12@$DIGEST AS debug
USER root
EOF
	run petra lint --no-shellcheck t.Dockerfile
	[[ "$output" == *"t.Dockerfile:4:6 PL202 error the runtime stage runs as root"* ]]
	run petra lint --no-shellcheck --target app t.Dockerfile
	[ "$status" -eq 0 ]
	run petra lint --no-shellcheck --target 0 t.Dockerfile
	[ "$status" -eq 0 ]
	run petra lint --target nope t.Dockerfile
	[ "$status" -eq 1 ]
	[ "$output" = 'petra: t.Dockerfile: target stage "nope" not found' ]
}

@test "ShellCheck findings at the Dockerfile's lines, or a note without it" {
	command -v shellcheck >/dev/null || { echo "shellcheck is required (scripts/install-deps)"; return 1; }
	cat >sc.Dockerfile <<EOF
FROM debian:12@$DIGEST
RUN apt-get update \\
# a comment Docker drops
 && echo \$1
USER 10001
EOF
	run petra lint --failure-threshold none sc.Dockerfile
	[ "$status" -eq 0 ]
	[[ "$output" == *"sc.Dockerfile:4:10 SC2086 info Double quote to prevent globbing and word splitting."* ]]
	run petra lint --no-shellcheck sc.Dockerfile
	[[ "$output" != *SC2086* ]]
	# without shellcheck on PATH: a note on stderr, the rest still runs
	mkdir -p nobin
	ln -sf "$(command -v jq)" nobin/jq
	PATH="$BATS_TEST_TMPDIR/nobin" run "$PETRA" lint --failure-threshold none sc.Dockerfile
	[ "$status" -eq 0 ]
	[[ "$output" == *"petra lint: note: shellcheck is not installed"* ]]
	[[ "$output" != *SC2086* ]]
}

@test "every corpus Dockerfile lints without a crash, with and without ShellCheck" {
	local f
	run petra lint --failure-threshold none "$CORPUS"/*.Dockerfile
	[ "$status" -eq 0 ]
	[[ "$output" != *PL001* ]]
	for f in "$CORPUS"/*.Dockerfile; do
		run petra lint --no-shellcheck --format sarif --failure-threshold none "$f"
		[ "$status" -eq 0 ]
		jq -e '.version == "2.1.0"' <<<"$output" >/dev/null
	done
}

@test "hostile input is a finding or an error, never a crash" {
	head -c 4096 /bin/busybox >binary.Dockerfile
	run petra lint binary.Dockerfile
	[ "$status" -eq 1 ]
	[[ "$output" == *PL001* ]]
	{ printf 'FROM alpine:3\nRUN echo '; head -c 200000 /dev/zero | tr '\0' a; echo; } >long.Dockerfile
	run petra lint long.Dockerfile
	[ "$status" -eq 1 ]
	[[ "$output" == *"long.Dockerfile:2:1 PL001"* ]]
	printf 'FROM alpine:3\nRUN echo "unbalanced \x27 $(( ${ `\nUSER 1\n' >quotes.Dockerfile
	run petra lint --failure-threshold none quotes.Dockerfile
	[ "$status" -eq 0 ]
}

@test "50,000 chained stages lint as a few do: names, SHELL and USER carry through every FROM" {
	# Stage names were looked up by scanning every stage, and the SHELL in
	# effect by walking the chain of FROM <stage> at every RUN: quadratic
	# (16k stages 2 s, 300k 14 min; bench figures in docs/BENCHMARKS.md).
	python3 - "$DIGEST" >big.Dockerfile <<'PY'
import sys
n = 50000
out = [f"FROM debian:12@{sys.argv[1]} AS s0", 'SHELL ["/bin/bash", "-o", "pipefail", "-c"]', "COPY a /a0"]
for i in range(1, n):
    out += [f"FROM s{i-1} AS s{i}", f"COPY --from=s{i-1} /a0 /a{i}"]
out += [f"FROM s{n-1} AS last", "RUN echo a | cat", "COPY --from=later /a0 /b",
        "USER 10001:10001", 'CMD ["/bin/true"]', "FROM scratch AS later", "FROM scratch AS last"]
print("\n".join(out))
PY
	# timeout(1) only turns a hang into a failure; nothing here is timed.
	run timeout 600 "$PETRA" lint --no-shellcheck --target last --format json big.Dockerfile
	[ "$status" -eq 1 ]
	echo "$output" | jq -c '.[] | [.line, .rule, .message]' >findings
	cat findings >&2
	[ "$(wc -l <findings)" -eq 3 ]
	grep -qx '\[3,"PL204",.*\]' findings
	# a later stage, found among 50,000 by name
	grep -qxF '[100004,"PL111","COPY --from=later names a later stage (line 100007): it would be pulled as an image, not built"]' findings
	grep -qxF '[100008,"PL112","stage name \"last\" is already used on line 100002"]' findings
	# no PL116: the pipefail SHELL of stage 0 is in effect 50,000 FROMs later
	! grep -q PL116 findings
}
