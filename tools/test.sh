#!/usr/bin/env bash
# Builds and runs every test: the unit, golden and corpus tests (Release), the same unit tests
# under AddressSanitizer + UndefinedBehaviorSanitizer, and each fuzz target for a fixed time over
# the corpus in fuzz/corpus/. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
jobs=$(nproc)
fuzz_seconds=${BULWARK_FUZZ_SECONDS:-20}

echo "== Formatting (.clang-format)"
git ls-files '*.cc' '*.h' | xargs clang-format --dry-run --Werror

echo "== OpenAPI document (Redocly CLI, recommended rules as errors)"
REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
  tools/npm/node_modules/.bin/redocly lint --config tools/redocly.yaml data/openapi.json

echo "== Release build and tests"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build
ctest --test-dir build --output-on-failure -j "$jobs"

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build and tests"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DBULWARK_SANITIZE=ON \
  -DBULWARK_BENCH=OFF >/dev/null
cmake --build build-asan
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j "$jobs" -LE slow

echo "== Fuzz targets (libFuzzer, ${fuzz_seconds}s each)"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DBULWARK_FUZZ=ON -DBULWARK_TESTS=OFF -DBULWARK_BENCH=OFF >/dev/null
cmake --build build-fuzz
mkdir -p build-fuzz/crashes
for target in build-fuzz/fuzz/fuzz_*; do
  name=$(basename "$target")
  corpus=fuzz/corpus/${name#fuzz_}
  work=$(mktemp -d)
  echo "-- $name"
  # New inputs go to a scratch folder; a crashing input is kept in build-fuzz/crashes/.
  if ! "$target" -max_total_time="$fuzz_seconds" -max_len=4096 -rss_limit_mb=2048 \
      -artifact_prefix=build-fuzz/crashes/ "$work" "$corpus" > "$work/log" 2>&1; then
    tail -n 40 "$work/log"
    rm -rf "$work"
    echo "fuzz target $name failed; the input is in build-fuzz/crashes/"
    exit 1
  fi
  tail -n 1 "$work/log"
  rm -rf "$work"
done
echo "== all tests passed"
