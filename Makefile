# recur: `make demo` and `make test` are all a fresh Debian 12 machine needs.
# Each installs missing Debian packages (scripts/install-deps), configures, builds and runs.

BUILD ?= build
SANITIZE_BUILD ?= build-sanitize
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 300
PYTHON ?= /usr/bin/python3
JOBS ?= 2
CMAKE_FLAGS ?=

.PHONY: all deps build sanitize-build tsan-build fuzz-build demo test bench fuzz format clean

all: build

deps:
	@scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DPython3_EXECUTABLE=$(PYTHON) \
		$(CMAKE_FLAGS) > /dev/null
	@cmake --build $(BUILD) -j$(JOBS) > $(BUILD)/build.log 2>&1 \
		|| { cat $(BUILD)/build.log; echo "make: build failed (log: $(BUILD)/build.log)"; exit 1; }

# The same sources with AddressSanitizer and UndefinedBehaviorSanitizer (no benchmarks).
sanitize-build: deps
	@cmake -S . -B $(SANITIZE_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DRECUR_SANITIZE=address,undefined \
		-DRECUR_BUILD_BENCH=OFF -DPython3_EXECUTABLE=$(PYTHON) $(CMAKE_FLAGS) > /dev/null
	@cmake --build $(SANITIZE_BUILD) -j$(JOBS) > $(SANITIZE_BUILD)/build.log 2>&1 \
		|| { cat $(SANITIZE_BUILD)/build.log; echo "make: sanitizer build failed"; exit 1; }

# The tests of threads (the product pool, a model shared by threads) with ThreadSanitizer.
TSAN_TESTS = concurrency_test packed_gemm_test part_split_test
tsan-build: deps
	@cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DRECUR_SANITIZE=thread \
		-DRECUR_BUILD_BENCH=OFF -DRECUR_BUILD_PYTHON=OFF -DPython3_EXECUTABLE=$(PYTHON) \
		$(CMAKE_FLAGS) > /dev/null
	@cmake --build $(TSAN_BUILD) -j$(JOBS) --target $(TSAN_TESTS) > $(TSAN_BUILD)/build.log 2>&1 \
		|| { cat $(TSAN_BUILD)/build.log; echo "make: ThreadSanitizer build failed"; exit 1; }

# The library and the libFuzzer targets (tests/fuzz), built by clang.
fuzz-build: deps
	@cmake -S . -B $(FUZZ_BUILD) -DCMAKE_CXX_COMPILER=clang++-14 -DRECUR_FUZZ=ON \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
		$(CMAKE_FLAGS) > /dev/null
	@cmake --build $(FUZZ_BUILD) -j$(JOBS) > $(FUZZ_BUILD)/build.log 2>&1 \
		|| { cat $(FUZZ_BUILD)/build.log; echo "make: fuzz build failed"; exit 1; }

demo: build
	@$(BUILD)/cli/recur demo

test: build sanitize-build tsan-build fuzz-build
	@cd $(BUILD) && ctest --output-on-failure --timeout 900
	@echo "make test: the suite again with AddressSanitizer and UndefinedBehaviorSanitizer"
	@cd $(SANITIZE_BUILD) && ctest --output-on-failure --timeout 900
	@echo "make test: the tests of threads with ThreadSanitizer"
	@cd $(TSAN_BUILD) && ctest --output-on-failure --timeout 300 -R '^(Concurrency|Threads|PartSplit)\.'
	@echo "make test: each fuzz target from its corpus, briefly"
	@cd $(FUZZ_BUILD) && ctest --output-on-failure --timeout 300

# Each fuzz target for FUZZ_SECONDS (make fuzz FUZZ_SECONDS=3600); findings in
# $(FUZZ_BUILD)/crashes, new inputs in $(FUZZ_BUILD)/corpus.
fuzz: fuzz-build
	@for t in safetensors csv text metadata; do \
		echo "fuzz_$$t: $(FUZZ_SECONDS) s"; \
		$(FUZZ_BUILD)/tests/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
			-rss_limit_mb=2048 -max_len=65536 -artifact_prefix=$(FUZZ_BUILD)/crashes/$$t- \
			$(FUZZ_BUILD)/corpus/$$t tests/fuzz/corpus/$$t || exit 1; \
	done

bench: build
	@$(BUILD)/bench/train_step_bench --benchmark_min_time=0.2
	@env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PYTHON) bench/seed_compare.py --recur $(BUILD)/cli/recur
	@env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PYTHON) bench/compare.py --build $(BUILD)
	@if [ -x $(BUILD)/bench/gemm_backends ]; then $(BUILD)/bench/gemm_backends; fi
	@env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PYTHONPATH=$(BUILD)/python \
		$(PYTHON) bench/python_compare.py --recur $(BUILD)/cli/recur

format:
	@clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf $(BUILD) $(SANITIZE_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD)
