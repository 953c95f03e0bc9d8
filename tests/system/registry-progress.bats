#!/usr/bin/env bats
# Progress of push and pull: on a terminal (a pseudo-terminal from
# util-linux's script), one line per blob redrawn in place and a summary;
# otherwise plain start and end lines per blob and the summary; -q: none.

load helpers
load registry-helpers

setup() {
	petra_setup_store
	start_registry_with
	make_two_layer_image app:1 2048
	CONFIG=$(petra inspect --manifest app:1 | jq -r '.config.digest')
	mapfile -t LAYERS < <(petra inspect --manifest app:1 | jq -r '.layers[].digest')
	BLOBS=("$CONFIG" "${LAYERS[@]}")
}

teardown() {
	registry_teardown
}

short() { echo "${1:7:12}"; }

# on_tty CMD...: run CMD under a pseudo-terminal; its output in $BATS_TEST_TMPDIR/tty.
on_tty() {
	local cmd
	printf -v cmd '%q ' "$@"
	script -qec "$cmd" /dev/null >"$BATS_TEST_TMPDIR/tty"
}

@test "on a terminal: one line per blob, redrawn in place, and a summary" {
	on_tty "$PETRA" push --tls-verify=false --chunk-size 256k app:1 "$REG/app:1"
	local out="$BATS_TEST_TMPDIR/tty" b
	cat -v "$out"
	# Drawn in place: cursor moves and erased lines, no plain lines.
	grep -q $'\e\[K' "$out"
	grep -q $'\e\[[0-9]*A' "$out"
	! grep -q 'pushing blob' "$out"
	for b in "${BLOBS[@]}"; do
		# Started at nothing, ended with all of it and a rate.
		grep -Eq "$(short "$b") pushing +0B / " "$out"
		grep -Eq "$(short "$b") pushed +([0-9.]+[kMG]?B) / \\1 +[0-9.]+[kMG]?B/s" "$out"
	done
	grep -q "petra: $REG/app:1: 3 blobs transferred (.* in .*s, .*/s), 0 already there or mounted" "$out"
	# Pull: the same lines, fetched.
	PETRA_ROOT="$BATS_TEST_TMPDIR/pulled" on_tty "$PETRA" pull --tls-verify=false "$REG/app:1"
	cat -v "$out"
	for b in "${BLOBS[@]}"; do
		grep -Eq "$(short "$b") fetched +([0-9.]+[kMG]?B) / \\1" "$out"
	done
	grep -q "petra: $REG/app:1: 3 blobs transferred" "$out"
	# A second push: every blob is there already.
	on_tty "$PETRA" push --tls-verify=false --chunk-size 256k app:1 "$REG/other:1"
	cat -v "$out"
	for b in "${BLOBS[@]}"; do
		grep -Eq "$(short "$b") (exists|mounted) " "$out"
	done
	grep -q "0 blobs transferred (0B in .*), 3 already there or mounted" "$out"
}

@test "not on a terminal: a plain line when a blob starts and when it ends; -q: nothing" {
	run --separate-stderr petra push --tls-verify=false --chunk-size 256k app:1 "$REG/app:1"
	echo "$stderr"
	[ "$status" -eq 0 ]
	[[ "$output" == sha256:* ]]
	[[ "$stderr" != *$'\e'* ]]
	local b
	for b in "${BLOBS[@]}"; do
		[[ "$stderr" == *"petra: pushing blob $(short "$b") ("*")"* ]]
		[[ "$stderr" =~ petra:\ pushed\ blob\ $(short "$b")\ \([0-9.]+[kMG]?B\ in\ [0-9.]+s,\ [0-9.]+[kMG]?B/s\) ]]
	done
	[ "$(grep -c '^petra: pushing blob' <<<"$stderr")" -eq 3 ]
	[ "$(grep -c '^petra: pushed blob' <<<"$stderr")" -eq 3 ]
	[[ "${stderr_lines[-1]}" =~ ^petra:\ $REG/app:1:\ 3\ blobs\ transferred\ \(.*\),\ 0\ already\ there\ or\ mounted$ ]]
	run --separate-stderr env PETRA_ROOT="$BATS_TEST_TMPDIR/pulled" "$PETRA" pull --tls-verify=false "$REG/app:1"
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^petra: fetching blob' <<<"$stderr")" -eq 3 ]
	[ "$(grep -c '^petra: fetched blob' <<<"$stderr")" -eq 3 ]
	# Quiet: the digest on stdout, nothing on stderr, terminal or not.
	run --separate-stderr petra push -q --tls-verify=false app:1 "$REG/third:1"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	on_tty "$PETRA" push -q --tls-verify=false app:1 "$REG/fourth:1"
	[ "$(tr -d '\r' <"$BATS_TEST_TMPDIR/tty")" = "$(petra images --format json | jq -r '.[] | select(.name == "app") | .digest')" ]
}
