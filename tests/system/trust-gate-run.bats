#!/usr/bin/env bats
# The gate on every path that makes a process of an image: run, run -d,
# exec (a warning, or refused with --strict), test and bundle ask it, with
# --policy (default .petra/policy.yaml) and --signature-policy; stop and rm
# are never gated; without a policy nothing changes.

load runtime-helpers
bats_require_minimum_version 1.5.0

setup_file() {
	runtime_setup_file
	export PETRA_PASSWORD=pw
	cd "$BATS_FILE_TMPDIR"
	mkdir keys
	petra keygen -o keys/prod >/dev/null
	petra tag bb:user reg.example/prod/app:1
	petra tag bb:user reg.example/prod/signed:1
	petra tag bb:user reg.example/base/bb:1
	# An image built FROM a base (the builder records the base).
	mkdir ctx
	printf 'FROM reg.example/base/bb:1\nLABEL tier=web\n' >ctx/Dockerfile
	petra build -q -t web:1 ctx >/dev/null
	printf 'schemaVersion: "2.0.0"\ncommandTests:\n  - name: echo\n    command: echo\n    args: [hi]\n    expectedOutput: [hi]\n' \
		>"$BATS_FILE_TMPDIR/echo.yaml"
}

setup() {
	runtime_setup
	export PETRA_PASSWORD=pw
	cd "$BATS_TEST_TMPDIR"
	cp -a "$BATS_FILE_TMPDIR/keys" .
	cat >signed.yaml <<'YAML'
trust:
  scopes:
    reg.example/prod/**:
      require: signed-by
      keys: [keys/prod.pub]
YAML
}

teardown() {
	runtime_teardown
}

@test "run: an unsigned image of a signed-by scope is refused (125, reason printed); a signed one runs" {
	run -125 petra run --policy signed.yaml reg.example/prod/app:1 echo hi
	[[ "$output" == *"reg.example/prod/app:1 refused by the policy (run)"* ]]
	[[ "$output" == *'signature requirement of scope "reg.example/prod/**" not met: no signature'* ]]
	[[ "$output" != *hi* ]]
	run -125 petra run -d --policy signed.yaml reg.example/prod/app:1 sleep 30
	[ -z "$(petra ps -a -q)" ]
	petra sign --key keys/prod.key reg.example/prod/signed:1 >/dev/null
	run -0 petra run --policy signed.yaml reg.example/prod/signed:1 echo hi
	[ "$output" = hi ]
	# out of the scope: allowed
	run -0 petra run --policy signed.yaml bb:user echo other
	[ "$output" = other ]
}

@test "run --signature-policy: a containers policy.json decides too, with or without a policy file" {
	cat >containers.json <<'JSON'
{"default": [{"type": "insecureAcceptAnything"}],
 "transports": {"docker": {
   "reg.example/prod": [{"type": "sigstoreSigned", "keyPath": "keys/prod.pub"}]}}}
JSON
	run -125 petra run --signature-policy containers.json reg.example/prod/app:1 echo hi
	[[ "$output" == *"sigstoreSigned requirement not met: no signature"* ]]
	petra sign --key keys/prod.key reg.example/prod/signed:1 >/dev/null
	run -0 petra run --signature-policy containers.json reg.example/prod/signed:1 echo hi
	[ "$output" = hi ]
	# policy check answers the same
	run -1 petra policy check --signature-policy containers.json reg.example/prod/app:1
	petra policy check --signature-policy containers.json reg.example/prod/signed:1
	# it replaces the trust section's signature-policy
	printf '{"default": [{"type": "reject"}]}\n' >reject.json
	printf 'trust:\n  signature-policy: reject.json\n' >sp.yaml
	run -125 petra run --policy sp.yaml bb:user true
	[[ "$output" == *'rejected ("reject")'* ]]
	run -0 petra run --policy sp.yaml --signature-policy containers.json bb:user echo ok
	[ "$output" = ok ]
}

@test "an image whose base is then banned: run, run -d, test and bundle refuse it; exec warns (--strict refuses); stop and rm work" {
	# started before the ban
	petra run -d --name svc web:1 sh -c 'while :; do sleep 0.05; done' >/dev/null
	# the default policy file, as petra ban writes it
	petra ban --reason "CVE-2099-0003 in the base" reg.example/base/bb:1
	[ -f .petra/policy.yaml ]
	run -125 petra run web:1 echo hi
	[[ "$output" == *"web:1 refused by the policy (run)"* ]]
	[[ "$output" == *"base reg.example/base/bb:1@sha256:"*"banned"*"CVE-2099-0003 in the base"* ]]
	run -125 petra run -d --name svc2 web:1 sleep 30
	[[ "$output" == *"CVE-2099-0003"* ]]
	run -1 petra test web:1 "$BATS_FILE_TMPDIR/echo.yaml"
	[[ "$output" == *"refused by the policy (test)"*"CVE-2099-0003"* ]]
	run -1 petra bundle web:1 bundle
	[[ "$output" == *"refused by the policy (bundle)"*"CVE-2099-0003"* ]]
	[ ! -e bundle/config.json ]
	# the container that already runs: exec warns and runs the command
	run --separate-stderr -0 petra exec svc echo fixed
	[ "$output" = fixed ]
	[[ "$stderr" == *"warning: the policy now refuses web:1"* ]]
	[[ "$stderr" == *"CVE-2099-0003"* ]]
	run -125 petra exec --strict svc echo fixed
	[[ "$output" != *fixed* ]]
	[[ "$output" == *"CVE-2099-0003"* ]]
	run --separate-stderr -0 petra exec --all -- echo fixed
	[[ "$output" == *"svc web:1 ok (exit 0)"* ]]
	[[ "$stderr" == *"warning: the policy now refuses web:1"* ]]
	run -1 petra exec --all --strict -- echo fixed
	[[ "$output" == *"svc web:1 failed (refused by the policy)"* ]]
	# another policy file, given explicitly, decides instead of the default
	printf 'bases: {}\n' >open.yaml
	run -0 petra run --policy open.yaml web:1 echo open
	[ "$output" = open ]
	# never gated: stop; but start and restart make a process again, and ask
	run -0 petra stop -t 1 svc
	run -1 petra start svc
	[[ "$output" == *"refused by the policy (run)"*"CVE-2099-0003"* ]]
	run -0 petra ps -a --format json
	jq -e 'map(select(.name == "svc"))[0].running == false' <<<"$output"
	run -1 petra restart svc
	[[ "$output" == *"CVE-2099-0003"* ]]
	run -0 petra start --policy open.yaml svc
	run -0 petra stop -t 1 svc
	run -0 petra rm svc
	run -0 petra ps -a --format json
	jq -e 'map(select(.name == "svc")) | length == 0' <<<"$output"
	# the base itself is banned too; the other images are not
	run -125 petra run reg.example/base/bb:1 true
	run -0 petra run bb:root echo fine
	# unban: allowed again (the cache keeps no old refusal)
	petra unban reg.example/base/bb:1
	run -0 petra run web:1 echo back
	[ "$output" = back ]
	run -0 petra test web:1 "$BATS_FILE_TMPDIR/echo.yaml"
	run -0 petra bundle web:1 bundle
	[ -f bundle/config.json ]
}

@test "the decision cache: run fills it, and a changed policy never passes an old decision" {
	printf 'bases:\n  allow: ["**"]\n' >pol.yaml
	run -0 petra run --policy pol.yaml web:1 echo one
	# the gate's decision for run is cached (policy check sees the same entry)
	petra policy check --policy pol.yaml --format json web:1 >check.json
	jq -e '.[0].allowed and .[0].cached' check.json
	# the same file, now banning the image's base: the old "allowed" is not used
	printf 'bases:\n  allow: ["**"]\n  ban:\n    - image: reg.example/base/**\n      reason: pulled\n' >pol.yaml
	run -125 petra run --policy pol.yaml web:1 echo two
	[[ "$output" == *"banned"*"pulled"* ]]
	# and a key replaced under the same path asks again
	petra sign --key keys/prod.key reg.example/prod/signed:1 >/dev/null
	run -0 petra run --policy signed.yaml reg.example/prod/signed:1 echo signed
	rm keys/prod.key keys/prod.pub
	petra keygen -o keys/prod >/dev/null
	run -125 petra run --policy signed.yaml reg.example/prod/signed:1 echo signed
	[[ "$output" == *"wrong key"* ]]
}

@test "without a policy file, run runs as before and asks nothing" {
	[ ! -e .petra/policy.yaml ]
	rm -rf "$PETRA_ROOT/trust-cache"
	run -0 petra run web:1 echo plain
	[ "$output" = plain ]
	run -0 petra run reg.example/prod/app:1 echo plain
	[ ! -e "$PETRA_ROOT/trust-cache" ]
	# a policy file that cannot be read refuses, it does not pass
	run -125 petra run --policy missing.yaml web:1 true
	[[ "$output" == *missing.yaml* ]]
	run -1 petra test --policy missing.yaml web:1 "$BATS_FILE_TMPDIR/echo.yaml"
	run -1 petra bundle --policy missing.yaml web:1 bundle
}

@test "flow: a step's command runs in its image only when the gate allows it" {
	mkdir flow
	printf 'FROM bb:user\nLABEL step=1\n' >flow/Dockerfile
	cat >flow/build.yml <<'YAML'
build:
  version: 2016-03-14
  steps:
    first:
      name: reg.example/prod/flowed
      command: echo command-ran
YAML
	run -1 petra flow --policy signed.yaml flow/build.yml
	[[ "$output" == *"step first: command: reg.example/prod/flowed:latest refused by the policy (run): signature requirement"*"no signature"* ]]
	[[ "$output" != *command-ran* ]]
	run -0 petra flow flow/build.yml
	[[ "$output" == *command-ran* ]]
}
