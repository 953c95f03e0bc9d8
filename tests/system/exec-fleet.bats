#!/usr/bin/env bats
# exec --all as a fleet tool: the containers derived from a base, in
# parallel, each with its own timeout, output grouped as dshbak -c does;
# and exec --kubernetes over `kubectl get pods -A -o json` output.

load runtime-helpers
load registry-helpers
load lineage-fixture
bats_require_minimum_version 1.5.0

# Issue 15's hierarchy (lineage-fixture.bash): base:1 -> runtime:1 ->
# app-a:1, app-c:1 (FROM base:1, COPY only), other:1 unrelated. Then base:1
# is superseded: app-a:1 is built again FROM base:2, the old one kept as
# app-a:old, as the containers already running still run it.
setup_file() {
	export PETRA_ROOT="$BATS_FILE_TMPDIR/store"
	LINEAGE_FIXTURE_NO_BUILDAH=1 lineage_fixture "$BATS_FILE_TMPDIR/fixture"
	petra tag app-a:1 app-a:old
	local ctx="$BATS_FILE_TMPDIR/app-a-new"
	mkdir -p "$ctx"
	printf 'FROM base:2\nRUN echo app-a >/app-a-new\n' >"$ctx/Dockerfile"
	petra build -q -t app-a:1 "$ctx" >/dev/null
}

setup() {
	runtime_setup
	DERIVED="derived-from=base:1"
}

teardown() {
	runtime_teardown
	registry_teardown
}

# A detached container that waits, with a tmpfs at /data to leave marks in.
start() {
	petra run -d --tmpfs /data:mode=1777 --name "$2" "$1" \
		sh -c 'while :; do sleep 0.05; done' >/dev/null
}

# Containers of the old app-a (a1, a2), of app-c (c1), of other (o1) and
# of the new app-a (n1).
start_fleet() {
	start app-a:old a1
	start app-a:old a2
	start app-c:1 c1
	start other:1 o1
	start app-a:1 n1
}

@test "exec --all reaches exactly the derived containers, in parallel, grouped by output" {
	start_fleet
	# --dry-run lists the targets and runs nothing.
	run -0 petra exec --all --filter "$DERIVED" --dry-run -- sh -c 'echo ran >/data/mark'
	[ "${#lines[@]}" -eq 4 ]
	[[ "${lines[0]}" =~ ^[0-9a-f]{12}\ a1\ app-a:old$ ]]
	[[ "${lines[1]}" =~ ^[0-9a-f]{12}\ a2\ app-a:old$ ]]
	[[ "${lines[2]}" =~ ^[0-9a-f]{12}\ c1\ app-c:1$ ]]
	[ "${lines[3]}" = "3 targets (dry run: nothing was run)" ]
	run -1 petra exec a1 cat /data/mark
	run -0 petra exec --all --filter "$DERIVED" --dry-run --format json -- true
	[ "$(echo "$output" | jq -r '[.[].name] | join(",")')" = "a1,a2,c1" ]
	# The same output from every target: one block headed by all of them.
	# The root is read-only; the command still runs (and writes where the
	# container can).
	run -0 petra exec --all --filter "$DERIVED" -- \
		sh -c 'touch /x 2>/dev/null && echo writable; echo patched >/data/mark; echo patched'
	[ "${lines[0]}" = "----------------" ]
	[ "${lines[1]}" = "a1, a2, c1" ]
	[ "${lines[2]}" = "----------------" ]
	[ "${lines[3]}" = "patched" ]
	[[ "${lines[4]}" =~ ^[0-9a-f]{12}\ a1\ app-a:old\ ok\ \(exit\ 0\)\ [0-9]+\.[0-9]{3}s$ ]]
	[[ "${lines[5]}" =~ ^[0-9a-f]{12}\ a2\ app-a:old\ ok\ \(exit\ 0\)\ [0-9.]+s$ ]]
	[[ "${lines[6]}" =~ ^[0-9a-f]{12}\ c1\ app-c:1\ ok\ \(exit\ 0\)\ [0-9.]+s$ ]]
	[ "${lines[7]}" = "3 ok, 0 failed, 0 timed out" ]
	[ "${#lines[@]}" -eq 8 ]
	run -0 petra exec c1 cat /data/mark
	[ "$output" = patched ]
	run -1 petra exec o1 cat /data/mark
	run -1 petra exec n1 cat /data/mark
	# Different outputs: one block each, in the order of the targets; a
	# failure is reported and makes the status 1, the others still run.
	run -1 petra exec --all --filter "$DERIVED" -- \
		sh -c 'if [ -e /opt/runtime/app-a ]; then echo built by RUN; else echo copied; exit 3; fi'
	[ "${lines[1]}" = "a1, a2" ]
	[ "${lines[3]}" = "built by RUN" ]
	[ "${lines[4]}" = "----------------" ]
	[ "${lines[5]}" = "c1" ]
	[ "${lines[7]}" = "copied" ]
	[[ "${lines[10]}" == *" c1 app-c:1 failed (exit 3) "*s ]]
	[ "${lines[11]}" = "2 ok, 1 failed, 0 timed out" ]
	# Targets that print nothing have no block.
	run -0 petra exec --all --filter "$DERIVED" -- true
	[ "${#lines[@]}" -eq 4 ]
	[[ "${lines[0]}" == *" a1 app-a:old ok (exit 0) "* ]]
	# Other filters choose as before.
	run -0 petra exec --all --filter name=o1 -- cat /etc/other-release
	[ "${lines[1]}" = o1 ]
	[ "${lines[3]}" = other ]
}

@test "exec --all --timeout kills a hanging command and its children there, the others finish" {
	start_fleet
	# In c1 the command hangs, with a child in its group and one in a
	# session of its own; elsewhere it ends at once.
	run -1 petra exec --all --filter "$DERIVED" --timeout 8 --format json -- \
		sh -c '[ -e /srv/app-c ] || { echo quick; exit 0; }; sleep 1001 & busybox setsid sleep 1002 & echo hanging; sleep 1003'
	echo "$output" | jq -e 'length == 3'
	echo "$output" | jq -e '[.[] | select(.name == "c1")][0] |
		.status == "timed out" and .exit_code == 124 and .output == "hanging\n" and .duration_ms >= 8000'
	# The others' durations are well under the timeout: not held up by c1.
	echo "$output" | jq -e '[.[] | select(.name != "c1")] | length == 2 and
		all(.status == "ok" and .exit_code == 0 and .output == "quick\n" and .duration_ms < 4000)'
	# Nothing of the command is left in the container.
	run -0 petra exec c1 busybox ps -o args
	[[ "$output" != *"sleep 100"* ]]
	# The text report says it, and the summary counts it.
	run -1 petra exec --all --filter name=c1 --timeout 0.5 -- sleep 1004
	[[ "${lines[0]}" =~ ^[0-9a-f]{12}\ c1\ app-c:1\ timed\ out\ \(killed,\ exit\ 124\)\ [0-9.]+s$ ]]
	[ "${lines[1]}" = "0 ok, 0 failed, 1 timed out" ]
}

@test "exec --all keeps output bounded and says where it was cut" {
	start app-a:old a1
	run -0 petra exec --all --filter name=a1 -- sh -c 'busybox yes | head -c 200000'
	[ "${lines[1]}" = a1 ]
	[[ "$output" == *$'\n'"[output cut: the first 65536 of 200000 bytes]"$'\n'* ]]
	run -0 petra exec --all --filter name=a1 --format json -- sh -c 'busybox yes | head -c 200000; echo err >&2'
	echo "$output" | jq -e '.[0] | .output_bytes == 200004 and .output_cut and (.output | length) == 65536'
}

@test "exec --all --jobs and --timeout: bad values are usage errors" {
	run -125 petra exec --all --jobs 0 -- true
	[[ "$output" == *"--jobs expects 1 or more"* ]]
	run -125 petra exec --all --timeout soon -- true
	[[ "$output" == *'--timeout expects seconds'* ]]
	run -125 petra exec --all --timeout 0 -- true
	run -125 petra exec --dry-run c1 true
	[[ "$output" == *"--dry-run goes with --all"* ]]
	run -125 petra exec --timeout 3 c1 true
	[[ "$output" == *"--timeout goes with --all"* ]]
}

# pods.json: `kubectl get pods -A -o json` as a cluster running the
# hierarchy's images would print it: old digests (app-a:old, app-c:1,
# derived from base:1) and a new one (app-a:1, FROM base:2), every form of
# image ID kubelets report, init and ephemeral containers, containers not
# running, a digest the store does not hold, pods not scheduled yet.
write_pods() {
	local a c o n unknown cfg
	a=$(digest_of app-a old) c=$(digest_of app-c 1) o=$(digest_of other 1) n=$(digest_of app-a 1)
	unknown=sha256:$(printf unknown | sha256sum | cut -d' ' -f1)
	# containerd names an image pulled by no digest by its config's.
	cfg=$(petra inspect app-c:1 | jq -r '.[0].manifest.config.digest')
	jq -n --arg a "$a" --arg c "$c" --arg o "$o" --arg n "$n" --arg u "$unknown" --arg cfg "$cfg" '
	def st(name; id; state): {name: name, image: "img", imageID: id, ready: true,
		restartCount: 0, started: (state == "running"), state: {(state): {}}};
	{apiVersion: "v1", kind: "List", metadata: {resourceVersion: ""}, items: [
	  {apiVersion: "v1", kind: "Pod", metadata: {name: "web-1", namespace: "prod"},
	   spec: {containers: []},
	   status: {phase: "Running",
	     initContainerStatuses: [st("setup"; "docker-pullable://reg.example/app-c@" + $c; "terminated")],
	     containerStatuses: [st("app"; "docker-pullable://reg.example/app-a@" + $a; "running"),
	                         st("sidecar"; "reg.example/other@" + $o; "running")]}},
	  {apiVersion: "v1", kind: "Pod", metadata: {name: "web-2", namespace: "prod"},
	   status: {phase: "Running",
	     containerStatuses: [st("app"; $c; "running")],
	     ephemeralContainerStatuses: [st("debugger"; "reg.example/app-a@" + $a; "running")]}},
	  {apiVersion: "v1", kind: "Pod", metadata: {name: "web-3", namespace: "prod"},
	   status: {phase: "Running",
	     containerStatuses: [st("app"; "docker-pullable://reg.example/app-a@" + $n; "running")]}},
	  {apiVersion: "v1", kind: "Pod", metadata: {name: "job-x", namespace: "staging"},
	   status: {phase: "Running",
	     containerStatuses: [st("main"; "docker-pullable://reg.example/gone@" + $u; "running"),
	                         st("next"; ""; "waiting"),
	                         st("local"; $cfg; "running")]}},
	  {apiVersion: "v1", kind: "Pod", metadata: {name: "pending"}, status: {phase: "Pending"}},
	  {apiVersion: "v1", kind: "Pod", metadata: {name: "new"}}
	]}' >pods.json
}

digest_of() {
	petra images --format json | jq -r --arg n "$1" --arg t "$2" \
		'.[] | select(.name == $n and .tag == $t) | .digest'
}

@test "exec --kubernetes prints the kubectl exec commands of the matching running containers" {
	cd "$BATS_TEST_TMPDIR"
	write_pods
	local c
	c=$(digest_of app-c 1)
	# derived-from=base:1: the old app-a and app-c (by repo digest, bare
	# digest, config digest), not other, not the new app-a, not what has
	# stopped; the unknown digest said.
	run -0 petra exec --kubernetes pods.json --filter derived-from=base:1 -- sh -c "echo it's patched"
	[ "${lines[0]}" = "kubectl exec -n prod web-1 -c app -- sh -c 'echo it'\\''s patched'" ]
	[ "${lines[1]}" = "kubectl exec -n prod web-2 -c app -- sh -c 'echo it'\\''s patched'" ]
	[ "${lines[2]}" = "kubectl exec -n prod web-2 -c debugger -- sh -c 'echo it'\\''s patched'" ]
	[ "${lines[3]}" = "kubectl exec -n staging job-x -c local -- sh -c 'echo it'\\''s patched'" ]
	[[ "${lines[4]}" == "# unknown: staging/job-x/main runs docker-pullable://reg.example/gone@sha256:"*": not in the store, its lineage is unknown" ]]
	[ "${#lines[@]}" -eq 5 ]
	# What the shell reads back is the command as given.
	run -0 sh -c "$(petra exec --kubernetes pods.json --filter image=app-a:old -- printf '%s|' "a b" "it's" '$HOME' | head -n 1 | sed 's/^kubectl exec -n prod web-1 -c app -- //')"
	[ "$output" = "a b|it's|\$HOME|" ]
	# The same from standard input.
	run -0 petra exec --kubernetes - --filter derived-from=base:1 -- true <pods.json
	[ "${lines[3]}" = "kubectl exec -n staging job-x -c local -- true" ]
	[ "${#lines[@]}" -eq 5 ]
	# derived-from=base:2: only the new app-a.
	run -0 petra exec --kubernetes pods.json --filter derived-from=base:2 -- true
	[ "${lines[0]}" = "kubectl exec -n prod web-3 -c app -- true" ]
	[ "${#lines[@]}" -eq 2 ]
	# No filter: every running container the store knows.
	run -0 petra exec --kubernetes pods.json -- true
	[ "${lines[1]}" = "kubectl exec -n prod web-1 -c sidecar -- true" ]
	[ "${lines[4]}" = "kubectl exec -n prod web-3 -c app -- true" ]
	[ "${#lines[@]}" -eq 7 ]
	# json: every container, what was decided for it, and the lineage.
	run -0 petra exec --kubernetes pods.json --filter derived-from=base:1 --format json -- true
	echo "$output" | jq -e 'length == 9'
	echo "$output" | jq -e --arg c "$c" '[.[] | select(.decision == "target")][1] | del(.path) ==
		{namespace: "prod", pod: "web-2", container: "app", kind: "container", running: true,
		 image: "img", image_id: $c, digest: $c, manifest: $c, decision: "target",
		 command: ["kubectl", "exec", "-n", "prod", "web-2", "-c", "app", "--", "true"]}'
	echo "$output" | jq -e '[.[] | select(.decision == "target")][1].path |
		length == 2 and (.[0] | startswith("app-c:1@")) and (.[1] | startswith("base:1@"))'
	echo "$output" | jq -e '[.[] | select(.decision == "target")][0].path |
		length == 3 and (.[1] | startswith("runtime:1@"))'
	echo "$output" | jq -e --arg c "$c" '[.[] | select(.decision == "target")][3] |
		.container == "local" and .manifest == $c and .digest != $c'
	echo "$output" | jq -e '[.[] | select(.decision == "no match") | .pod + "/" + .container] == ["web-1/sidecar", "web-3/app"]'
	echo "$output" | jq -e '[.[] | select(.decision == "not running") | .container] == ["setup", "next"]'
	echo "$output" | jq -e '[.[] | select(.decision == "unknown") | .pod] == ["job-x"]'
	echo "$output" | jq -e '[.[] | select(.kind == "init" or .kind == "ephemeral") | .container] == ["setup", "debugger"]'
}

@test "exec --kubernetes --registry: an image the store lacks is known from a registry's repositories" {
	cd "$BATS_TEST_TMPDIR"
	write_pods
	local a
	a=$(digest_of app-a old)
	start_registry_with
	petra push -q --tls-verify=false app-a:old "$REG/app-a:old" >/dev/null
	# A store that lacks the old app-a (built elsewhere, say).
	cp -a "$PETRA_ROOT" store2
	export PETRA_ROOT="$PWD/store2"
	petra rmi app-a:old >/dev/null
	run -0 petra exec --kubernetes pods.json --filter derived-from=base:1 -- true
	[ "${lines[0]}" = "kubectl exec -n prod web-2 -c app -- true" ]
	[ "${lines[1]}" = "kubectl exec -n staging job-x -c local -- true" ]
	[ "${lines[2]}" = "# unknown: prod/web-1/app runs docker-pullable://reg.example/app-a@$a: not in the store, its lineage is unknown" ]
	[ "${lines[3]}" = "# unknown: prod/web-2/debugger runs reg.example/app-a@$a: not in the store, its lineage is unknown" ]
	[ "${#lines[@]}" -eq 5 ]
	# With the registry's repository, it is known again, and derived.
	run -0 petra exec --kubernetes pods.json --filter derived-from=base:1 \
		--registry "$REG/app-a" --tls-verify=false --format json -- true
	echo "$output" | jq -e '[.[] | select(.decision == "target") | .pod + "/" + .container] ==
		["web-1/app", "web-2/app", "web-2/debugger", "job-x/local"]'
	echo "$output" | jq -e --arg a "$a" --arg r "$REG/app-a:old@" '[.[] | select(.container == "debugger")][0] |
		.manifest == $a and (.path[0] | startswith($r))'
	run -125 petra exec --all --registry "$REG/app-a" -- true
	[[ "$output" == *"--registry and its options go with --kubernetes"* ]]
}

@test "exec --kubernetes reads strictly: the error names the field" {
	cd "$BATS_TEST_TMPDIR"
	write_pods
	jq '.items[1].status.containerStatuses[0].imageID = 7' pods.json >bad.json
	run -125 petra exec --kubernetes bad.json -- true
	[ "$output" = "petra: bad.json: items[1].status.containerStatuses[0].imageID: expected a string" ]
	jq '.items[0].metadata = []' pods.json >bad.json
	run -125 petra exec --kubernetes bad.json -- true
	[ "$output" = "petra: bad.json: items[0].metadata: expected an object" ]
	jq '.items[2].status.ephemeralContainerStatuses = {}' pods.json >bad.json
	run -125 petra exec --kubernetes bad.json -- true
	[ "$output" = "petra: bad.json: items[2].status.ephemeralContainerStatuses: expected an array" ]
	jq '.kind = "Deployment"' pods.json >bad.json
	run -125 petra exec --kubernetes bad.json -- true
	[[ "$output" == *'kind: expected "List", "PodList" or "Pod", not "Deployment"' ]]
	head -c 100 pods.json >bad.json
	run -125 petra exec --kubernetes bad.json -- true
	[[ "$output" == "petra: bad.json: invalid JSON at line "* ]]
	[ "${#lines[@]}" -eq 1 ]
	run -125 petra exec --kubernetes pods.json --filter label=x -- true
	[[ "$output" == *'--kubernetes takes'* ]]
	run -125 petra exec --kubernetes pods.json --all -- true
	run -125 petra exec --run --all -- true
	[[ "$output" == *"--run goes with --kubernetes"* ]]
}

@test "exec --kubernetes --run runs kubectl for each target, in parallel, with a timeout" {
	cd "$BATS_TEST_TMPDIR"
	write_pods
	# A kubectl stand-in that records its arguments (kubectl itself needs a
	# cluster): what is tested is how petra invokes it.
	mkdir bin
	cat >bin/kubectl <<'SH'
#!/bin/sh
printf '%s\n' "$@" >"$KUBECTL_LOG/$(echo "$*" | md5sum | cut -c1-8)"
case "$*" in *"-c debugger"*) sleep 30 ;; esac
echo "patched in $4, stdin [$(cat)]"
SH
	chmod +x bin/kubectl
	export KUBECTL_LOG="$BATS_TEST_TMPDIR/log"
	mkdir "$KUBECTL_LOG"
	PATH="$PWD/bin:$PATH" run -1 petra exec --kubernetes pods.json --filter image=app-a:old \
		--run --timeout 5 -- sh -c 'echo patched' <<<"petra's own input"
	[ "${lines[0]}" = "petra: warning: staging/job-x/main runs docker-pullable://reg.example/gone@$(printf unknown | sha256sum | cut -d' ' -f1 | sed 's/^/sha256:/'): not in the store, its lineage is unknown" ]
	[ "${lines[1]}" = "----------------" ]
	[ "${lines[2]}" = "prod/web-1/app" ]
	[ "${lines[4]}" = "patched in web-1, stdin []" ]
	[[ "${lines[5]}" =~ ^prod/web-1/app\ ok\ \(exit\ 0\)\ [0-9.]+s$ ]]
	[[ "${lines[6]}" =~ ^prod/web-2/debugger\ timed\ out\ \(killed,\ exit\ 124\)\ [0-9.]+s$ ]]
	[ "${lines[7]}" = "1 ok, 0 failed, 1 timed out" ]
	# The argv petra gave kubectl, word by word.
	[ "$(ls "$KUBECTL_LOG" | wc -l)" -eq 2 ]
	run cat "$KUBECTL_LOG"/*
	[[ "$output" == *"$(printf '%s\n' exec -n prod web-1 -c app -- sh -c 'echo patched')"* ]]
	[[ "$output" == *"$(printf '%s\n' exec -n prod web-2 -c debugger -- sh -c 'echo patched')"* ]]
	# json; and a kubectl that is not there fails every target (127).
	PATH="$PWD/bin:$PATH" run -0 --separate-stderr petra exec --kubernetes pods.json --filter image=app-c:1 \
		--run --format json -- true
	echo "$output" | jq -e '.[0] | .pod == "web-2" and .container == "app" and .status == "ok" and .output == "patched in web-2, stdin []\n"'
	PATH=/nonexistent run -1 "$PETRA" exec --kubernetes pods.json --filter image=app-c:1 --run -- true
	[[ "$output" == *"prod/web-2/app failed (exit 127)"* ]]
}
