#!/usr/bin/env bats
# petra rebuild: issue 15's hierarchy (lineage-fixture.bash) with base:1
# banned and rewritten to base:2 — the plan, the rebuild in dependency
# order (rebuilds, layer rebases, a harden replayed), the old images kept
# as NAME:TAG-old, the report, and the plan as Kubernetes Jobs.

bats_require_minimum_version 1.5.0

load helpers
load kube-helpers
. "$BATS_TEST_DIRNAME/lineage-fixture.bash"

setup_file() {
	export PETRA_ROOT="$BATS_FILE_TMPDIR/store"
	lineage_fixture "$BATS_FILE_TMPDIR/fixture"
}

setup() {
	# Each test works on its own copy of the fixture's store.
	export PETRA_ROOT="$BATS_TEST_TMPDIR/store"
	cp -a "$BATS_FILE_TMPDIR/store" "$PETRA_ROOT"
	export LINEAGE_CTX="$BATS_FILE_TMPDIR/fixture/ctx"
	cd "$BATS_TEST_TMPDIR"
	cat >policy.yaml <<'YAML'
bases:
  ban:
    - image: base:1
      reason: CVE-2099-0001 in base 1
  rewrite:
    - match: base:1
      to: base:2
      reason: base 2 has the fix
YAML
}

teardown() {
	stop_registry
}

digest_of() {
	petra images --format json | jq -r --arg n "$1" '.[] | select(.name + ":" + .tag == $n) | .digest'
}

# The manifest annotation KEY of IMAGE.
annotation() {
	petra inspect "$1" | jq -r --arg k "$2" '.[0].manifest.annotations[$k] // empty'
}

@test "rebuild --plan --format json: roots, levels and what each image gets; nothing changes" {
	petra images --format json >before.json
	run -0 petra rebuild --banned --policy policy.yaml --plan --format json
	echo "$output" >plan.json
	[ "$(jq -r '.roots[0].name' plan.json)" = base:1 ]
	[ "$(jq -r '.roots[0].digest' plan.json)" = "$(digest_of base:1)" ]
	[ "$(jq -r '.roots[0].replacement' plan.json)" = base:2 ]
	[ "$(jq '.levels | length' plan.json)" = 3 ]
	# level 0: made on base:1 itself; app-c is COPY only, app-d's builder
	# stage runs, bah:1 (buildah, no record) runs a step: not rebuildable.
	[ "$(jq -c '[.levels[0][] | [.name, .action]]' plan.json)" = \
		'[["app-c:1","rebase"],["app-d:1","rebuild"],["bah:1","none"],["runtime:1","rebuild"]]' ]
	[ "$(jq -c '[.levels[1][] | [.name, .action, .base, (.after | join(","))]]' plan.json)" = \
		'[["app-a:1","rebuild","runtime:1","runtime:1"],["app-b:1","rebase","runtime:1","runtime:1"]]' ]
	[ "$(jq -c '[.levels[2][] | [.name, .action, (.after | join(","))]]' plan.json)" = \
		'[["app-a:hard","harden","app-a:1"]]' ]
	[[ "$(jq -r '.levels[0][] | select(.name == "bah:1") | .why' plan.json)" == "no build record"* ]]
	[[ "$(jq -r '.levels[0][] | select(.name == "runtime:1") | .why' plan.json)" == *"RUN /bin/sh -c mkdir"* ]]
	[ "$(jq -r '.levels[0][] | select(.name == "runtime:1") | .record.dockerfile' plan.json)" = \
		"$LINEAGE_CTX/runtime/Dockerfile" ]
	[ "$(jq -r '.levels[0][] | select(.name == "app-c:1") | .new_base' plan.json)" = base:2 ]
	# other:1 is not derived from base:1.
	! grep -q other plan.json
	petra images --format json >after.json
	cmp before.json after.json
	# The text plan says the same.
	run -0 petra rebuild --banned --policy policy.yaml --plan
	[[ "$output" == *"root base:1 ("*") -> base:2"* ]]
	[[ "$output" == *"level 2:"*"harden   app-a:hard"* ]]
}

@test "rebuild --banned: runtime then app-a on it, app-b and app-c rebased, app-d and app-a:hard made again; old images kept as -old" {
	declare -A old
	local image
	for image in runtime:1 app-a:1 app-b:1 app-c:1 app-d:1 app-a:hard bah:1 other:1; do
		old[$image]=$(digest_of "$image")
	done
	# app-c's context changes after its build: a rebase runs no COPY again.
	echo changed >"$LINEAGE_CTX/app-c/payload.txt"
	run -1 petra rebuild --banned --policy policy.yaml --jobs 2 --format json
	echo "$output" | sed -n '/^{/,$p' >report.json
	echo "$output" | sed -n '/^{/,$p' | jq -r . >/dev/null
	echo "$(jq -c '[.rebuilt[].name]' report.json)"
	[ "$(jq -c '[.rebuilt[].name] | sort' report.json)" = '["app-a:1","app-a:hard","app-d:1","runtime:1"]' ]
	[ "$(jq -c '[.rebased[].name] | sort' report.json)" = '["app-b:1","app-c:1"]' ]
	[ "$(jq -c '[.["not-rebuildable"][].name]' report.json)" = '["bah:1"]' ]
	[ "$(jq -c '[.failed[], .skipped[], .unchanged[]] | length' report.json)" = 0 ]
	echo "${old[runtime:1]}" "$(digest_of runtime:1)"
	# Every result has the old names; each old image is kept as NAME:TAG-old.
	for image in runtime:1 app-a:1 app-b:1 app-c:1 app-d:1 app-a:hard; do
		[ "$(digest_of "$image")" != "${old[$image]}" ]
		[ "$(digest_of "$image-old")" = "${old[$image]}" ]
		[ "$(jq -r --arg n "$image" '[.rebuilt[], .rebased[]] | .[] | select(.name == $n) | .new_digest' report.json)" = \
			"$(digest_of "$image")" ]
	done
	[ "$(digest_of bah:1)" = "${old[bah:1]}" ]
	[ "$(digest_of other:1)" = "${old[other:1]}" ]
	[ -z "$(digest_of bah:1-old)" ]
	# The bases: runtime and app-c on base:2, app-a and app-b on the new runtime.
	local base2 runtime
	base2=$(digest_of base:2)
	runtime=$(digest_of runtime:1)
	[ "$(annotation runtime:1 org.opencontainers.image.base.digest)" = "$base2" ]
	[ "$(annotation app-c:1 org.opencontainers.image.base.digest)" = "$base2" ]
	[ "$(annotation app-c:1 org.opencontainers.image.base.name)" = localhost/base:2 ]
	[ "$(annotation runtime:1 org.opencontainers.image.base.name)" = localhost/base:2 ]
	[ "$(annotation app-a:1 org.opencontainers.image.base.digest)" = "$runtime" ]
	[ "$(annotation app-b:1 org.opencontainers.image.base.digest)" = "$runtime" ]
	# The files: base:2's release file under every rebuilt image.
	for image in runtime:1 app-a:1 app-b:1 app-c:1; do
		petra unpack "$image" "rootfs-$image"
		[ "$(cat "rootfs-$image/etc/base-release")" = patched ]
	done
	[ "$(cat rootfs-app-a:1/opt/runtime/app-a)" = app-a ]
	[ "$(cat rootfs-app-b:1/opt/app-b/payload.txt)" = app-b ]
	# app-c: rebased, not built: its own layer is the old one, payload and all.
	[ "$(cat rootfs-app-c:1/srv/app-c/payload.txt)" = app-c ]
	[ "$(petra inspect app-c:1 | jq -r '.[0].manifest.layers[-1].digest')" = \
		"$(petra inspect app-c:1-old | jq -r '.[0].manifest.layers[-1].digest')" ]
	[ "$(petra inspect app-c:1 | jq '.[0].config.rootfs.diff_ids | length')" = \
		"$(petra inspect base:2 | jq '.[0].config.rootfs.diff_ids | length + 1')" ]
	# app-d: its builder stage ran on base:2 (the final stage is FROM scratch).
	petra unpack app-d:1 rootfs-app-d
	[ "$(cat rootfs-app-d/app-d)" = built-by-builder ]
	# app-a:hard: hardened again, from the new app-a:1, with its /tmp.
	[ "$(petra inspect app-a:hard | jq -r '.[0].config.config.Labels["org.petra.hardened.from"]')" = \
		"$(digest_of app-a:1)" ]
	[[ "$(petra inspect app-a:hard | jq -r '.[0].config.config.Labels["org.petra.writable-paths"]')" == *'"/tmp"'* ]]
	# The lineage: derived-from base:1 now finds only the old images (and
	# bah:1, which nobody could rebuild); base:2 finds the new ones.
	run -0 petra images --filter derived-from=base:1 --format json
	[ "$(echo "$output" | jq -c '[.[] | .name + ":" + .tag] | sort')" = \
		'["app-a:1-old","app-a:hard-old","app-b:1-old","app-c:1-old","app-d:1-old","bah:1","runtime:1-old"]' ]
	run -0 petra images --filter derived-from=base:2 --format json
	[ "$(echo "$output" | jq -c '[.[] | .name + ":" + .tag] | sort')" = \
		'["app-a:1","app-a:hard","app-b:1","app-c:1","app-d:1","runtime:1"]' ]
	# The gate refuses the old digests and lets the new ones run.
	run -125 petra run --policy policy.yaml "${old[runtime:1]}" true
	[[ "$output" == *banned* ]]
	run -125 petra run --policy policy.yaml "${old[app-c:1]}" true
	[[ "$output" == *banned* ]]
	# Those made on an old image too: the gate follows the chain of bases
	# and the build records — app-d's final stage is FROM scratch, only
	# its record ties it to base:1 (through its builder stage).
	for image in app-a:1 app-b:1 app-a:hard app-d:1; do
		run -125 petra run --policy policy.yaml "${old[$image]}" true
		[[ "$output" == *"base:1@$(digest_of base:1) of sha256:"*" banned"* ]]
	done
	[[ "$output" == *"stage "*"base:1@$(digest_of base:1) of ${old[app-d:1]} banned"* ]]
	run -0 petra run --policy policy.yaml runtime:1 cat /opt/runtime/version
	[ "$output" = runtime ]
	# A second run has nothing left but what it could not do before.
	run -0 petra rebuild --banned --policy policy.yaml --plan --format json
	[ "$(echo "$output" | jq -c '[.levels[][] | .name]')" = '["bah:1"]' ]
}

@test "rebuild --no-rebase rebuilds app-b and app-c; --rebase-only rebases app-c and lists the rest" {
	run -0 petra rebuild --derived-from app-c:1 --policy policy.yaml --plan --format json
	[ "$(echo "$output" | jq -c '.levels')" = '[]' ]
	echo changed >"$LINEAGE_CTX/app-c/payload.txt"
	# bah:1 (buildah's, no record, a RUN) cannot be done: exit status 1.
	run -1 petra rebuild --banned --policy policy.yaml --rebase-only --format json
	echo "$output" | sed -n '/^{/,$p' >report.json
	[ "$(jq -c '[.rebased[].name]' report.json)" = '["app-c:1"]' ]
	[ "$(jq -c '[.rebuilt[]] | length' report.json)" = 0 ]
	[ "$(jq -c '[.skipped[].name] | sort' report.json)" = '["app-a:1","app-a:hard","app-b:1","app-d:1","runtime:1"]' ]
	[[ "$(jq -r '.skipped[] | select(.name == "runtime:1") | .why' report.json)" == "needs a rebuild (--rebase-only)" ]]
	[ -n "$(digest_of app-c:1-old)" ]
	[ -z "$(digest_of runtime:1-old)" ]
	# --no-rebase on a fresh copy: every image built, app-c from its changed context.
	rm -rf "$PETRA_ROOT" && cp -a "$BATS_FILE_TMPDIR/store" "$PETRA_ROOT"
	run -1 petra rebuild --banned --policy policy.yaml --no-rebase --format json
	echo "$output" | sed -n '/^{/,$p' >report.json
	[ "$(jq -c '[.rebuilt[].name] | sort' report.json)" = \
		'["app-a:1","app-a:hard","app-b:1","app-c:1","app-d:1","runtime:1"]' ]
	[ "$(jq -c '.rebased | length' report.json)" = 0 ]
	petra unpack app-c:1 rootfs-c
	[ "$(cat rootfs-c/srv/app-c/payload.txt)" = changed ]
	echo app-c >"$LINEAGE_CTX/app-c/payload.txt"
}

@test "rebuild --banned without a rewrite: the rebase has no new base (listed), a build stops at the ban (failed)" {
	cat >ban-only.yaml <<'YAML'
bases:
  ban:
    - image: base:1
      reason: CVE-2099-0001 in base 1
YAML
	run -0 petra rebuild --banned --policy ban-only.yaml --plan --format json
	[ "$(echo "$output" | jq -r '.levels[0][] | select(.name == "app-c:1") | .action')" = none ]
	[[ "$(echo "$output" | jq -r '.levels[0][] | select(.name == "app-c:1") | .why')" == *"base:1 is banned and the policy rewrites it to nothing"* ]]
	run -1 petra rebuild --banned --policy ban-only.yaml --format json
	echo "$output" | sed -n '/^{/,$p' >report.json
	[[ "$(jq -r '.failed[] | select(.name == "runtime:1") | .error' report.json)" == *banned* ]]
	[ "$(jq -c '[.rebuilt[], .rebased[], .unchanged[]] | length' report.json)" = 0 ]
	[ -z "$(digest_of runtime:1-old)" ]
}

@test "rebuild: a failed build reports its step and output, what is made from it is skipped, the old names stay" {
	mkdir -p ctx-fragile ctx-above
	cat >ctx-fragile/Dockerfile <<'EOF'
FROM base:1
RUN if [ -e /etc/base-release ]; then echo "fragile: refuses the patched base" >&2; exit 3; fi
EOF
	printf 'FROM fragile:1\nRUN echo above >/above\n' >ctx-above/Dockerfile
	petra build -q -t fragile:1 ctx-fragile >/dev/null
	petra build -q -t above:1 ctx-above >/dev/null
	local fragile
	fragile=$(digest_of fragile:1)
	# A rollback name an earlier rebuild left is put back when this one fails.
	petra tag other:1 fragile:1-old
	run -0 petra rebuild --derived-from base:1 --policy policy.yaml --plan
	[[ "$output" == *"level 1:"*"rebuild  above:1"* ]]
	run -1 petra rebuild --banned --policy policy.yaml --jobs 2
	[[ "$output" == *"failed           fragile:1: "*"status 3"* ]]
	[[ "$output" == *"    | "*"fragile: refuses the patched base"* ]]
	[[ "$output" == *"skipped          above:1: it is made from fragile:1, which was not rebuilt (failed)"* ]]
	[[ "$output" == *"rebuilt          runtime:1"* ]]
	[ "$(digest_of fragile:1)" = "$fragile" ]
	[ "$(digest_of fragile:1-old)" = "$(digest_of other:1)" ]
	[ -z "$(digest_of above:1-old)" ]
}

@test "rebuild: an image saved by run --learn gets what was learned again, on the new version of the image it learned from" {
	run -0 petra run --rm --learn --save app-c:learned app-c:1 \
		sh -c 'mkdir -p /var/cache/x && echo a >/var/cache/x/f'
	local label
	label=$(petra inspect app-c:learned | jq -r '.[0].config.config.Labels["org.petra.writable-paths"]')
	[[ "$label" == *'"/var/cache'* ]]
	run -0 petra rebuild --derived-from base:1 --policy policy.yaml --plan --format json
	[ "$(echo "$output" | jq -c '.levels[1][] | select(.name == "app-c:learned") | [.action, (.after | join(","))]')" = \
		'["learn","app-c:1"]' ]
	run -1 petra rebuild --derived-from base:1 --policy policy.yaml --format json
	echo "$output" | sed -n '/^{/,$p' >report.json
	jq -e '.rebuilt[] | select(.name == "app-c:learned")' report.json
	# The label again, on the rebased app-c:1's layers.
	[ "$(petra inspect app-c:learned | jq -r '.[0].config.config.Labels["org.petra.writable-paths"]')" = "$label" ]
	[ "$(petra inspect app-c:learned | jq -c '.[0].config.rootfs.diff_ids')" = \
		"$(petra inspect app-c:1 | jq -c '.[0].config.rootfs.diff_ids')" ]
	[ -n "$(digest_of app-c:learned-old)" ]
}

@test "rebuild: a context that is gone is cloned from its git remote at the recorded revision; without one the image is listed" {
	# A context in git whose origin is a remote: git's insteadOf sends the
	# clone to a local bare repository (no network).
	git init -q --bare remote.git
	git init -q ctx-git
	printf 'FROM base:1\nCOPY git-file.txt /git-file.txt\nRUN cat /git-file.txt >/copy.txt\n' >ctx-git/Dockerfile
	echo from-git >ctx-git/git-file.txt
	git -C ctx-git add .
	git -C ctx-git -c user.name=t -c user.email=t@t commit -qm one
	git -C ctx-git remote add origin https://git.example.invalid/team/app.git
	git -C ctx-git push -q "$BATS_TEST_TMPDIR/remote.git" HEAD:refs/heads/main
	printf '[url "file://%s/remote.git"]\n\tinsteadOf = https://git.example.invalid/team/app.git\n' \
		"$BATS_TEST_TMPDIR" >gitconfig
	export GIT_CONFIG_GLOBAL="$BATS_TEST_TMPDIR/gitconfig"
	petra build -q -t gitapp:1 ctx-git >/dev/null
	local revision
	revision=$(git -C ctx-git rev-parse HEAD)
	# Built with a change no commit holds: its revision is "-dirty".
	echo uncommitted >>ctx-git/git-file.txt
	petra build -q -t dirty:1 ctx-git >/dev/null
	git -C ctx-git checkout -q git-file.txt
	# A later commit the rebuild must not take.
	echo later >ctx-git/git-file.txt
	git -C ctx-git -c user.name=t -c user.email=t@t commit -qam two
	git -C ctx-git push -q "$BATS_TEST_TMPDIR/remote.git" HEAD:refs/heads/main
	mkdir -p ctx-gone
	printf 'FROM base:1\nRUN true\n' >ctx-gone/Dockerfile
	petra build -q -t gone:1 ctx-gone >/dev/null
	rm -rf ctx-git ctx-gone
	run -0 petra rebuild --banned --policy policy.yaml --plan --format json
	[ "$(echo "$output" | jq -r '.levels[0][] | select(.name == "gitapp:1") | .record.git_revision')" = "$revision" ]
	[ "$(echo "$output" | jq -r '.levels[0][] | select(.name == "gitapp:1") | .action')" = rebuild ]
	[ "$(echo "$output" | jq -r '.levels[0][] | select(.name == "gone:1") | .action')" = none ]
	[[ "$(echo "$output" | jq -r '.levels[0][] | select(.name == "gone:1") | .why')" == "context gone: $BATS_TEST_TMPDIR/ctx-gone"* ]]
	[ "$(echo "$output" | jq -r '.levels[0][] | select(.name == "dirty:1") | .action')" = none ]
	[[ "$(echo "$output" | jq -r '.levels[0][] | select(.name == "dirty:1") | .why')" == *"$revision-dirty is not a commit"* ]]
	mkdir tmp
	TMPDIR="$BATS_TEST_TMPDIR/tmp" run -1 petra rebuild --banned --policy policy.yaml --format json
	echo "$output" | sed -n '/^{/,$p' >report.json
	jq -e '.rebuilt[] | select(.name == "gitapp:1")' report.json
	jq -e '.["not-rebuildable"][] | select(.name == "gone:1")' report.json
	petra unpack gitapp:1 rootfs-git
	[ "$(cat rootfs-git/copy.txt)" = from-git ]
	[ "$(cat rootfs-git/etc/base-release)" = patched ]
	# The temporary clone is gone.
	[ -z "$(ls -A tmp)" ]
}

@test "rebuild --emit kubernetes: one Indexed Job per level, restricted pods, valid against the API schema and its fields" {
	# The Jobs run petra pinned by digest, as kube-lint wants.
	local PETRA_IMAGE="registry.example:5000/petra@sha256:$(printf '%064d' 7)"
	run -0 petra rebuild --banned --policy policy.yaml --jobs 2 --emit kubernetes \
		--registry registry.example:5000/rebuilt --petra-image "$PETRA_IMAGE" \
		-o jobs.yaml
	run kube_schema_check jobs.yaml
	echo "$output"
	[ "$status" -eq 0 ]
	run -0 kube_strict_check jobs.yaml
	yaml_to_json jobs.yaml >jobs.json
	[ "$(jq -c '[.[].kind]' jobs.json)" = '["ConfigMap","Job","Job","Job"]' ]
	[ "$(jq -c '[.[] | select(.kind == "Job") | [.metadata.name, .spec.completionMode, .spec.completions, .spec.parallelism]]' jobs.json)" = \
		'[["petra-rebuild-level-0","Indexed",3,2],["petra-rebuild-level-1","Indexed",2,2],["petra-rebuild-level-2","Indexed",1,1]]' ]
	# Index i of level 0 is the i-th image the annotation lists (bah:1, not
	# rebuildable, has no index).
	[ "$(jq -r '.[1].metadata.annotations["petra.dev/rebuild-images"]' jobs.json)" = \
		'["app-c:1","app-d:1","runtime:1"]' ]
	[ "$(jq -r '.[2].metadata.annotations["petra.dev/rebuild-after"]' jobs.json)" = petra-rebuild-level-0 ]
	# The plan travels in the ConfigMap.
	[ "$(jq -r '.[0].data["plan.json"]' jobs.json | jq -r '.registry')" = registry.example:5000/rebuilt ]
	# Pods without privileges.
	local pod='.[1].spec.template.spec'
	[ "$(jq -c "$pod.securityContext" jobs.json)" = \
		'{"runAsNonRoot":true,"runAsUser":1000,"runAsGroup":1000,"seccompProfile":{"type":"RuntimeDefault"}}' ]
	[ "$(jq -c "$pod.containers[0].securityContext" jobs.json)" = \
		'{"allowPrivilegeEscalation":false,"privileged":false,"readOnlyRootFilesystem":true,"runAsNonRoot":true,"capabilities":{"drop":["ALL"]},"seccompProfile":{"type":"RuntimeDefault"}}' ]
	[ "$(jq -c "$pod.containers[0].args" jobs.json)" = \
		'["rebuild","--from-plan","/etc/petra-rebuild/plan.json","--level","0","--index","$(JOB_COMPLETION_INDEX)","--push","registry.example:5000/rebuilt"]' ]
	[ "$(jq -r "$pod.restartPolicy" jobs.json)" = Never ]
	[ "$(jq -r "$pod.containers[0].image" jobs.json)" = "$PETRA_IMAGE" ]
	[ "$(jq -c "$pod.containers[0].resources.limits" jobs.json)" = '{"cpu":"2","memory":"2Gi"}' ]
	# petra's own kube-lint finds nothing to say about the Jobs' pods.
	run -0 petra kube-lint jobs.yaml
	echo "$output"
	# Bad usage.
	run -2 petra rebuild --banned --emit kubernetes
	run -2 petra rebuild --banned --emit helm --registry r/x
	run -2 petra rebuild --banned --derived-from base:1
	run -2 petra rebuild --rebase-only --no-rebase --banned
	# petra's own failures: 125.
	run -125 petra rebuild --derived-from nosuch:1 --policy policy.yaml
	[[ "$output" == *nosuch* ]]
	echo 'bases: [' >broken.yaml
	run -125 petra rebuild --banned --policy broken.yaml
	[[ "$output" == "petra: "*broken.yaml* ]]
}

@test "rebuild --from-plan: a Job's index makes its image in an empty store from a registry and pushes it there" {
	start_registry
	local prefix="$REGISTRY/rebuilt" image
	# The images the Jobs start from, where the pods find this store's names.
	for image in base:1 base:2 runtime:1 app-a:1 app-c:1; do
		petra push -q --tls-verify=false "$image" "$prefix/$image" >/dev/null
	done
	run -0 petra rebuild --banned --policy policy.yaml --emit kubernetes --registry "$prefix" -o jobs.yaml
	yaml_to_json jobs.yaml | jq -r '.[0].data["plan.json"]' >plan.json
	local names0 names1
	names0=$(jq -r '.[1].metadata.annotations["petra.dev/rebuild-images"]' <(yaml_to_json jobs.yaml))
	[ "$names0" = '["app-c:1","app-d:1","runtime:1"]' ]
	# Level 0, index 0 (app-c:1, a rebase) and index 2 (runtime:1, a build),
	# each in a store of its own, as pods are.
	PETRA_ROOT="$BATS_TEST_TMPDIR/pod0" run -0 petra rebuild --from-plan plan.json --level 0 --index 0 \
		--push "$prefix" --tls-verify=false --format json
	echo "$output"
	[ "$(echo "$output" | sed -n '/^{/,$p' | jq -r '.rebased[0].name')" = app-c:1 ]
	PETRA_ROOT="$BATS_TEST_TMPDIR/pod2" run -0 petra rebuild --from-plan plan.json --level 0 --index 2 \
		--push "$prefix" --tls-verify=false
	[[ "$output" == *"rebuilt          runtime:1"* ]]
	# Level 1, index 0: app-a:1 on the runtime level 0 pushed.
	PETRA_ROOT="$BATS_TEST_TMPDIR/pod3" run -0 petra rebuild --from-plan plan.json --level 1 --index 0 \
		--push "$prefix" --tls-verify=false
	[[ "$output" == *"rebuilt          app-a:1"* ]]
	# What the registry holds now: app-c on base:2, app-a on the new runtime.
	local base2 runtime
	base2=$(digest_of base:2)
	skopeo inspect --raw --tls-verify=false "docker://$prefix/app-c:1" >app-c.json
	[ "$(jq -r '.annotations["org.opencontainers.image.base.digest"]' app-c.json)" = "$base2" ]
	runtime=$(skopeo inspect --tls-verify=false "docker://$prefix/runtime:1" | jq -r .Digest)
	skopeo inspect --raw --tls-verify=false "docker://$prefix/app-a:1" >app-a.json
	[ "$(jq -r '.annotations["org.opencontainers.image.base.digest"]' app-a.json)" = "$runtime" ]
	skopeo inspect --raw --tls-verify=false "docker://$prefix/runtime:1" >runtime.json
	[ "$(jq -r '.annotations["org.opencontainers.image.base.digest"]' runtime.json)" = "$base2" ]
	# An index past the level's end is petra's error.
	PETRA_ROOT="$BATS_TEST_TMPDIR/pod4" run -125 petra rebuild --from-plan plan.json --level 2 --index 1 \
		--push "$prefix" --tls-verify=false
	[[ "$output" == *"level 2 has no image 1"* ]]
}
