# The two commands of the README, plus the pieces they are made of.
#   make demo   builds, starts a node on an embedded default config, runs a short scenario
#   make test   builds and runs the whole test suite
BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
CMAKE_FLAGS ?=

.PHONY: all deps configure build test demo bench clean format format-check

all: build

deps:
	@scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS) > /dev/null

# One build at a time, two jobs: the machines we target have two cores.
build: configure
	@cmake --build $(BUILD) -j2

test: build
	@cd $(BUILD) && ctest --output-on-failure --timeout 300

demo: build
	@scripts/demo.sh $(BUILD)/bin

bench: build
	@$(BUILD)/bin/mailroom-bench queue --embedded --messages 1000000

format:
	@clang-format -i $$(git ls-files '*.cpp' '*.hpp')

# What CI checks: every tracked C++ file as clang-format would write it.
format-check: deps
	@clang-format --dry-run --Werror $$(git ls-files '*.cpp' '*.hpp')

clean:
	@rm -rf $(BUILD)
