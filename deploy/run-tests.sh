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
#
# --quick: the Release build only, and every test but the load, fuzz and
# package ones (tests/README.md): the loop to run while working.
#
# Each phase's wall time is printed as it ends ("time: ..."), and the
# slowest tests after the run, so that where the time goes is in every log.
# ccache is used when it is installed (install-deps installs it): it helps a
# second run, not CI's first. CAPF_TEST_JOBS sets how many tests run at once
# (default: twice the cores).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

quick=false
case "${1:-}" in
  --quick) quick=true ;;
  "") ;;
  *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
esac

start_of_run=$(date +%s)
phase_start=$start_of_run
phase() {
  local now
  now=$(date +%s)
  echo "time: $1 $((now - phase_start)) s (total $((now - start_of_run)) s)"
  phase_start=$now
}

deploy/install-deps.sh
phase "install-deps"

jobs=$(nproc)
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >/dev/null
cmake --build build -j "$jobs"
phase "build (Release)"

dirs=("$repo/build")
if ! $quick; then
  # -g1: line tables, all a sanitizer report needs for file:line; full
  # debug information made this build a quarter slower (capfd_main.cpp
  # 42.0 s against 30.8 s).
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCAPF_WERROR=ON -DCAPF_SANITIZE=ON \
    -DCMAKE_CXX_FLAGS="-O1" -DCMAKE_CXX_FLAGS_DEBUG="-g1" "${launcher[@]}" >/dev/null
  cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCAPF_FUZZ=ON -DCAPF_WERROR=ON \
    -DCAPF_FUZZ_SECONDS="${CAPF_FUZZ_SECONDS:-60}" "${launcher[@]}" >/dev/null
  # The fuzz build beside the sanitizer build: on its own it kept one core
  # of two busy (a chain of few files), 48-60 s. Its output goes to a file,
  # shown if it fails.
  cmake --build build-fuzz -j "$jobs" >build-fuzz/build.log 2>&1 &
  fuzz_build=$!
  cmake --build build-asan -j "$jobs"
  if ! wait "$fuzz_build"; then
    cat build-fuzz/build.log
    echo "run-tests: the fuzz build failed" >&2
    exit 1
  fi
  phase "build (ASan+UBSan, and fuzz beside it)"
  dirs+=("$repo/build-asan" "$repo/build-fuzz")
fi

# One CTest run over the builds, so there is one closing summary line.
mkdir -p build-all
: >build-all/CTestTestfile.cmake
for d in "${dirs[@]}"; do
  echo "subdirs(\"$d\")" >>build-all/CTestTestfile.cmake
done
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$repo/tests/lsan-suppressions.txt}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
select=()
if $quick; then
  select=(-LE "load|fuzz|package")
fi
status=0
# Twice as many tests as cores: most of an e2e test's time is spent waiting
# (for PostgreSQL, for a deadline, for a child process), and at one test per
# core a third of the CPU stood idle (-j2: 698 s, -j4: 575 s on two cores).
# The tests whose figures are time or CPU run alone (RUN_SERIAL) either way,
# and a load or fault test counts as two (PROCESSORS, tests/CMakeLists.txt).
test_jobs=${CAPF_TEST_JOBS:-$((jobs * 2))}
ctest --test-dir build-all --output-on-failure -j "$test_jobs" --timeout 900 "${select[@]}" ||
  status=$?
phase "tests"
# The slowest tests of this run, from CTest's own record.
python3 - build-all/Testing/Temporary/LastTest.log <<'PY' || true
import re, sys
log = open(sys.argv[1], errors="replace").read()
tests = [(float(t), n) for n, t in re.findall(r'^\d+/\d+ Testing: (.*)\n(?:(?!^\d+/\d+ Testing: ).*\n)*?^"?Test time = +([\d.]+) sec', log, re.M)]
for t, n in sorted(tests, reverse=True)[:10]:
    print(f"slowest: {t:7.1f} s  {n}")
PY
exit $status
