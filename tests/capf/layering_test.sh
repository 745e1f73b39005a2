#!/usr/bin/env bash
# The layering the linker and the compiler can see:
#   - capfctl links no libpqxx, no libpq and no Botan (no server code, no TLS);
#   - the dialogue's translation units include no Botan and no libpqxx header
#     (read from the compiler's own dependency files: the real include set);
#   - the same for capfctl's library, capf/ctl;
#   - the TVS (capf/tvs) and the shared listener include no libpqxx header:
#     they reach the store through storage/'s plain value types only.
# capfd, which links both, is the control: the checks can see a library when
# it is there.
# Usage: layering_test.sh CAPFCTL CAPFD BUILD_DIR
set -euo pipefail
capfctl=$1 capfd=$2 build=$3
fail() { echo "FAIL: $*" >&2; exit 1; }

forbidden_libs='libpqxx|libpq\.so|libbotan'
# Captured first: grep -q closing the pipe early would fail ldd under pipefail.
capfd_libs=$(ldd "$capfd")
capfctl_libs=$(ldd "$capfctl")
grep -q 'libpqxx' <<<"$capfd_libs" || fail "control: ldd does not show libpqxx in capfd"
grep -q 'libbotan' <<<"$capfd_libs" || fail "control: ldd does not show libbotan in capfd"
if grep -E "$forbidden_libs" <<<"$capfctl_libs"; then
  fail "capfctl links a server library (above)"
fi
echo "capfctl links: $(awk '{print $1}' <<<"$capfctl_libs" | tr '\n' ' ')"

check_includes() {  # TARGET_DIR WHAT [FORBIDDEN_REGEX]
  local dir=$1 what=$2 forbidden=${3:-'(botan-2/botan|/botan/|pqxx/|libpq-fe\.h)'}
  # Under Unity/ too: a batched target's depfile is its batch's, and lists
  # what every file of the batch includes.
  local depfiles
  mapfile -t depfiles < <(find "$dir" -name '*.o.d')
  [ "${#depfiles[@]}" -gt 0 ] || fail "no dependency files in $dir (build $what first)"
  # The control: the depfiles do list the target's own headers.
  grep -l "capf/$what/" "${depfiles[@]}" >/dev/null || fail "control: $dir lists no capf/$what header"
  if grep -E "$forbidden" "${depfiles[@]}"; then
    fail "capf/$what includes a header matching $forbidden (above)"
  fi
  echo "capf/$what: ${#depfiles[@]} translation units, nothing matching $forbidden"
}
check_includes "$build/capf/dialogue/CMakeFiles/capf_dialogue.dir" dialogue
check_includes "$build/capf/ctl/CMakeFiles/capf_ctl.dir" ctl
check_includes "$build/capf/tvs/CMakeFiles/capf_tvs.dir" tvs '(pqxx/|libpq-fe\.h)'
check_includes "$build/capf/phone/CMakeFiles/capf_listener.dir" phone '(pqxx/|libpq-fe\.h)'
# The control for the include check: the TLS layer does include Botan.
grep -l '/botan/' "$build"/capf/tls/CMakeFiles/capf_tls.dir/*.o.d >/dev/null ||
  fail "control: capf/tls's dependency files show no Botan header"
echo "layering holds"
