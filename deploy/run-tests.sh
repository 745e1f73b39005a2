#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian 12 machine: installs what it
# needs, then builds and tests three configurations and reports them as one
# CTest run:
#   build/       the build as a packager makes it: Release (-O3) with the default
#                options (warnings are errors by default), so it stays clean
#   build-asan/  everything under AddressSanitizer + UndefinedBehaviorSanitizer
#   build-fuzz/  clang + libFuzzer: the seed corpora, then CAPF_FUZZ_SECONDS
#                (default 60) of fuzzing the frame reader and decoder, and as
#                long the dialogue
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

deploy/install-deps.sh

jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$jobs"

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCAPF_WERROR=ON -DCAPF_SANITIZE=ON \
  -DCMAKE_CXX_FLAGS="-O1" >/dev/null
cmake --build build-asan -j "$jobs"

cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCAPF_FUZZ=ON -DCAPF_WERROR=ON \
  -DCAPF_FUZZ_SECONDS="${CAPF_FUZZ_SECONDS:-60}" >/dev/null
cmake --build build-fuzz -j "$jobs"

# One CTest run over the three builds, so there is one closing summary line.
mkdir -p build-all
cat >build-all/CTestTestfile.cmake <<CTEST
subdirs("$repo/build")
subdirs("$repo/build-asan")
subdirs("$repo/build-fuzz")
CTEST
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$repo/tests/lsan-suppressions.txt}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
ctest --test-dir build-all --output-on-failure -j "$jobs" --timeout 900
