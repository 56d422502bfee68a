#!/usr/bin/env python3
"""Boots Debian's i386 kernel (one flavour) with the busybox initramfs under btvm, types commands
into the shell through stdin, checks what they print, and checks that `poweroff` ends the run
with status 0.   run_linux.py BTVM MAKE_GUEST FLAVOUR [btvm options...]
Exit status 77 (skip) when the guest cannot be built here (no archive access), with the reason."""
import subprocess, sys

btvm, make_guest, flavour, extra = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
guest = subprocess.run([sys.executable, make_guest, "--print-env"], capture_output=True, text=True)
if guest.returncode == 77:
    print(guest.stderr.strip())
    sys.exit(77)
if guest.returncode != 0:
    print(f"FAIL make_guest.py: {guest.stderr.strip()}")
    sys.exit(1)
env = dict(line.split("=", 1) for line in guest.stdout.split())
kernel = env["KERNEL_686_PAE" if flavour == "686-pae" else "KERNEL_686"]

# Each command prints a marker computed in the guest, so an echo of the typed line cannot match.
commands = [
    ("echo sum=$((6*7))", "sum=42"),
    ("awk 'BEGIN { printf \"ratio=%.4f\\n\", 22/7 }'", "ratio=3.1429"),       # busybox awk: the x87
    ("awk 'BEGIN { if (0.1 + 0.2 > 0.3) print \"fcmp=gt\" }'", "fcmp=gt"),
    ("grep -o -w -e fpu -e cmov /proc/cpuinfo | sort -u | tr '\\n' + | sed 's/^/flags=/'; echo", "flags=cmov+fpu+"),
    ("cat /proc/cmdline | wc -w | sed 's/^/words=/'", "words=1"),
    ("i=0; while [ $i -lt 300 ]; do i=$((i+1)); done; echo loop=$i", "loop=300"),
    ("sha256sum /bin/busybox | cut -c1-8 | sed 's/^/sha=/'", None),  # only that it completes
]
if flavour == "686-pae":
    commands.append(("grep -o -w pae /proc/cpuinfo | head -1 | sed 's/^/has=/'", "has=pae"))
script = "".join(c + "\n" for c, _ in commands) + "poweroff\n"

cmd = [btvm, "-m", "256M", "-kernel", kernel, "-initrd", env["INITRD"], "-append", "console=ttyS0"] + extra
try:
    r = subprocess.run(cmd, input=script.encode(), capture_output=True, timeout=900)
except subprocess.TimeoutExpired as e:
    out = (e.stdout or b"").decode(errors="replace")
    print(out[-3000:])
    print("FAIL btvm did not finish within 900 s")
    sys.exit(1)
out = r.stdout.decode(errors="replace")
err = r.stderr.decode(errors="replace")

failures = 0
def check(ok, what):
    global failures
    print(("ok   " if ok else "FAIL ") + what)
    failures += not ok

check("btvm-guest: userspace up" in out, f"{flavour}: the kernel reached userspace (/etc/rcS ran)")
for c, expect in commands:
    if expect:
        check(expect in out, f"{flavour}: `{c}` printed {expect}")
check("sha=" in out, f"{flavour}: sha256sum of busybox completed")
check("reboot: Power down" in out, f"{flavour}: poweroff reached the ACPI power-down")
check(r.returncode == 0, f"{flavour}: poweroff ended btvm with status 0 (got {r.returncode})")
for bad in ("Kernel panic", "BUG:", "Oops", "WARNING:", "invalid opcode", "general protection"):
    check(bad not in out, f"{flavour}: no '{bad}' on the console")
if failures:
    print("---- guest console (last 6000 bytes) ----")
    print(out[-6000:])
    print("---- btvm stderr ----")
    print(err[-2000:])
    sys.exit(1)
