#!/bin/bash
# Runs every test: installs dependencies (scripts/install-deps.sh), checks
# that includes follow the layers (scripts/check-layers.sh), builds with gcc
# (Release) and runs the cmocka suite with ctest, runs it again under
# ASan+UBSan (a gcc Debug build), builds with clang (Debug, and a Release
# packaging build without tests that is installed with `cmake --install` and
# started), all with warnings as errors (KINORA_WERROR), and fuzzes the job
# parser for a bounded time (FUZZ_SECONDS, default 60), and the expression,
# path and JSON readers and the drawing of parsed documents for a third of
# that each.
# Then scripts/container-test.sh builds the Docker image and renders through
# it (docker, or podman when no docker engine answers).
# Set KINORA_QUICK=1 to skip everything after the first build and test run;
# KINORA_CONTAINER=0 to skip only the container test. Under CI=true every
# build tree is made from scratch.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc)

echo "== layers"
scripts/check-layers.sh --self-test
scripts/check-layers.sh
# The repository stands alone: no path outside it in code, docs or scripts.
if git grep -nE '\.\./shared/|(^|[^a-z/])shared/(spec|bench)/' -- . ':!scripts/test.sh'; then
  echo "self-contained: the lines above point outside the repository"
  exit 1
fi

configure() {  # configure DIR CC ARGS...: a tree of its own, clean under CI
  local dir=$1 cc=$2
  shift 2
  if [ "${CI:-}" = true ]; then rm -rf "$dir"; fi
  CC=$cc cmake -S . -B "$dir" -DKINORA_WERROR=ON "$@" >/dev/null
}

echo "== gcc Release build and test"
configure build gcc -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs")
scripts/check-readme.sh build

if [ "${KINORA_QUICK:-0}" = 1 ]; then exit 0; fi

echo "== clang Debug build"
configure build-clang-debug clang -DCMAKE_BUILD_TYPE=Debug
cmake --build build-clang-debug -j"$jobs"

echo "== clang Release packaging build: no tests, no cmocka; cmake --install, then run it"
configure build-pkg clang -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF
cmake --build build-pkg -j"$jobs"
scripts/check-install.sh build-pkg

echo "== ASan + UBSan build (gcc Debug) and test"
configure build-asan gcc -DCMAKE_BUILD_TYPE=Debug -DKINORA_SANITIZE=ON
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  LSAN_OPTIONS=suppressions="$PWD/../tests/lsan.supp" ctest --output-on-failure -j"$jobs")

echo "== fuzz the job parser for ${FUZZ_SECONDS:-60} s; expressions, path data, the JSON reader (against jansson) and drawing for a third of that each"
configure build-fuzz clang -DCMAKE_BUILD_TYPE=Debug -DKINORA_FUZZ=ON
cmake --build build-fuzz -j"$jobs" --target fuzz_job fuzz_expr fuzz_path fuzz_json fuzz_render
fuzz() {  # fuzz NAME SECONDS SEED_DIR [DICT]
  mkdir -p "build-fuzz/corpus-$1"
  local dict=()
  [ -n "${4:-}" ] && dict=(-dict="$4")
  # fontconfig keeps process-lifetime caches (fuzz_render draws text).
  if ! LSAN_OPTIONS=suppressions="$PWD/tests/lsan.supp" "build-fuzz/$1" -max_total_time="$2" -max_len=65536 -timeout=10 -print_final_stats=1 \
      "${dict[@]}" "build-fuzz/corpus-$1" "$3" > "build-fuzz/$1.log" 2>&1; then
    tail -n 60 "build-fuzz/$1.log"
    echo "fuzz: $1 found a crash (input saved by libFuzzer, see above)"
    return 1
  fi
  echo "$1: $(grep -E '^stat::number_of_executed_units' "build-fuzz/$1.log" | awk '{print $2}') inputs, no crash"
}
secs=${FUZZ_SECONDS:-60}
fuzz fuzz_job "$secs" tests/fuzz/corpus tests/fuzz/job.dict
fuzz fuzz_expr $((secs / 3)) tests/fuzz/corpus_expr
fuzz fuzz_path $((secs / 3)) tests/fuzz/corpus_path
fuzz fuzz_json $((secs / 3)) tests/fuzz/corpus_json
fuzz fuzz_render $((secs / 3)) tests/fuzz/corpus_render tests/fuzz/job.dict
echo "fuzz: no crash"

if [ "${KINORA_CONTAINER:-1}" = 0 ]; then
  echo "== container test skipped (KINORA_CONTAINER=0)"
else
  echo "== container image: build it and render through it"
  scripts/container-test.sh
fi
