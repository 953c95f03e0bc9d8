#!/usr/bin/env bats
# The README's tour, run as written, so the README cannot drift from petra.
#
# Convention (stated in README.md under "## Tour"): every ```sh block of the
# "## Tour" section is run, in order, in one shell, from the top of a copy
# of the repository, with `petra` from the build on PATH and a store and run
# directory of the test's own. Each command must exit 0, or N when its
# comment ends with "(exit N)".

load helpers

REPO="$BATS_TEST_DIRNAME/../.."

# The tour's commands, one per line (a line ending in a backslash is joined
# with the next).
tour_commands() {
	awk '
		/^## / { in_tour = ($0 == "## Tour") ; next }
		in_tour && /^```sh$/ { in_block = 1; next }
		in_tour && in_block && /^```/ { in_block = 0; next }
		in_tour && in_block {
			if (sub(/\\$/, "")) { pending = pending $0; next }
			line = pending $0; pending = ""
			if (line ~ /^[ \t]*(#|$)/) next
			print line
		}
	' "$1"
}

setup() {
	petra_setup_store
	export PETRA_RUN_DIR="$BATS_TEST_TMPDIR/run"
	# mktemp -d in the tour lands here, cleaned up with the test.
	export TMPDIR="$BATS_TEST_TMPDIR/tmp"
	mkdir -p "$TMPDIR"
	PETRA_DIR=$(cd "$(dirname "$PETRA")" && pwd)
}

teardown() {
	"$PETRA" rm -f site >/dev/null 2>&1 || true
}

@test "the tour covers the verbs a new user meets" {
	local commands verb
	commands=$(tour_commands "$REPO/README.md")
	[ "$(echo "$commands" | wc -l)" -ge 40 ]
	for verb in import images inspect export unpack lint rebase build history flow \
		audit harden test run ps logs exec stop rm bundle verify fsck rmi prune; do
		echo "$commands" | grep -qE "(^|[;&|(] *)petra $verb( |$)" ||
			{ echo "the tour has no petra $verb" >&2; return 1; }
	done
	echo "$commands" | grep -q -- 'petra run --learn'
	echo "$commands" | grep -qx 'petra flow examples/flow/build.yml.*'
}

@test "every command of the README's tour works as written, and leaves the clone clean" {
	# A clean copy of the repository as it stands (tracked and new files,
	# not what .gitignore ignores), committed, so git status can tell what
	# the tour leaves behind.
	local clone="$BATS_TEST_TMPDIR/clone"
	mkdir -p "$clone"
	(cd "$REPO" && git ls-files -z -co --exclude-standard | xargs -0 cp --parents -t "$clone" 2>/dev/null) || true
	[ -f "$clone/README.md" ] && [ -f "$clone/examples/flow/build.yml" ]
	git -C "$clone" init -q
	git -C "$clone" add -A
	git -C "$clone" -c user.name=tour -c user.email=tour@localhost commit -qm clone

	tour_commands "$clone/README.md" >"$BATS_TEST_TMPDIR/tour"
	# Each command is evaluated in the same shell (variables carry over),
	# with standard input from /dev/null, and its status checked.
	cat >"$BATS_TEST_TMPDIR/runner" <<'RUNNER'
set -o pipefail
n=0
while IFS= read -r cmd <&3; do
	n=$((n + 1))
	want=0
	if [[ $cmd =~ \(exit\ ([0-9]+)\)[[:space:]]*$ ]]; then want=${BASH_REMATCH[1]}; fi
	printf '$ %s\n' "$cmd"
	eval "$cmd" </dev/null
	got=$?
	if [ "$got" -ne "$want" ]; then
		printf 'tour command %d exited %d, the README expects %d:\n  %s\n' "$n" "$got" "$want" "$cmd"
		exit 1
	fi
done 3<"$1"
echo "tour: $n commands as the README says"
RUNNER
	cd "$clone"
	run env PATH="$PETRA_DIR:$PATH" bash "$BATS_TEST_TMPDIR/runner" "$BATS_TEST_TMPDIR/tour"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"tour: "*" commands as the README says"* ]]
	# What the README says the commands print.
	[[ $output == *"reproducible: sha256:"* ]]
	[[ $output == *"hello from 1.0 on Linux"* ]]
	[[ $output == *'"config_writable":false'* ]]
	[[ $output == *"url:/cgi-bin/request"* ]]
	[[ $output == *"0 errors, 0 warnings, 0 info"* ]]
	# The flow wrote its artifact into the clone, and git ignores it; the
	# tour leaves nothing else behind.
	[ -f "$clone/examples/flow/artifacts/rootfs/app/hello.sh" ]
	run git -C "$clone" status --porcelain --untracked-files=all
	[ "$status" -eq 0 ]
	[ -z "$output" ] || { echo "left behind: $output" >&2; return 1; }
}
