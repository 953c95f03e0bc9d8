# petra: thin entry points over meson/ninja. See README.md.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 30

.PHONY: all deps deps-build deps-test install test demo bench fuzz check-asan format clean

all: $(BUILD)/build.ninja
	@ninja -C $(BUILD)

$(BUILD)/build.ninja:
	@meson setup $(BUILD) >/dev/null

# What each target installs: building and running (the demo), plus the
# test tools, plus fuzzing and benchmarks (scripts/install-deps says which).
deps-build:
	@scripts/install-deps build

deps-test:
	@scripts/install-deps test

deps:
	@scripts/install-deps all

# petra, petra-supervisor, the man pages and the bash completion under
# meson's prefix (/usr/local unless `meson setup --prefix`); DESTDIR works.
install: all
	@meson install -C $(BUILD) --no-rebuild

test: deps-test all
	@tests/run $(BUILD)

demo: deps-build all
	@examples/demo.sh $(BUILD)/petra

bench: deps all
	@bench/run $(BUILD)/petra

check-asan: deps-test
	@[ -f $(ASAN_BUILD)/build.ninja ] || meson setup $(ASAN_BUILD) \
		-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug >/dev/null
	@ninja -C $(ASAN_BUILD)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 tests/run $(ASAN_BUILD)

fuzz: deps
	@[ -f $(FUZZ_BUILD)/build.ninja ] || CC=clang meson setup $(FUZZ_BUILD) -Dfuzz=true \
		-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized >/dev/null
	@ninja -C $(FUZZ_BUILD)
	@tests/fuzz/run $(FUZZ_BUILD) $(FUZZ_SECONDS)

format:
	@clang-format -i src/*.c src/*/*.c src/*/*.h tests/unit/*.c tests/fuzz/*.c

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
