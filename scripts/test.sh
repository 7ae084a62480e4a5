#!/bin/bash
# Runs every test: installs dependencies (scripts/install-deps.sh), builds,
# runs the cmocka suite with ctest, runs it again under ASan+UBSan, and fuzzes
# the job parser for a bounded time (FUZZ_SECONDS, default 60).
# Set KINORA_QUICK=1 to skip the sanitizer pass and the fuzzer.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc)

echo "== build (RelWithDebInfo) and test"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs")

if [ "${KINORA_QUICK:-0}" = 1 ]; then exit 0; fi

echo "== ASan + UBSan build and test"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DKINORA_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --output-on-failure -j"$jobs")

echo "== fuzz the job parser for ${FUZZ_SECONDS:-60} s"
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DKINORA_FUZZ=ON >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz_job
mkdir -p build-fuzz/corpus
build-fuzz/fuzz_job -max_total_time="${FUZZ_SECONDS:-60}" -max_len=65536 -timeout=10 \
  -print_final_stats=1 build-fuzz/corpus tests/fuzz/corpus
echo "fuzz: no crash in ${FUZZ_SECONDS:-60} s"
