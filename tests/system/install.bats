#!/usr/bin/env bats
# meson install (make install): the binaries, a man page per verb made from
# docs/man/*.md by pandoc, and a bash completion, all where man and bash
# look for them.

load helpers

REPO="$BATS_TEST_DIRNAME/../.."

setup_file() {
	BUILD_DIR=$(cd "$(dirname "$PETRA")" && pwd)
	export BUILD_DIR
	export DEST="$BATS_FILE_TMPDIR/dest"
	DESTDIR="$DEST" meson install -C "$BUILD_DIR" --no-rebuild --quiet >"$BATS_FILE_TMPDIR/install.log" 2>&1 ||
		{ cat "$BATS_FILE_TMPDIR/install.log" >&2; return 1; }
	PREFIX=$(meson introspect --buildoptions "$BUILD_DIR" | jq -r '.[] | select(.name == "prefix") | .value')
	export PREFIX
	export MANDIR="$DEST$PREFIX/share/man"
}

# The verbs petra lists in its help.
all_verbs() {
	petra --help | awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }'
}

@test "meson install puts petra, petra-supervisor, petra-init and petra-copy under the prefix, and the installed petra runs" {
	[ -x "$DEST$PREFIX/bin/petra" ]
	[ -x "$DEST$PREFIX/libexec/petra-supervisor" ]
	[ -x "$DEST$PREFIX/libexec/petra-init" ]
	[ -x "$DEST$PREFIX/libexec/petra-copy" ]
	# Static: they run in roots that have no libc.
	file "$DEST$PREFIX/libexec/petra-init" | grep -q "statically linked"
	file "$DEST$PREFIX/libexec/petra-copy" | grep -q "statically linked"
	run "$DEST$PREFIX/bin/petra" --version
	[ "$status" -eq 0 ]
	[[ $output == "petra version "* ]]
}

@test "every verb has an installed man page that man -l renders" {
	local verbs verb page
	verbs=$(all_verbs)
	[ "$(echo "$verbs" | wc -l)" -ge 20 ]
	for verb in petra $(echo "$verbs" | sed 's/^/petra-/'); do
		page="$MANDIR/man1/$verb.1"
		[ -f "$page" ] || { echo "no installed man page $verb.1" >&2; return 1; }
		# roff, not Markdown: a title line, and no Markdown headings left.
		grep -q '^\.TH "' "$page"
		! grep -q '^#' "$page"
		# whatis can read its NAME line (mandb indexes it for man -k).
		run lexgrog "$page"
		[ "$status" -eq 0 ] || { echo "$verb.1: $output" >&2; return 1; }
		[[ $output == *"\"$verb - "* ]]
	done
	run env MANWIDTH=80 man -l "$MANDIR/man1/petra-run.1"
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "petra-run(1)"*"petra manual"*"petra-run(1)" ]]
	# (the dash of the NAME line is "—" or "--", as the locale allows)
	[[ $output == *"NAME"*"petra-run "*" run a command in a new read-only"* ]]
	[[ $output == *"SYNOPSIS"*"Usage: petra run [OPTIONS] IMAGE"* ]]
	[[ $output == *"--learn"* ]]
	# No Markdown markup survives into the rendered page.
	[[ $output != *'```'* ]] && [[ $output != *'## '* ]]
}

@test "MANPATH=... man petra-run finds the installed page" {
	run env MANPATH="$MANDIR" man -w petra-run
	[ "$status" -eq 0 ]
	[ "$output" = "$MANDIR/man1/petra-run.1" ]
	run env MANPATH="$MANDIR" MANWIDTH=80 man petra-run
	[ "$status" -eq 0 ]
	[[ $output == *"Immutable by default"* ]]
	run env MANPATH="$MANDIR" man -w petra
	[ "$output" = "$MANDIR/man1/petra.1" ]
}

# COMPREPLY of the installed completion for a command line whose last word
# is being completed.
complete_words() {
	PATH="$DEST$PREFIX/bin:$PATH" bash -c '
		source "$1"; shift
		complete -p petra >/dev/null || exit 1
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		_petra
		printf "%s\n" "${COMPREPLY[@]}"' _ "$DEST$PREFIX/share/bash-completion/completions/petra" "$@"
}

@test "the installed bash completion completes verbs, their options and image names" {
	[ -f "$DEST$PREFIX/share/bash-completion/completions/petra" ]
	run complete_words petra ''
	[ "$status" -eq 0 ]
	[ "$output" = "$(all_verbs)" ] || [ "$(echo "$output" | sort)" = "$(all_verbs | sort)" ]
	run complete_words petra r
	[ "$(echo "$output" | sort | tr '\n' ' ')" = "rebase rebuild restart rm rmi run " ]
	run complete_words petra run --le
	[ "$output" = "--learn" ]
	run complete_words petra --root /x harden --wr
	[ "$output" = "--writable" ]
	run complete_words petra --lo
	[ "$output" = "--log-level" ]
	# Image names from the store the command line names.
	petra_setup_store
	make_busybox_rootfs "$BATS_TEST_TMPDIR/rootfs"
	petra import -q "$BATS_TEST_TMPDIR/rootfs" --ref completion-test:1 >/dev/null
	run complete_words petra --root "$PETRA_ROOT" inspect completion-
	[ "$output" = "completion-test:1" ]
	run complete_words petra --root "$PETRA_ROOT" rebuild --derived-from completion-
	[ "$output" = "completion-test:1" ]
	run complete_words petra rebuild --emit k
	[ "$output" = "kubernetes" ]
}

@test "make install installs under DESTDIR too" {
	local dest="$BATS_TEST_TMPDIR/make-dest"
	run env DESTDIR="$dest" make -C "$REPO" install BUILD="$BUILD_DIR"
	[ "$status" -eq 0 ]
	[ -x "$dest$PREFIX/bin/petra" ]
	[ -f "$dest$PREFIX/share/man/man1/petra-run.1" ]
	[ -f "$dest$PREFIX/share/bash-completion/completions/petra" ]
}
