#!/usr/bin/env bash
# Runs every EdgeInfer test: the x64 xunit.v3 suites, then (tools/ci/arm64-tests.sh) the Runtime and Sensors suites
# cross-published for linux-arm64 and run under qemu-aarch64 as a Cortex-A53, A72 and A76, and the NativeAOT device
# binary on both architectures. Ends with one line "N passed, N failed": the totals over every suite and check.
#
# Needs Debian packages (below). Run as root, it installs what is missing; otherwise it prints the apt line and stops.
# Environment: EDGEINFER_SKIP_ARM64=1 runs the x64 suites only (a quick local loop; CI never sets it).
set -uo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)

# What the tests need, and why:
#   libonnx-testdata            ONNX backend test models for the conformance suite
#   clang lld                   NativeAOT linking (x64, and arm64 with lld)
#   gcc-aarch64-linux-gnu libc6-dev-arm64-cross   arm64 C runtime objects for the cross-compiled AOT binary
#   qemu-user                   qemu-aarch64 to run arm64 test executables on x64
#   libssl3:arm64               the arm64 test host hashes with SHA-256 through OpenSSL (needs the arm64 architecture)
HOST_PACKAGES=(libonnx-testdata clang lld gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)
ARM64_PACKAGES=(libssl3:arm64)

missing=()
for p in "${HOST_PACKAGES[@]}" "${ARM64_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "test.sh: installing ${missing[*]}"
    dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
      || { echo "test.sh: apt-get install failed"; echo "0 passed, 1 failed"; exit 1; }
  else
    echo "test.sh: missing Debian packages. As root, run:"
    echo "  sudo dpkg --add-architecture arm64 && sudo apt-get update && sudo apt-get install -y ${missing[*]}"
    echo "0 passed, 1 failed"
    exit 1
  fi
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
LOG_DIR=${EDGEINFER_TEST_LOGS:-$ROOT/artifacts/test-logs}
mkdir -p "$LOG_DIR"

passed=0
failed=0

# Adds the counts from Microsoft.Testing.Platform summaries ("total: N", "failed: N", "succeeded: N") in a log.
# A suite that printed no summary (build break, crashed host) counts as one failure.
count_suite() { # name log exit-code
  local name=$1 log=$2 rc=$3 s f
  s=$(grep -E '^\s*succeeded: [0-9]+' "$log" | tail -n 1 | grep -oE '[0-9]+' || true)
  f=$(grep -E '^\s*failed: [0-9]+' "$log" | tail -n 1 | grep -oE '[0-9]+' || true)
  if [ -z "$s" ] || [ -z "$f" ]; then
    echo "test.sh: $name printed no test summary (exit $rc); see $log"
    tail -n 30 "$log"
    failed=$((failed + 1))
    return
  fi
  if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
  echo "test.sh: $name: $s passed, $f failed"
  passed=$((passed + s))
  failed=$((failed + f))
}

# x64: build once (warnings are errors), then every test project.
echo "test.sh: building (Release)"
if ! dotnet build EdgeInfer.sln -c Release -v q -nologo >"$LOG_DIR/build.log" 2>&1; then
  grep -E 'error|warning' "$LOG_DIR/build.log" | sort -u | head -n 40
  echo "0 passed, 1 failed"
  exit 1
fi

for proj in tests/*/; do
  name=$(basename "$proj")
  [ -f "$proj/$name.csproj" ] || continue
  grep -q '<IsTestProject>false</IsTestProject>' "$proj/$name.csproj" && continue
  [ "$name" = EdgeInfer.TestSupport ] && continue
  echo "test.sh: running $name"
  dotnet test --project "$proj" -c Release --no-build >"$LOG_DIR/$name.log" 2>&1
  rc=$?
  grep -E '^failed ' "$LOG_DIR/$name.log" | head -n 20
  count_suite "$name" "$LOG_DIR/$name.log" "$rc"
done

# arm64 under QEMU, and the AOT device binary on both architectures.
if [ "${EDGEINFER_SKIP_ARM64:-0}" != 1 ] && [ -x tools/ci/arm64-tests.sh ]; then
  echo "test.sh: running tools/ci/arm64-tests.sh"
  tools/ci/arm64-tests.sh >"$LOG_DIR/arm64.log" 2>&1
  rc=$?
  # Each suite run prints an MTP summary; each other check prints "check NAME: passed|failed".
  runs=0
  while IFS= read -r line; do
    case "$line" in
      *succeeded:*) passed=$((passed + ${line##*: })); runs=$((runs + 1)) ;;
      *failed:*) failed=$((failed + ${line##*: })) ;;
    esac
  done < <(sed 's/\x1b\[[0-9;]*m//g' "$LOG_DIR/arm64.log" | grep -E '^\s*(succeeded|failed): [0-9]+\s*$' | sed 's/\s*$//')
  c_pass=$(grep -cE '^check .*: passed$' "$LOG_DIR/arm64.log" || true)
  c_fail=$(grep -cE '^check .*: failed$' "$LOG_DIR/arm64.log" || true)
  grep -E '^check |^arm64:' "$LOG_DIR/arm64.log"
  passed=$((passed + c_pass))
  failed=$((failed + c_fail))
  if [ "$rc" != 0 ] && [ "$c_fail" = 0 ]; then
    echo "test.sh: arm64-tests.sh exited $rc; see $LOG_DIR/arm64.log"
    tail -n 30 "$LOG_DIR/arm64.log"
    failed=$((failed + 1))
  fi
  echo "test.sh: arm64: $runs suite runs"
  # Two suites (Runtime, Sensors) per emulated CPU: a run whose summary went missing counts as a failure, so the
  # QEMU tests cannot silently drop out of the totals.
  expected=$(( $(echo ${ARM64_CPUS:-cortex-a53 cortex-a72 cortex-a76} | wc -w) * 2 ))
  if [ "$runs" -lt "$expected" ]; then
    echo "test.sh: expected $expected arm64 suite summaries, found $runs; see $LOG_DIR/arm64.log"
    failed=$((failed + expected - runs))
  fi
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
