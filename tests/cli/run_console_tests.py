#!/usr/bin/env python3
"""btvm's serial console from the outside: piped input, a terminal, the host clock.

usage: run_console_tests.py BTVM SERIAL_ELF TIMER_ELF [-k SUBSTRING]

SERIAL_ELF with "-append echo" echoes every byte it receives and ends (status 33) at Ctrl-D.
  * piped: 200 KB piped to stdin come back complete and in order (btvm takes from the pipe
    only what the UART's FIFO has room for, so nothing is dropped however fast it is written);
  * terminal (a pty as stdin/stdout): raw mode while running, typed bytes (Ctrl-C too) reach
    the guest, Ctrl-A h prints help, Ctrl-A Ctrl-A sends Ctrl-A, Ctrl-A x quits with status 0;
    the terminal's settings (as `stty -g` would show them) are the same afterwards, also after
    SIGTERM, SIGHUP and SIGINT; an idle guest costs (almost) no host CPU;
  * the host clock: TIMER_ELF (checked against QEMU's real time) passes with --clock host.
"""
import os
import pty
import random
import select
import signal
import subprocess
import sys
import tempfile
import termios
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import elfgen  # noqa: E402

TIMEOUT_S = 20
failures = []


def check(name, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {name}" + (f": {detail}" if detail and not ok else ""))
    if not ok:
        failures.append(name)


def test_piped(btvm, serial_elf):
    rnd = random.Random(7)
    lines = []
    for i in range(4000):
        lines.append(f"{i:05d} " + "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(44)))
    data = ("\n".join(lines) + "\n").encode()
    p = subprocess.run([btvm, "-append", "echo", serial_elf], input=data + b"\x04",
                       capture_output=True, timeout=60)
    out = p.stdout.replace(b"\r\n", b"\n")
    head, tail = b"echo: ready\n", b"echo: end\n"
    body = out[len(head):-len(tail)] if out.startswith(head) and out.endswith(tail) else out
    check("piped: exit status 33", p.returncode == 33, f"status {p.returncode}, stderr {p.stderr[-300:]!r}")
    first_bad = next((i for i, (a, b) in enumerate(zip(body, data)) if a != b), min(len(body), len(data)))
    check(f"piped: {len(data)} bytes echoed complete and in order", body == data,
          f"{len(body)} bytes back, first difference at {first_bad}")


class Console:
    """btvm on a pty: we hold the master; the slave is its stdin and stdout."""

    def __init__(self, btvm, args):
        self.master, self.slave = pty.openpty()
        self.before = termios.tcgetattr(self.slave)
        self.proc = subprocess.Popen([btvm, *args], stdin=self.slave, stdout=self.slave,
                                     stderr=subprocess.PIPE, start_new_session=True)
        self.out = b""

    def read_until(self, token, timeout=TIMEOUT_S):
        end = time.time() + timeout
        while token not in self.out and time.time() < end:
            r, _, _ = select.select([self.master], [], [], 0.1)
            if r:
                try:
                    self.out += os.read(self.master, 4096)
                except OSError:
                    break
        return token in self.out

    def type(self, data):
        os.write(self.master, data)

    def wait(self):
        try:
            status = self.proc.wait(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            status = self.proc.wait()
        self.read_until(b"\xff", timeout=0.2)  # collect what is left
        self.err = self.proc.stderr.read().decode(errors="replace")
        return status

    def restored(self):
        return termios.tcgetattr(self.slave) == self.before

    def close(self):
        os.close(self.master)
        os.close(self.slave)


def test_terminal_keys(btvm, serial_elf):
    c = Console(btvm, ["-append", "echo", serial_elf])
    check("terminal: guest says ready", c.read_until(b"echo: ready"), repr(c.out))
    mode = termios.tcgetattr(c.slave)
    check("terminal: raw mode while running (no ICANON, ECHO, ISIG)",
          not (mode[3] & (termios.ICANON | termios.ECHO | termios.ISIG)))
    c.type(b"hello\x03")
    check("terminal: typed bytes reach the guest, Ctrl-C too", c.read_until(b"hello\x03"), repr(c.out[-80:]))
    c.type(b"\x01h")
    check("terminal: Ctrl-A h prints the keys", c.read_until(b"C-a x"), repr(c.out[-200:]))
    c.type(b"\x01\x01Z")
    check("terminal: Ctrl-A Ctrl-A sends one Ctrl-A", c.read_until(b"Z") and c.out.count(b"\x01") == 1,
          repr(c.out[-40:]))
    # Idle: the guest waits in HLT for input; btvm should sleep in poll().
    stat = f"/proc/{c.proc.pid}/stat"

    def cpu():
        f = open(stat).read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

    t0 = cpu()
    time.sleep(1.0)
    used = cpu() - t0
    check("terminal: an idle guest costs < 10% of a host CPU", used < 0.1, f"{used:.2f} s in 1 s")
    c.type(b"\x01x")
    status = c.wait()
    check("terminal: Ctrl-A x quits with status 0", status == 0, f"status {status}, stderr {c.err!r}")
    check("terminal: ... saying Terminated", "Terminated" in c.err, repr(c.err))
    check("terminal: settings restored after Ctrl-A x", c.restored())
    c.close()


def test_quit_busy_guest(btvm):
    """Ctrl-A x must work while the guest spins with interrupts off and takes no input."""
    with tempfile.TemporaryDirectory() as d:
        loop = os.path.join(d, "loop.elf")
        with open(loop, "wb") as f:
            f.write(elfgen.build(elfgen.CODE_LOOP))
        c = Console(btvm, [loop])
        time.sleep(0.3)
        c.type(b"\x01x")
        t0 = time.time()
        status = c.wait()
        check("terminal: Ctrl-A x stops a guest spinning in jmp $", status == 0 and time.time() - t0 < 5,
              f"status {status}, {time.time() - t0:.1f} s")
        check("terminal: settings restored", c.restored())
        c.close()


def test_terminal_signal(btvm, serial_elf, sig):
    c = Console(btvm, ["-append", "echo", serial_elf])
    ready = c.read_until(b"echo: ready")
    c.proc.send_signal(sig)
    status = c.wait()
    name = signal.Signals(sig).name
    check(f"terminal: {name} ends btvm by that signal", ready and status == -sig, f"status {status}")
    check(f"terminal: settings restored after {name}", c.restored())
    c.close()


def test_host_clock(btvm, timer_elf):
    # Interrupts at the host clock's irregular instants: this once found a chaining bug (an
    # exit chained to an interrupt handler), so the guest must pass every time. Not under the
    # sanitizers (dev.sh sets BTVM_TIMEOUT_SCALE there): slowed against real time, the guest's
    # real-time windows (a PIT tick inside an RTC handler, two reads within one RTC period)
    # fail for reasons that are not btvm's.
    if float(os.environ.get("BTVM_TIMEOUT_SCALE", "1")) > 1:
        print("skip host clock: the timer guest's real-time checks run in the normal build only")
        return
    for attempt in range(3):
        t0 = time.time()
        p = subprocess.run([btvm, "--clock", "host", timer_elf], stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=60)
        out = p.stdout.decode(errors="replace")
        check(f"host clock: the timer guest passes (run {attempt + 1})", p.returncode == 33 and "PASS:" in out,
              f"status {p.returncode}\n{out[-1500:]}")
        check(f"host clock: ... taking wall time (> 0.2 s of timer waits) (run {attempt + 1})", time.time() - t0 > 0.2)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("-k")]
    if len(args) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    btvm, serial_elf, timer_elf = args
    test_piped(btvm, serial_elf)
    test_terminal_keys(btvm, serial_elf)
    test_quit_busy_guest(btvm)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        test_terminal_signal(btvm, serial_elf, sig)
    test_host_clock(btvm, timer_elf)
    print(f"{len(failures)} failed" if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
