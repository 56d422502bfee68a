#!/usr/bin/env bash
# btvm's one entry point for set-up, build, demo and tests.
#   ./dev.sh          install what is missing, build, boot the demo guest, show the virtualization
#                     hole, then boot Debian's i386 Linux to a busybox shell (a prompt on a
#                     terminal; without one, a few commands run and the guest powers off)
#   ./dev.sh test     install what is missing, build, run every test twice: in the normal build and
#                     in an AddressSanitizer + UndefinedBehaviorSanitizer build (build-asan/);
#                     ends with "N passed, N failed" over both
#   ./dev.sh test-fast  the normal build's tests only
#   ./dev.sh build    install what is missing and build only
#   ./dev.sh bench    a release build in build-release/ (AsmJit validation off there only), then
#                     the benchmarks: translation cost (translate-bench) and the compute kernels
#                     against native code and QEMU; results in bench/results/
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(build-essential meson ninja-build cmake pkg-config nasm gcc-multilib g++-multilib
          libcapstone-dev libasmjit-dev libfmt-dev doctest-dev libunicorn-dev python3
          qemu-system-x86 qemu-user acpica-tools gdb)

install_missing() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  echo "dev.sh: installing ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build() {
  if [ ! -f build/build.ninja ]; then meson setup build >/dev/null; fi
  ninja -C build >/dev/null
}

build_asan() {
  if [ ! -f build-asan/build.ninja ]; then
    meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
  fi
  ninja -C build-asan >/dev/null
}

# The benchmarks' build: release, asserts off, and AsmJit's validation off (it stays on in the
# debug and sanitizer builds, where it catches 32-bit-only opcodes: see notes/toolchain.md).
build_release() {
  if [ ! -f build-release/build.ninja ]; then
    meson setup build-release --buildtype=release -Db_ndebug=true -Dvalidate_asm=false >/dev/null
  fi
  ninja -C build-release >/dev/null
}

bench() {
  build_release
  echo "=== translation cost: build-release/bench/translate-bench --repeat 3 ==="
  build-release/bench/translate-bench --repeat 3 | tee bench/results/translate-release.md
  echo "=== compute kernels: native, btvm, QEMU ==="
  python3 bench/run_compute.py --runs "${BENCH_RUNS:-3}" --build build-release --btvm build-release/btvm
}

# meson's own summary is not the closing line CI reads: count from the test logs.
run_tests() {
  local rc=0 dir logs=()
  for dir in "$@"; do
    echo "=== meson test -C $dir ==="
    # The Debian boots (suite 'linux') run once, in the normal build: under the sanitizers they
    # would take most of CI's time budget.
    # The sanitizer build runs several times slower: its timeouts (meson's and the runners') are
    # scaled by BTVM_TIMEOUT_SCALE.
    local skip=() scale=1
    [ "$dir" = build-asan ] && skip=(--no-suite linux) && scale=3
    BTVM_TIMEOUT_SCALE=$scale meson test -C "$dir" --print-errorlogs --num-processes 2 \
      --timeout-multiplier "$scale" "${skip[@]}" || rc=$?
    logs+=("$dir/meson-logs/testlog.json")
  done
  python3 - "${logs[@]}" <<'PY'
import json, sys
passed = failed = skipped = 0
for log in sys.argv[1:]:
    for line in open(log):
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"): passed += 1
        elif r == "SKIP": skipped += 1
        else: failed += 1
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
PY
  return $rc
}

# The demo: our demo kernel, then the x86 virtualization hole and its fix on one screen.
demo() {
  local st=0
  build/btvm build/guests/demo.elf || st=$?
  [ $st -eq 33 ] || { echo "dev.sh: demo guest failed (status $st)" >&2; return 1; }
  echo
  echo "=== The same kernel run deprivileged by a pure trap-and-emulate VMM (--mode trap) ==="
  echo "    Privileged instructions trap and are emulated; the sensitive ones do not trap:"
  build/btvm --mode trap --trace build/trap.jsonl build/guests/sensitive.elf \
    | grep -E "WRONG|instructions (returned|went)|idioms" || true
  echo
  echo "=== ... and by btvm's binary translator (--mode translate, the default) ==="
  build/btvm --mode translate --trace build/translate.jsonl build/guests/sensitive.elf \
    | grep -E "instructions (returned|went)|idioms|^PASS|^FAIL" || true
  echo
  echo "=== btvm trace-diff build/trap.jsonl build/translate.jsonl ==="
  build/btvm trace-diff build/trap.jsonl build/translate.jsonl | grep -v "^ *\(in\|out\) " || true
}

# Debian 12's i386 kernel and a busybox initramfs, fetched from Debian's archive once and cached
# in ~/.cache/btvm (guests/linux/make_guest.py).
linux_demo() {
  local guest
  if ! guest=$(python3 guests/linux/make_guest.py --print-env); then
    echo "dev.sh: the Debian guest is not available here; skipping the Linux boot" >&2
    return 0
  fi
  eval "$guest"
  local cmd=(build/btvm -m 256M -kernel "$KERNEL_686" -initrd "$INITRD" -append console=ttyS0)
  echo
  echo "=== Debian 12's i386 Linux on btvm: ${cmd[*]}"
  if [ -t 0 ] && [ -t 1 ]; then
    echo "    (the guest's clocks follow the host's; type 'poweroff' to leave, or Ctrl-A x)"
    "${cmd[@]}"
  else
    echo "    (no terminal: a few commands are piped in, then the guest powers off)"
    printf '%s\n' 'uname -a' 'grep -E "model name|flags" /proc/cpuinfo' \
      "awk 'BEGIN { printf \"22/7 = %.6f\\n\", 22/7 }'" 'poweroff' | "${cmd[@]}"
  fi
}

install_missing
if [ "${1:-}" = bench ]; then bench; exit; fi
build
case "${1:-demo}" in
  demo)  demo; linux_demo ;;
  test)  build_asan; run_tests build build-asan ;;
  test-fast) run_tests build ;;
  build) ;;
  *) echo "usage: ./dev.sh [demo|test|test-fast|build|bench]" >&2; exit 2 ;;
esac
