#!/usr/bin/env python3
"""Run one self-checking guest kernel under btvm and judge the result.

usage: run_guest.py [--want-status N] [--debugcon TEXT] [--bios] BTVM ELF [extra btvm args...]

With --bios, ELF is a ROM image run from the reset vector (btvm ... -bios ROM). Passes when btvm exits with status 33 (the guest wrote 0x10 to the debug-exit port), or N if
given (0 for a guest that passes by powering off), and a line starting with "PASS:" appears on
stdout. With --debugcon, btvm also gets -debugcon file:TMP and what the guest wrote to the debug
console must be TEXT exactly. Otherwise prints the output and the status. The extra arguments
go before the ELF, so BTVM may also be tests/guests/qemu_pc.sh or qemu_p2.sh.
"""
import os
import subprocess
import sys
import tempfile

# Sanitizer builds run several times slower: dev.sh scales every test timeout for them.
TIMEOUT_S = 60 * float(os.environ.get("BTVM_TIMEOUT_SCALE", "1"))
PASS_STATUS = 33  # (0x10 << 1) | 1, as QEMU's isa-debug-exit


def main() -> int:
    args = sys.argv[1:]
    want = PASS_STATUS
    debugcon = None
    bios = False
    while args[:1] in (["--want-status"], ["--debugcon"], ["--bios"]) and len(args) >= 2:
        if args[0] == "--bios":
            bios, args = True, args[1:]
            continue
        if args[0] == "--want-status":
            want = int(args[1])
        else:
            debugcon = args[1].encode().decode("unicode_escape")
        args = args[2:]
    if len(args) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    btvm, elf, extra = args[0], args[1], args[2:]
    # -no-reboot: a guest that resets or triple-faults has failed; it must not boot again.
    cmd = [btvm, "-no-reboot", *extra, "-bios", elf] if bios else [btvm, "-no-reboot", *extra, elf]
    dc_path = None
    if debugcon is not None:
        fd, dc_path = tempfile.mkstemp(prefix="btvm-debugcon-")
        os.close(fd)
        cmd[-1:-1] = ["-debugcon", f"file:{dc_path}"]  # options before the ELF
    try:
        return judge(cmd, want, debugcon, dc_path)
    finally:
        if dc_path:
            os.unlink(dc_path)


def judge(cmd, want, debugcon, dc_path) -> int:
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT_S,
                              stdin=subprocess.DEVNULL)  # a terminal would make btvm interactive
    except OSError as e:
        print(f"cannot run {cmd[0]}: {e}")
        return 1
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace")
        print(out)
        print(f"TIMEOUT after {TIMEOUT_S} s: {' '.join(cmd)}")
        return 1
    out = proc.stdout.decode(errors="replace").replace("\r", "")
    err = proc.stderr.decode(errors="replace")
    passed = proc.returncode == want and any(
        line.startswith("PASS:") for line in out.splitlines())
    if debugcon is not None:
        got = open(dc_path, encoding="latin-1").read()
        if got != debugcon:
            print(f"debug console: got {got!r}, want {debugcon!r}")
            passed = False
    if passed:
        print(next(l for l in out.splitlines() if l.startswith("PASS:")))
        return 0
    print(out)
    if err:
        print("--- stderr ---")
        print(err)
    print(f"guest failed: exit status {proc.returncode} (want {want}): {' '.join(cmd)}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
