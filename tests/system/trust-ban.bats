#!/usr/bin/env bats
# petra ban / unban: the policy file's ban list edited in place, every
# other byte kept (diffed), and the gate following the edits.

load helpers

setup() {
	petra_setup_store
	cd "$BATS_TEST_TMPDIR"
	cat >policy.yaml <<'YAML'
# site policy — keep this comment
version: 1

bases:
  require-digest: false   # inline comment
  allow:
    - debian:12*
  ban:
    # the first ban
    - image: debian:12.1*
      reason: CVE-2023-4911

    - digest: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
      reason: compromised # why

# trailing comment
audit: {}
YAML
	cp policy.yaml original.yaml
}

@test "ban adds exactly two lines and unban removes them: the rest of the file is byte for byte the same" {
	petra ban --policy policy.yaml --reason 'glibc "looney tunables"' alpine:3.18
	run diff original.yaml policy.yaml
	[ "$status" -eq 1 ]
	[ "$output" = '9a10,11
>     - image: "alpine:3.18"
>       reason: "glibc \"looney tunables\""' ]
	# Banning it again is refused and changes nothing.
	cp policy.yaml banned.yaml
	run petra ban --policy policy.yaml --reason again alpine:3.18
	[ "$status" -eq 1 ]
	[[ "$output" == *"already banned (line 10)"* ]]
	cmp banned.yaml policy.yaml
	# Unban by the normalised name.
	petra unban --policy policy.yaml docker.io/library/alpine:3.18
	cmp original.yaml policy.yaml
	# A digest ban; then unban removes its item only (comment lines stay).
	petra unban --policy policy.yaml sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
	run diff original.yaml policy.yaml
	[ "$output" = '13,14d12
<     - digest: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
<       reason: compromised # why' ]
	run petra unban --policy policy.yaml sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
	[ "$status" -eq 1 ]
	[[ "$output" == *"is not banned"* ]]
	# No temporary file is left next to it.
	[ "$(ls -A | grep -c '^\.tmp')" = 0 ]
}

@test "ban creates the list, the section or the file when missing" {
	printf '# only a comment\naudit: {}\n' >a.yaml
	petra ban --policy a.yaml -r r1 reg.example/x:1
	[ "$(cat a.yaml)" = '# only a comment
audit: {}
bases:
  ban:
    - image: "reg.example/x:1"
      reason: "r1"' ]
	printf 'bases:\n    allow: [debian]   # four spaces\n' >b.yaml
	petra ban --policy b.yaml -r r2 sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
	[ "$(cat b.yaml)" = 'bases:
    ban:
      - digest: "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        reason: "r2"
    allow: [debian]   # four spaces' ]
	# The default file, created with its directory.
	mkdir proj && cd proj
	petra ban -r r3 busybox
	grep -q 'image: "busybox"' .petra/policy.yaml
	# Flow style lists are left to people; bad input is refused.
	printf 'bases: {ban: [{image: a, reason: b}]}\n' >../c.yaml
	run petra ban --policy ../c.yaml -r x busybox
	[ "$status" -eq 1 ]
	[[ "$output" == *"by hand"* ]]
	run petra ban --policy ../c.yaml -r x 'UPPER CASE'
	[ "$status" -eq 1 ]
	run petra ban --policy ../c.yaml busybox
	[ "$status" -eq 2 ]
}

@test "the gate follows ban and unban at once (the decision cache does not hide them)" {
	import_busybox reg.example/app:1
	petra policy check --policy policy.yaml reg.example/app:1
	petra ban --policy policy.yaml -r "pulled" reg.example/app:1
	run petra policy check --policy policy.yaml reg.example/app:1
	[ "$status" -eq 1 ]
	[[ "$output" == *'image banned'*'pulled'* ]]
	petra unban --policy policy.yaml reg.example/app:1
	petra policy check --policy policy.yaml reg.example/app:1
}
