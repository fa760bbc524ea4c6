# recur: `make demo` and `make test` are all a fresh Debian 12 machine needs.
# Each installs missing Debian packages (scripts/install-deps), configures, builds and runs.

BUILD ?= build
PYTHON ?= /usr/bin/python3
JOBS ?= 2
CMAKE_FLAGS ?=

.PHONY: all deps build demo test bench format clean

all: build

deps:
	@scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DPython3_EXECUTABLE=$(PYTHON) \
		$(CMAKE_FLAGS) > /dev/null
	@cmake --build $(BUILD) -j$(JOBS) > $(BUILD)/build.log 2>&1 \
		|| { cat $(BUILD)/build.log; echo "make: build failed (log: $(BUILD)/build.log)"; exit 1; }

demo: build
	@$(BUILD)/cli/recur demo

test: build
	@cd $(BUILD) && ctest --output-on-failure --timeout 900

bench: build
	@$(BUILD)/bench/train_step_bench --benchmark_min_time=0.2
	@env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PYTHON) bench/seed_compare.py --recur $(BUILD)/cli/recur
	@env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PYTHON) bench/compare.py --build $(BUILD)
	@env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PYTHONPATH=$(BUILD)/python \
		$(PYTHON) bench/python_compare.py --recur $(BUILD)/cli/recur

format:
	@clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf $(BUILD)
