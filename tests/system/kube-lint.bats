#!/usr/bin/env bats
# petra kube-lint on the corpus of tests/data/kube: each manifest's
# findings (line, rule, object, container) are the ones in its .expected
# file; the image-aware rules against images of a store made here.

load kube-helpers
bats_require_minimum_version 1.5.0

EXAMPLES="$BATS_TEST_DIRNAME/../../examples"
CORPUS="$TESTS_DATA/kube"

setup_file() {
	export PETRA_ROOT="$BATS_FILE_TMPDIR/store"
	"$EXAMPLES/busybox/make-rootfs.sh" "$BATS_FILE_TMPDIR/busybox" >/dev/null
	petra import -q "$BATS_FILE_TMPDIR/busybox" --ref busybox:1.35 >/dev/null
	local ctx="$BATS_FILE_TMPDIR/web"
	mkdir -p "$ctx/www"
	echo '<h1>x</h1>' >"$ctx/www/index.html"
	printf '%s\n' 'FROM busybox:1.35' 'COPY www/ /srv/www/' 'USER app' 'EXPOSE 8080' \
		'CMD ["httpd", "-f", "-p", "8080", "-h", "/srv/www"]' >"$ctx/Dockerfile"
	petra build -q -t localhost/web:1 "$ctx" >/dev/null
	petra harden -q localhost/web:1 -t localhost/web:2 --writable /tmp:1m \
		--writable /var/cache/web:2m >/dev/null
	# KL204: a label that keeps /tmp in memory only.
	printf '%s\n' 'FROM localhost/web:2' \
		"LABEL org.petra.writable-paths='[{\"path\":\"/tmp\",\"size\":1048576,\"memory\":true},{\"path\":\"/var/cache/web\",\"size\":2097152}]'" \
		>"$ctx/Dockerfile.mem"
	petra build -q -t localhost/webmem:1 -f "$ctx/Dockerfile.mem" "$ctx" >/dev/null
}

setup() {
	export PETRA_ROOT="$BATS_FILE_TMPDIR/store"
}

# findings FILE [ARGS]: "LINE RULE OBJECT CONTAINER" per finding; a
# manifest with a FILE.policy next to it is linted under that policy.
findings() {
	local file=$1
	shift
	local policy="${file%.yaml}.policy"
	[ -f "$policy" ] && set -- --policy "$policy" "$@"
	petra kube-lint --format json --failure-threshold none "$@" "$file" 2>/dev/null |
		jq -r '.[0].findings[] | "\(.line) \(.rule) \(.object) \(.container // "-")"'
}

@test "the corpus: at least 30 manifests, every kind, every rule firing somewhere and not everywhere" {
	[ "$(ls "$CORPUS"/*.yaml | wc -l)" -ge 30 ]
	local kind rule
	for kind in Pod Deployment StatefulSet DaemonSet ReplicaSet ReplicationController Job CronJob List; do
		grep -lq "^kind: $kind$" "$CORPUS"/*.yaml || { echo "no $kind"; return 1; }
	done
	grep -lq initContainers "$CORPUS"/*.yaml
	grep -lq ephemeralContainers "$CORPUS"/*.yaml
	for rule in $(petra kube-lint --list-rules | awk '{ print $1 }'); do
		cat "$CORPUS"/*.expected | grep -q " $rule " || { echo "$rule never fires"; return 1; }
	done
	# Files with no finding at all: the good ones and the exemptions.
	[ "$(find "$CORPUS" -name '*.expected' -empty | wc -l)" -ge 10 ]
}

@test "the corpus is real Kubernetes: every manifest passes the API schema and the strict field check" {
	# One node and one python for all of it: every file starts its
	# documents with "---", so the files concatenate into one stream.
	cat "$CORPUS"/*.yaml >"$BATS_TEST_TMPDIR/all.yaml"
	run kube_schema_check "$BATS_TEST_TMPDIR/all.yaml"
	echo "$output" | grep -v ': valid$' || true
	[ "$status" -eq 0 ]
	[ "$(grep -c ': valid$' <<<"$output")" -ge 45 ]
	run kube_strict_check "$CORPUS"/*.yaml
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "the corpus: each manifest's findings are the expected ones" {
	local f bad=0
	for f in "$CORPUS"/*.yaml; do
		if ! diff <(findings "$f") "${f%.yaml}.expected" >"$BATS_TEST_TMPDIR/diff"; then
			echo "== $(basename "$f"):"
			cat "$BATS_TEST_TMPDIR/diff"
			bad=1
		fi
	done
	[ "$bad" -eq 0 ]
}

@test "--no-images leaves the image-aware rules out, and an image not in the store is a note" {
	run -0 findings "$CORPUS/37-image-writable-missing.yaml" --no-images
	[ "$output" = "23 KL111 Deployment/web app" ]
	run -1 petra kube-lint "$CORPUS/24-image-by-tag.yaml"
	[[ "$output" == *"note: registry.example/app:1.2 is not in the store"* ]]
}

@test "the kubelet's resolution: the container's securityContext wins over the pod's, both ways" {
	# The pod says root, the container says 1000: runs as 1000.
	run -0 findings "$CORPUS/12-container-user-overrides-pod.yaml"
	[ -z "$output" ]
	# The pod says non-root, the container says not: KL102.
	run -0 findings "$CORPUS/13-container-non-root-false.yaml"
	[ "$output" = "$(cat "$CORPUS/13-container-non-root-false.expected")" ]
	[[ "$output" == *" KL102 Deployment/web app" ]]
	# The same manifest without the container's override passes.
	sed '/runAsNonRoot: false/d' "$CORPUS/13-container-non-root-false.yaml" >"$BATS_TEST_TMPDIR/m.yaml"
	run -0 findings "$BATS_TEST_TMPDIR/m.yaml"
	[ -z "$output" ]
}

@test "exit status by threshold; text lines name file, line, rule, severity and object" {
	run -1 --separate-stderr petra kube-lint "$CORPUS/09-root-writable.yaml"
	[[ "${lines[0]}" == *"09-root-writable.yaml:23: KL101 error Deployment/web: container app: the root filesystem is writable" ]]
	# A warning fails at the default threshold, not at "error".
	run -1 petra kube-lint "$CORPUS/16-capabilities-not-dropped.yaml"
	run -0 petra kube-lint --failure-threshold error "$CORPUS/16-capabilities-not-dropped.yaml"
	run -1 petra kube-lint --failure-threshold error "$CORPUS/14-privileged.yaml"
	run -0 petra kube-lint --failure-threshold none "$CORPUS/14-privileged.yaml"
	run -0 petra kube-lint "$CORPUS/01-pod-good.yaml" "$CORPUS/08-cronjob-good.yaml"
	# Standard input, and more files than one.
	run -1 --separate-stderr petra kube-lint - "$CORPUS/02-deployment-good.yaml" <"$CORPUS/18-host-namespaces.yaml"
	[[ "$output" == *"-:"*"KL107"* ]]
}

@test "JSON and SARIF reports" {
	run -1 --separate-stderr petra kube-lint --format json "$CORPUS/27-no-limits.yaml" "$CORPUS/19-host-path.yaml"
	[ "$(jq -r 'map(.findings | length) | join(",")' <<<"$output")" = "2,1" ]
	[ "$(jq -r '.[1].findings[0] | [.rule, .severity, .object, (.container | tostring)] | join(" ")' <<<"$output")" = \
		"KL108 error DaemonSet/agent null" ]
	run -1 --separate-stderr petra kube-lint --format sarif "$CORPUS/29-ephemeral-container.yaml"
	[ "$(jq -r '.version' <<<"$output")" = 2.1.0 ]
	[ "$(jq '.runs[0].results | length' <<<"$output")" = 5 ]
	[ "$(jq '[.runs[0] as $r | $r.results[] | $r.tool.driver.rules[.ruleIndex].id == .ruleId] | all' <<<"$output")" = true ]
	[ "$(jq -r '.runs[0].results[0].locations[0].physicalLocation.region.startLine' <<<"$output")" = 28 ]
}

@test "what petra deploy writes passes kube-lint with no finding" {
	petra deploy kubernetes localhost/web:2 --pod --memory 64m --cpus 1 -o "$BATS_TEST_TMPDIR/k.yaml"
	run -0 petra kube-lint --failure-threshold info "$BATS_TEST_TMPDIR/k.yaml"
	[ -z "$output" ]
	run -0 petra kube-lint --format json "$BATS_TEST_TMPDIR/k.yaml"
	[ "$(jq -r '.[0].objects' <<<"$output")" = 2 ]
}

@test "bad input: YAML that does not parse names its line; usage errors; every rule has its page" {
	printf 'apiVersion: v1\nkind: Pod\n---\nkind: [unclosed\n' >"$BATS_TEST_TMPDIR/bad.yaml"
	run -1 petra kube-lint "$BATS_TEST_TMPDIR/bad.yaml"
	[[ "$output" == *"document at line 3"* ]]
	run -1 petra kube-lint "$BATS_TEST_TMPDIR/missing.yaml"
	run -2 petra kube-lint
	run -2 petra kube-lint --format xml x.yaml
	run -2 petra kube-lint --failure-threshold loud x.yaml
	run -0 petra kube-lint --list-rules
	local rule
	for rule in $(awk '{ print $1 }' <<<"$output"); do
		[ -f "$BATS_TEST_DIRNAME/../../docs/rules/$rule.md" ] || { echo "no page for $rule"; return 1; }
	done
}

@test "KL203: the trust gate's refusal (banned base, missing signature) is a finding with its reasons" {
	cd "$BATS_TEST_TMPDIR"
	local m="$CORPUS/43-image-base-banned.yaml"
	# Without a policy no KL203 (only the tags' KL111).
	run -0 petra kube-lint --failure-threshold error "$m"
	[[ "$output" != *KL203* ]]
	run -1 petra kube-lint --policy "$CORPUS/43-image-base-banned.policy" "$m"
	[[ "$output" == *"KL203 error Pod/web: container app: refused by the trust gate: base busybox:1.35@sha256:"*"banned"*"CVE-2099-0001"* ]]
	# The default policy file is read.
	mkdir .petra
	cp "$CORPUS/43-image-base-banned.policy" .petra/policy.yaml
	run -1 petra kube-lint "$m"
	[[ "$output" == *KL203* ]]
	rm -r .petra
	# A signature the policy requires and the image lacks; then signed.
	export PETRA_PASSWORD=pw
	petra keygen -o prod >/dev/null
	printf 'trust:\n  scopes:\n    localhost/**:\n      require: signed-by\n      keys: [prod.pub]\n' >signed.yaml
	run -1 petra kube-lint --policy signed.yaml "$m"
	[[ "$output" == *"KL203"*"container app"*"no signature"* ]]
	[[ "$output" != *"KL203 error Pod/web: init container prepare"* ]]
	petra sign --key prod.key localhost/web:2 >/dev/null
	run -0 petra kube-lint --failure-threshold error --policy signed.yaml "$m"
	[[ "$output" != *KL203* ]]
	# And through a containers-policy.json.
	printf '{"default": [{"type": "reject"}]}' >reject.json
	run -1 petra kube-lint --signature-policy reject.json "$m"
	[ "$(grep -c KL203 <<<"$output")" -eq 2 ]
}
