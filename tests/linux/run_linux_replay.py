#!/usr/bin/env python3
"""Record and replay of Debian's i386 Linux (686): boots it with --record, commands typed into the
busybox shell in pieces with pauses (they arrive wherever the guest happens to be), poweroff;
then --replay without input must print the same console output and end with the same status,
instruction count and state hash.   run_linux_replay.py BTVM MAKE_GUEST CLOCK
Exit status 77 (skip) when the guest cannot be built here (no archive access)."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "replay"))
import run_replay_tests as rr  # noqa: E402

btvm, make_guest, clock = sys.argv[1], sys.argv[2], sys.argv[3]
guest = subprocess.run([sys.executable, make_guest, "--print-env"], capture_output=True, text=True)
if guest.returncode == 77:
    print(guest.stderr.strip())
    sys.exit(77)
if guest.returncode != 0:
    print(f"FAIL make_guest.py: {guest.stderr.strip()}")
    sys.exit(1)
env = dict(line.split("=", 1) for line in guest.stdout.split())
opts = ["-m", "256M", "-initrd", env["INITRD"], "-append", "console=ttyS0", "--clock", clock]
pieces = [b"echo sum=$((6*7))\n", b"awk 'BEGIN { printf \"ratio=%.4f\\n\", 22/7 }'\n",
          b"cat /proc/uptime | sed 's/^/up=/'\n", b"poweroff\n"]
with tempfile.TemporaryDirectory() as d:
    rec = os.path.join(d, "linux.rec")
    st, out, err = rr.record(btvm, env["KERNEL_686"], rec, opts, pieces=[len(p) for p in pieces], pause=1.0,
                             data=b"".join(pieces), timeout=900)
    h = rr.HASH.search(err)
    rr.check(f"{clock}: recorded boot powers off (status 0) after the commands",
             st == 0 and b"sum=42" in out and b"ratio=3.1429" in out and b"up=" in out, f"status {st}\n{err[-2000:]}")
    rst, rout, rerr = rr.replay(btvm, env["KERNEL_686"], rec, opts, timeout=900)
    rh = rr.HASH.search(rerr)
    rr.check(f"{clock}: replay ends with the same status", rst == st, f"{rst} vs {st}\n{rerr[-2000:]}")
    rr.check(f"{clock}: replay prints the same console output", rout == out,
             f"{len(rout)} vs {len(out)} bytes; replay ends {rout[-300:]!r}")
    rr.check(f"{clock}: same instruction count and state hash", rh and h and rh.groups() == h.groups(),
             f"{rh and rh.groups()} vs {h and h.groups()}")
    print(f"recording: {os.path.getsize(rec)} bytes; {h and h.group(2)} instructions")
print(f"{'PASS' if rr.failures == 0 else 'FAIL'}: linux replay {clock} ({rr.failures} failures)")
sys.exit(1 if rr.failures else 0)
