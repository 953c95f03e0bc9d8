#!/usr/bin/env bats
# The code's own conventions, checked on the source and on the build:
# exported symbols carry their module's prefix, and the includes keep the
# module rules of docs/ARCHITECTURE.md.

load helpers

SRC="$BATS_TEST_DIRNAME/../.."

setup() {
	BUILD=$(dirname "$PETRA")
}

@test "every exported symbol carries its module's prefix" {
	# link/ holds libxml2's names on purpose.
	run "$SRC/scripts/check-prefixes" --exclude link "$BUILD"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "check-prefixes names a symbol outside its module's prefix" {
	local fake="$BATS_TEST_TMPDIR/build"
	mkdir -p "$fake/libpetra.a.p"
	printf 'int layer_ok(void) { return 0; }\nint decoder_run(void) { return 1; }\n' \
		>"$BATS_TEST_TMPDIR/x.c"
	cc -c -o "$fake/libpetra.a.p/src_layer_x.c.o" "$BATS_TEST_TMPDIR/x.c"
	run "$SRC/scripts/check-prefixes" "$fake"
	[ "$status" -eq 1 ]
	[[ "$output" == *"src/layer/x.c: decoder_run"* ]]
	[[ "$output" != *layer_ok* ]]
}

@test "modules include no other module's internal.h, and only what they may" {
	run "$SRC/scripts/check-includes" "$SRC"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# The rules themselves, as the architecture states them.
	run grep -l '#include "runtime/' "$SRC"/src/audit/* "$SRC"/src/harden/*
	[ "$status" -eq 1 ]
	run grep -l '#include "policy/' "$SRC"/src/flow/* "$SRC"/src/structtest/*
	[ "$status" -eq 1 ]
}

@test "check-includes finds another's internal.h, a forbidden module and a builder cycle" {
	local root="$BATS_TEST_TMPDIR/tree"
	mkdir -p "$root/src/audit" "$root/src/flow" "$root/src/builder" "$root/src/layer"
	printf '#include "runtime/runtime.h"\n' >"$root/src/audit/a.c"
	printf '#include "layer/internal.h"\n#include "policy/policy.h"\n' >"$root/src/flow/f.c"
	printf '#include "internal.h"\n' >"$root/src/layer/ok.c"
	printf '#include "step.h"\n' >"$root/src/builder/engine.h"
	printf '#include "engine.h"\n' >"$root/src/builder/step.h"
	run "$SRC/scripts/check-includes" "$root"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"src/audit/a.c: includes runtime/runtime.h"* ]]
	[[ "$output" == *"src/flow/f.c: includes layer/internal.h"* ]]
	[[ "$output" == *"src/flow/f.c: includes policy/policy.h"* ]]
	[[ "$output" == *"src/builder/: include cycle engine.h -> step.h -> engine.h"* ]]
	[[ "$output" != *ok.c* ]]
}
