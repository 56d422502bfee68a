#!/usr/bin/env python3
"""Run one self-checking guest kernel under btvm and judge the result.

usage: run_guest.py [--want-status N] [--bios] BTVM ELF [extra btvm args...]

With --bios, ELF is a ROM image run from the reset vector (btvm ... -bios ROM). Passes when btvm exits with status 33 (the guest wrote 0x10 to the debug-exit port), or N if
given (0 for a guest that passes by powering off), and a line starting with "PASS:" appears on
stdout. Otherwise prints the output and the status.
"""
import subprocess
import sys

TIMEOUT_S = 60
PASS_STATUS = 33  # (0x10 << 1) | 1, as QEMU's isa-debug-exit


def main() -> int:
    args = sys.argv[1:]
    want = PASS_STATUS
    if args[:1] == ["--want-status"] and len(args) >= 2:
        want, args = int(args[1]), args[2:]
    bios = args[:1] == ["--bios"]
    if bios:
        args = args[1:]
    if len(args) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    btvm, elf, extra = args[0], args[1], args[2:]
    cmd = [btvm, *extra, "-bios", elf] if bios else [btvm, *extra, elf]
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
