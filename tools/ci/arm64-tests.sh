#!/usr/bin/env bash
# arm64 checks without an arm64 machine (run on x64 Linux, from any directory):
#   1. cross-publish tests/EdgeInfer.Runtime.Tests and tests/EdgeInfer.Sensors.Tests self-contained for linux-arm64
#      and run each under qemu-aarch64 as a Cortex-A53 (Pi 3), A72 (Pi 4) and A76 (Pi 5). Each run prints the
#      Microsoft.Testing.Platform summary (total / failed / succeeded). The Runtime tests force every kernel path the
#      CPU has: Scalar and Vector128 (AdvSimd) on all three, DotProduct (SDOT) on the A76.
#   2. NativeAOT-publish edgeinfer-device for linux-arm64 and linux-x64, run both on the bundled accelerometer
#      model and recording (--replay) and on the digits models, dense and block-pruned (--input), and compare the
#      outputs byte for byte; the same for the Pi 5 profile (ARMv8.2 + dotprod) on the A76, which must refuse the A72.
#   3. check the size of the accelerometer-only arm64 binary (<= 3.25 MiB; 3 MiB before signed models: verifying an
#      ECDSA P-256 signature links the BCL's OpenSSL interop, about 235 KB, NOTES-device.md).
# Every check that is not an xunit run prints exactly "check <name>: passed" or "check <name>: failed".
# Exit status: non-zero if any test run or check failed.
#
# Environment:
#   ARM64_CPUS                 CPUs to emulate (default "cortex-a53 cortex-a72 cortex-a76")
#   ARM64_RUNTIME_TEST_ARGS    extra arguments for the Runtime test runs, e.g. "--filter-class EdgeInfer.Runtime.Tests.InterpreterTests"
#   ARM64_PARALLEL             how many QEMU test runs at once (default: number of CPUs, at most 3)
#   ARM64_OUT                  work directory (default artifacts/arm64-tests)
# Needs: dotnet SDK, qemu-user (qemu-aarch64), clang, lld, binutils-aarch64-linux-gnu, libc6-dev-arm64-cross,
# libstdc++6-arm64-cross / libgcc-s1-arm64-cross (for /usr/aarch64-linux-gnu).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${ARM64_OUT:-$root/artifacts/arm64-tests}
cpus=${ARM64_CPUS:-"cortex-a53 cortex-a72 cortex-a76"}
runtime_args=${ARM64_RUNTIME_TEST_ARGS:-}
parallel=${ARM64_PARALLEL:-$(nproc)}
(( parallel > 3 )) && parallel=3
(( parallel < 1 )) && parallel=1
size_limit=$((13 * 1024 * 1024 / 4))

export QEMU_LD_PREFIX=${QEMU_LD_PREFIX:-/usr/aarch64-linux-gnu}
# The guest's loader comes from QEMU_LD_PREFIX (libc6-dev-arm64-cross); its libc must come from the same place. Once
# libc6:arm64 is installed (it comes with libssl3:arm64), the host's ld.so.cache points the guest at
# /lib/aarch64-linux-gnu/libc.so.6 instead: a glibc from another build than the loader, and the first pthread_create
# spins forever in the loader's stack cache (every .NET process hangs at start). Put the cross libc first; the
# multiarch directory still supplies libssl/libicu.
export QEMU_SET_ENV=${QEMU_SET_ENV:-LD_LIBRARY_PATH=$QEMU_LD_PREFIX/lib:/usr/lib/aarch64-linux-gnu:/lib/aarch64-linux-gnu}
# The JIT writes code through a second, writable mapping of the executable pages (W^X). QEMU translates guest code
# once and does not see writes made through the alias, so freshly jitted stubs execute as stale bytes ("Illegal
# instruction" in reflection invoke stubs). Without W^X the JIT writes in place and QEMU notices.
export DOTNET_EnableWriteXorExecute=0
# No ICU under emulation (the projects are built with InvariantGlobalization anyway); nothing here needs libssl.
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

failures=0
started=$SECONDS
log() { printf '[arm64-tests %4ds] %s\n' $((SECONDS - started)) "$*"; }
check() { # check NAME COMMAND...: runs the command, prints the verdict line
    local name=$1
    shift
    if "$@"; then
        echo "check $name: passed"
    else
        echo "check $name: failed"
        failures=$((failures + 1))
    fi
}

for tool in dotnet qemu-aarch64 clang ld.lld aarch64-linux-gnu-objcopy; do
    if ! command -v "$tool" >/dev/null; then
        echo "arm64-tests: '$tool' is not installed" >&2
        exit 2
    fi
done
if [[ ! -e $QEMU_LD_PREFIX/lib/ld-linux-aarch64.so.1 ]]; then
    echo "arm64-tests: no arm64 loader under QEMU_LD_PREFIX=$QEMU_LD_PREFIX (install libc6-dev-arm64-cross)" >&2
    exit 2
fi

rm -rf "$out"
mkdir -p "$out"
cd "$root"

# Self-contained and jitted on the emulated CPU (so the JIT sees its features: SDOT on the A76 only), with the
# Microsoft.Testing.Platform entry point so each run ends with its total/failed/succeeded summary.
log "publishing the test projects for linux-arm64 (self-contained)"
for project in EdgeInfer.Runtime.Tests EdgeInfer.Sensors.Tests; do
    dotnet publish "tests/$project" -c Release -r linux-arm64 --self-contained -p:PublishAot=false \
        -p:UseMicrosoftTestingPlatformRunner=true \
        -o "$out/$project" -v quiet -nologo >"$out/publish-$project.log" 2>&1 \
        || { cat "$out/publish-$project.log"; echo "arm64-tests: publishing $project failed" >&2; exit 1; }
done

log "publishing edgeinfer-device with NativeAOT: linux-arm64 (accelerometer only), linux-arm64, linux-x64"
publish_device() { # publish_device PROFILE DIR
    dotnet publish src/EdgeInfer.Device -p:PublishProfile="$1" -p:PublishDir="$2/" -v quiet -nologo >"$2.log" 2>&1 \
        || { cat "$2.log"; echo "arm64-tests: publishing edgeinfer-device ($1) failed" >&2; return 1; }
}
publish_device linux-arm64-accel "$out/device-arm64-accel"
publish_device linux-arm64 "$out/device-arm64"
publish_device linux-arm64-pi5 "$out/device-arm64-pi5"
publish_device linux-x64 "$out/device-x64"
# NativeAOT code is compiled for the arm64 baseline (AdvSimd): the SDOT path runs only where a JIT sees the CPU.
# A jitted build of the same app checks the device loop on the DotProduct path too.
dotnet publish src/EdgeInfer.Device -c Release -r linux-arm64 --self-contained -p:PublishAot=false \
    -o "$out/device-arm64-jit" -v quiet -nologo >"$out/device-arm64-jit.log" 2>&1 \
    || { cat "$out/device-arm64-jit.log"; echo "arm64-tests: publishing the jitted edgeinfer-device failed" >&2; exit 1; }

# ---- xunit runs under QEMU -------------------------------------------------------------------------------------
run_tests() { # run_tests PROJECT CPU EXTRA_ARGS: output in $out/PROJECT-CPU.log, status in .rc
    local project=$1 cpu=$2 extra=$3 t0=$SECONDS
    # shellcheck disable=SC2086 # extra arguments are split on purpose
    (cd "$out/$project" && qemu-aarch64 -cpu "$cpu" "./$project" --progress off $extra) >"$out/$project-$cpu.log" 2>&1
    echo $? >"$out/$project-$cpu.rc"
    echo $((SECONDS - t0)) >"$out/$project-$cpu.seconds"
}

jobs_list=()
for cpu in $cpus; do
    jobs_list+=("EdgeInfer.Sensors.Tests $cpu" "EdgeInfer.Runtime.Tests $cpu")
done
log "running ${#jobs_list[@]} test runs under qemu-aarch64, $parallel at a time"
running=0
for job in "${jobs_list[@]}"; do
    read -r project cpu <<<"$job"
    extra=""
    [[ $project == EdgeInfer.Runtime.Tests ]] && extra=$runtime_args
    run_tests "$project" "$cpu" "$extra" || true &
    running=$((running + 1))
    if (( running >= parallel )); then
        wait -n || true
        running=$((running - 1))
    fi
done
wait || true

for job in "${jobs_list[@]}"; do
    read -r project cpu <<<"$job"
    rc=$(cat "$out/$project-$cpu.rc" 2>/dev/null || echo 99)
    seconds=$(cat "$out/$project-$cpu.seconds" 2>/dev/null || echo "?")
    echo "== $project on $cpu (qemu-aarch64), exit $rc, ${seconds}s"
    # The Microsoft.Testing.Platform summary block, and any failures above it. Colour codes are stripped first: with
    # CI=true the platform colours the total/succeeded lines, and test.sh counts only plain "succeeded: N" lines.
    sed 's/\x1b\[[0-9;]*m//g' "$out/$project-$cpu.log" | grep -E '^failed |^  (total|failed|succeeded|skipped|duration):|Test run summary' || tail -n 30 "$out/$project-$cpu.log"
    if [[ $rc != 0 ]]; then
        failures=$((failures + 1))
    fi
done

# ---- the device binary: supported kernel paths per CPU ---------------------------------------------------------
for cpu in $cpus; do
    qemu-aarch64 -cpu "$cpu" "$out/device-arm64-accel/edgeinfer-device" --version >"$out/version-$cpu.txt" 2>&1 || true
    echo "== edgeinfer-device --version on $cpu: $(cat "$out/version-$cpu.txt")"
done
qemu-aarch64 -cpu cortex-a76 "$out/device-arm64-jit/edgeinfer-device" --version >"$out/version-jit-cortex-a76.txt" 2>&1 || true
echo "== jitted edgeinfer-device --version on cortex-a76: $(cat "$out/version-jit-cortex-a76.txt")"
check kernels-jit-a76-dotproduct grep -q 'best=DotProduct supported=Scalar,Vector128,DotProduct' "$out/version-jit-cortex-a76.txt"
# The Pi 5 profile: NativeAOT for ARMv8.2 with dotprod runs SDOT on the A76 and refuses to start on the A72.
qemu-aarch64 -cpu cortex-a76 "$out/device-arm64-pi5/edgeinfer-device" --version >"$out/version-pi5-cortex-a76.txt" 2>&1 || true
echo "== edgeinfer-device (linux-arm64-pi5) --version on cortex-a76: $(cat "$out/version-pi5-cortex-a76.txt")"
check kernels-aot-pi5-a76-dotproduct grep -q 'best=DotProduct supported=Scalar,Vector128,DotProduct' "$out/version-pi5-cortex-a76.txt"
check aot-pi5-refuses-a72 bash -c "! qemu-aarch64 -cpu cortex-a72 '$out/device-arm64-pi5/edgeinfer-device' --version >/dev/null 2>&1"

# ---- arm64 and x64 compute the same bytes ----------------------------------------------------------------------
accel=tests/fixtures/accel
digits=tests/fixtures/digits
"$out/device-x64/edgeinfer-device" --config $accel/device.json --replay $accel/accel_recording.csv >"$out/replay-x64.jsonl" 2>"$out/replay-x64.err"
"$out/device-x64/edgeinfer-device" --model $digits/digits_cnn.eim --input $digits/digits_test.csv >"$out/digits-x64.jsonl" 2>"$out/digits-x64.err"
check replay-x64-92-windows test "$(wc -l <"$out/replay-x64.jsonl")" -eq 92
# The block-pruned int8 MLP: its hidden layers run through the sparse int8 kernel (SMULL on A53/A72, SDOT in the
# jitted run on A76), and must give x64's bytes.
pruned=tests/fixtures/digits_pruned/digits_pruned_int8.eim
"$out/device-x64/edgeinfer-device" --model $pruned --input $digits/digits_test.csv >"$out/pruned-x64.jsonl" 2>"$out/pruned-x64.err"
check pruned-x64-360-samples test "$(wc -l <"$out/pruned-x64.jsonl")" -eq 360
for cpu in $cpus; do
    qemu-aarch64 -cpu "$cpu" "$out/device-arm64-accel/edgeinfer-device" --config $accel/device.json --replay $accel/accel_recording.csv \
        >"$out/replay-arm64-$cpu.jsonl" 2>"$out/replay-arm64-$cpu.err" || true
    check "replay-arm64-$cpu-equals-x64" cmp "$out/replay-x64.jsonl" "$out/replay-arm64-$cpu.jsonl"
    qemu-aarch64 -cpu "$cpu" "$out/device-arm64/edgeinfer-device" --model $digits/digits_cnn.eim --input $digits/digits_test.csv \
        >"$out/digits-arm64-$cpu.jsonl" 2>"$out/digits-arm64-$cpu.err" || true
    check "digits-arm64-$cpu-equals-x64" cmp "$out/digits-x64.jsonl" "$out/digits-arm64-$cpu.jsonl"
    qemu-aarch64 -cpu "$cpu" "$out/device-arm64/edgeinfer-device" --model $pruned --input $digits/digits_test.csv \
        >"$out/pruned-arm64-$cpu.jsonl" 2>"$out/pruned-arm64-$cpu.err" || true
    check "pruned-arm64-$cpu-equals-x64" cmp "$out/pruned-x64.jsonl" "$out/pruned-arm64-$cpu.jsonl"
done
qemu-aarch64 -cpu cortex-a76 "$out/device-arm64-jit/edgeinfer-device" --config $accel/device.json --replay $accel/accel_recording.csv \
    >"$out/replay-arm64-jit-a76.jsonl" 2>"$out/replay-arm64-jit-a76.err" || true
check replay-arm64-jit-dotproduct-equals-x64 cmp "$out/replay-x64.jsonl" "$out/replay-arm64-jit-a76.jsonl"
qemu-aarch64 -cpu cortex-a76 "$out/device-arm64-jit/edgeinfer-device" --model $digits/digits_cnn.eim --input $digits/digits_test.csv \
    >"$out/digits-arm64-jit-a76.jsonl" 2>"$out/digits-arm64-jit-a76.err" || true
check digits-arm64-jit-dotproduct-equals-x64 cmp "$out/digits-x64.jsonl" "$out/digits-arm64-jit-a76.jsonl"
qemu-aarch64 -cpu cortex-a76 "$out/device-arm64-jit/edgeinfer-device" --model $pruned --input $digits/digits_test.csv \
    >"$out/pruned-arm64-jit-a76.jsonl" 2>"$out/pruned-arm64-jit-a76.err" || true
check pruned-arm64-jit-dotproduct-equals-x64 cmp "$out/pruned-x64.jsonl" "$out/pruned-arm64-jit-a76.jsonl"
for model in digits pruned; do
    eim=$digits/digits_cnn.eim
    [ $model = pruned ] && eim=$pruned
    qemu-aarch64 -cpu cortex-a76 "$out/device-arm64-pi5/edgeinfer-device" --model $eim --input $digits/digits_test.csv \
        >"$out/$model-arm64-pi5-a76.jsonl" 2>"$out/$model-arm64-pi5-a76.err" || true
    check "$model-arm64-pi5-dotproduct-equals-x64" cmp "$out/$model-x64.jsonl" "$out/$model-arm64-pi5-a76.jsonl"
done

# ---- size -----------------------------------------------------------------------------------------------------
accel_size=$(stat -c %s "$out/device-arm64-accel/edgeinfer-device")
full_size=$(stat -c %s "$out/device-arm64/edgeinfer-device")
x64_size=$(stat -c %s "$out/device-x64/edgeinfer-device")
echo "== edgeinfer-device sizes: linux-arm64 mpu6050 only $accel_size bytes, linux-arm64 all sensors $full_size, linux-x64 all sensors $x64_size"
check size-arm64-accel-le-3.25MiB test "$accel_size" -le "$size_limit"

echo "arm64: done in $((SECONDS - started)) s, $failures failure(s)"
exit $(( failures > 0 ? 1 : 0 ))
