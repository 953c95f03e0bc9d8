# petra: thin entry points over meson/ninja. See README.md.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 30

.PHONY: all deps test demo bench fuzz check-asan format clean

all: $(BUILD)/build.ninja
	@ninja -C $(BUILD)

$(BUILD)/build.ninja:
	@meson setup $(BUILD) >/dev/null

deps:
	@scripts/install-deps

test: deps all
	@tests/run $(BUILD)

demo: deps all
	@examples/demo.sh $(BUILD)/petra

bench: deps all
	@bench/run $(BUILD)/petra

check-asan: deps
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
