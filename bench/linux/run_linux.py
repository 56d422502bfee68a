#!/usr/bin/env python3
"""Linux benchmark: Debian's i386 kernel with the busybox initramfs under btvm and under
qemu-system-i386 -accel tcg (same kernel, initramfs, RAM, and QEMU's closest CPU model,
pentium2), runs interleaved, medians of N (default 5).

Each run is one boot, driven like a person at the console: the harness waits for the shell,
types a command, and timestamps the lines the guest prints (host wall clock):

  userspace   power-on to the first line /etc/rcS prints (QEMU's includes SeaBIOS)
  sha256      `dd if=/dev/zero bs=1M count=16 | sha256sum` in the guest
  shell loop  a 100,000-iteration busybox sh loop
  total       power-on to the end of the process after `poweroff`

Writes bench/results/linux.md (or --out) and prints the same table."""
import argparse, datetime, os, platform, select, shlex, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROWS = ["userspace", "sha256", "shell loop", "total"]
SHA_ZERO_16M = "080acf35a507ac9849cfcba47dc2ad83e01b75663a516279c8b9d243b719643e"
STEPS = [  # (row, command, line that ends it)
    ("sha256", "dd if=/dev/zero bs=1M count=16 2>/dev/null | sha256sum", SHA_ZERO_16M),
    ("shell loop", "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; echo loop-done-$i", "loop-done-100000"),
]


class Console:
    """A guest console on a child's stdin/stdout with timestamps."""

    def __init__(self, cmd, timeout):
        self.t0 = time.perf_counter()
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.buf = b""
        self.deadline = self.t0 + timeout

    def wait_for(self, text):
        """Seconds since start at which `text` appeared in the output."""
        needle = text.encode()
        start = 0  # what arrived with the previous match counts (a prompt in the same chunk)
        while True:
            i = self.buf.find(needle, start)
            if i >= 0:
                self.buf = self.buf[i + len(needle):]
                return time.perf_counter() - self.t0
            start = max(0, len(self.buf) - len(needle))
            left = self.deadline - time.perf_counter()
            if left <= 0 or self.p.poll() is not None and not select.select([self.p.stdout], [], [], 0)[0]:
                self.p.kill()
                raise RuntimeError(f"waiting for {text!r}: {'timeout' if left <= 0 else 'process ended'}; "
                                   f"last output: {self.buf[-400:].decode(errors='replace')!r}")
            if select.select([self.p.stdout], [], [], min(left, 1.0))[0]:
                chunk = os.read(self.p.stdout.fileno(), 65536)
                self.buf += chunk

    def type(self, line):
        self.p.stdin.write(line.encode() + b"\n")
        self.p.stdin.flush()

    def finish(self):
        self.p.stdin.close()
        try:
            while os.read(self.p.stdout.fileno(), 65536):
                pass
            self.p.wait(timeout=max(1, self.deadline - time.perf_counter()))
        except subprocess.TimeoutExpired:
            self.p.kill()
            raise RuntimeError("no power-off before the timeout")
        return time.perf_counter() - self.t0, self.p.returncode


def one_run(cmd, timeout):
    c = Console(cmd, timeout)
    t = {"userspace": c.wait_for("btvm-guest: userspace up")}
    c.wait_for("# ")
    for row, command, done in STEPS:
        c.type(f"echo start-{row.replace(' ', '-')}; {command}")
        t0 = c.wait_for(f"\nstart-{row.replace(' ', '-')}")
        t[row] = c.wait_for(done) - t0
        c.wait_for("# ")
    c.type("poweroff")
    t["total"], status = c.finish()
    if status != 0:
        raise RuntimeError(f"exit status {status} after poweroff")
    return t


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--btvm", default=os.path.join(ROOT, "build", "btvm"))
    ap.add_argument("--qemu", default="qemu-system-i386")
    ap.add_argument("--flavour", default="686", choices=["686", "686-pae"])
    ap.add_argument("--mem", default="256")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--systems", default="btvm,qemu", help="comma-separated subset of btvm,qemu")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "linux.md"))
    a = ap.parse_args()
    env = dict(l.split("=", 1) for l in subprocess.run(
        [sys.executable, os.path.join(ROOT, "guests", "linux", "make_guest.py"), "--print-env"],
        check=True, capture_output=True, text=True).stdout.split())
    kernel = env["KERNEL_686_PAE" if a.flavour == "686-pae" else "KERNEL_686"]
    common = ["-m", f"{a.mem}M", "-kernel", kernel, "-initrd", env["INITRD"], "-append", "console=ttyS0"]
    systems = {
        "btvm": [a.btvm] + common,
        "qemu": [a.qemu, "-accel", "tcg", "-cpu", "pentium2", "-display", "none", "-serial", "stdio",
                 "-monitor", "none", "-no-reboot"] + common,
    }
    systems = {s: c for s, c in systems.items() if s in a.systems.split(",")}
    runs = {s: [] for s in systems}
    for i in range(a.runs):
        for s, cmd in systems.items():
            r = one_run(cmd, a.timeout)
            runs[s].append(r)
            print(f"run {i + 1}/{a.runs} {s:5s} " + "  ".join(f"{k} {v:7.2f}s" for k, v in r.items()), flush=True)
    med = {s: {row: statistics.median(r[row] for r in runs[s]) for row in ROWS} for s in systems}
    lines = ["# Linux boot and userspace: btvm vs QEMU TCG", "",
             f"{datetime.date.today()} on {platform.node()} ({os.cpu_count()} CPUs); medians of {a.runs} "
             f"interleaved runs; {a.flavour} kernel `{os.path.basename(kernel)}`, {a.mem} MiB.", "",
             f"Command: `python3 bench/linux/run_linux.py {' '.join(shlex.quote(x) for x in sys.argv[1:])}`", "",
             "| row | btvm s | qemu s | btvm/qemu | aim |", "|---|---:|---:|---:|---|"]
    for row in ROWS:
        b, q = med.get("btvm", {}).get(row, float("nan")), med.get("qemu", {}).get(row, float("nan"))
        lines.append(f"| {row} | {b:.2f} | {q:.2f} | {b / q:.2f} | {'met' if b <= q / 2 else 'not met'} (<= 0.5) |")
    lines += ["", "Commands:", ""] + [f"- {s}: `{' '.join(shlex.quote(x) for x in c)}`" for s, c in systems.items()]
    lines += ["", "Every run (seconds):", ""]
    for s in systems:
        for r in runs[s]:
            lines.append(f"- {s}: " + ", ".join(f"{k} {v:.2f}" for k, v in r.items()))
    text = "\n".join(lines) + "\n"
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    open(a.out, "w").write(text)
    print(text)


if __name__ == "__main__":
    main()
