#!/usr/bin/env bash
# Builds and runs the journal record fuzz target for SECONDS (default 60) with clang's libFuzzer
# and AddressSanitizer. Needs a configured build/ (for the generated schema code) and clang.
set -euo pipefail
seconds=${1:-60}
cd "$(dirname "$0")/.."
[ -f build/schemas/journal.capnp.c++ ] || cmake --build build --target mailroom_schemas
out=build/fuzz
mkdir -p "$out/corpus"
clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined \
  -Iruntime/base/include -Iruntime/base/src -Iruntime/codec -Ibuild/schemas \
  tests/fuzz/journal_record_fuzz.cpp runtime/codec/*.cpp runtime/base/src/*.cpp \
  build/schemas/*.capnp.c++ \
  -lcaf_core -lcapnp-rpc -lcapnp -lkj-async -lkj -lspdlog -lfmt -lcrypto -lxxhash \
  -o "$out/journal_record_fuzz"
# Regressions seed the corpus; new crashes land in build/fuzz/.
"$out/journal_record_fuzz" -max_total_time="$seconds" -max_len=65536 -artifact_prefix="$out/" \
  "$out/corpus" tests/fuzz/regressions
