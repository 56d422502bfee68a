#!/usr/bin/env python3
"""Record and replay tests (btvm --record FILE / --replay FILE).

usage: run_replay_tests.py serial BTVM SERIAL_ELF CLOCK
       run_replay_tests.py terminal BTVM SERIAL_ELF
       run_replay_tests.py reboot BTVM
       run_replay_tests.py divergence BTVM SERIAL_ELF OTHER_ELF

serial: records the serial guest (guests/serial) with its 300 input bytes written to btvm's stdin
in pieces with pauses between them (so the virtual time at which input arrives differs from a
run with all input there at once), then replays the recording with no input at all and checks:
the recorded run passed, the replay's exit status, serial output, instruction count and state
hash equal the recorded run's. Under --clock host the guest's timers and the RTC's date come
from the host, and the replay must reproduce them too.

terminal: records the serial guest's echo console (-append echo) on a pty, as a person typing:
raw mode, the host clock (--clock auto at a terminal), bytes typed in two bursts, then Ctrl-A x;
the replay (no terminal, no input) must echo the same, end at the same instruction with status
0 and the same state hash.

reboot: a kernel that prints "ab" and resets the machine, without -no-reboot, until
--max-insns: every boot is a new power-on in the recording (under --clock host each with the
host's date), and the replay goes through the same boots to the same output, status and state.

divergence: a replay with another -append, another guest, an edited recording (one event moved
to another instruction count) and a recording cut short each stop with exit status 16 and a
message that says "replay diverged at instruction N" (or that the recording was cut short);
--record with -s is refused as a usage error (status 2).
"""
import os
import re
import subprocess
import sys
import tempfile
import time

DIVERGED = 16
PASS_STATUS = 33
HASH = re.compile(r"state hash ([0-9a-f]{16}) after (\d+) instructions")
failures = 0


def check(name, cond, detail=""):
    global failures
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f": {detail}"))
    if not cond:
        failures += 1


def input_bytes() -> bytes:  # what guests/serial/serial.c expects (as tests/guests/run_serial_guest.py)
    return bytes(10 if i % 50 == 49 else ord("a") + (i * 7 + i // 50) % 26 for i in range(300))


def record(btvm, elf, path, extra, pieces=(100, 120, 80), pause=0.25, data=None, timeout=60):
    """Runs btvm --record with the input (the serial guest's, or `data`) written in pieces, a
    pause before each."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen([btvm, "--record", path, "--state-hash", "-no-reboot", *extra, elf],
                             stdin=subprocess.PIPE, stdout=out, stderr=err)
        data, at = data or input_bytes(), 0
        try:
            for n in pieces:
                time.sleep(pause)
                p.stdin.write(data[at:at + n])
                p.stdin.flush()
                at += n
            p.stdin.close()
        except BrokenPipeError:
            pass
        p.wait(timeout=timeout)
        out.seek(0)
        err.seek(0)
        return p.returncode, out.read(), err.read().decode(errors="replace")


def replay(btvm, elf, path, extra=(), timeout=60):
    p = subprocess.run([btvm, "--replay", path, "--state-hash", "-no-reboot", *extra, elf], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def serial_test(btvm, elf, clock, d):
    rec = os.path.join(d, "serial.rec")
    st, out, err = record(btvm, elf, rec, ["--clock", clock])
    h = HASH.search(err)
    check("recorded run passes (status 33, PASS line)", st == PASS_STATUS and b"PASS:" in out, f"status {st}\n{err}")
    check("recorded run prints a state hash", h is not None, err)
    # A fresh run with all input there at once differs (virtual time of arrival): the recording
    # is not trivially a fresh run. (Under the host clock runs differ anyway.)
    if clock == "virtual":
        p = subprocess.run([btvm, "--state-hash", "-no-reboot", elf], input=input_bytes(), capture_output=True,
                           timeout=60)
        fresh = HASH.search(p.stderr.decode(errors="replace"))
        check("a run with all input at once ends elsewhere", fresh and h and fresh.groups() != h.groups(),
              f"{fresh and fresh.groups()} vs {h and h.groups()}")
    for n in range(2):
        rst, rout, rerr = replay(btvm, elf, rec)
        rh = HASH.search(rerr)
        check(f"replay {n + 1}: same exit status", rst == st, f"{rst} vs {st}\n{rerr}")
        check(f"replay {n + 1}: same serial output", rout == out, f"{rout[-300:]!r} vs {out[-300:]!r}")
        check(f"replay {n + 1}: same instruction count and state hash", rh and h and rh.groups() == h.groups(),
              f"{rh and rh.groups()} vs {h and h.groups()}")
        check(f"replay {n + 1}: no divergence reported", "diverged" not in rerr, rerr)


def diverges(name, res, want=r"replay diverged at instruction \d+"):
    st, _, err = res
    check(f"{name}: exit status 16", st == DIVERGED, f"status {st}\n{err}")
    check(f"{name}: message", re.search(want, err) is not None, err)


def varint(data, pos):
    v, shift, start = 0, 0, pos
    while True:
        b = data[pos]
        pos += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, start, pos


def event_offsets(data):
    """(count varint start, end, kind) of each event in a recording (emu/debug/journal.cpp's format)."""
    pos = 8
    _, _, pos = varint(data, pos)  # version
    n, _, pos = varint(data, pos)
    for _ in range(n):
        for _ in range(2):
            ln, _, pos = varint(data, pos)
            pos += ln
        pos += 1
    events, count = [], 0
    while pos < len(data):
        _, _, pos = varint(data, pos)  # ordinal delta
        delta, cs, pos = varint(data, pos)  # count delta, zigzag
        count += (delta >> 1) ^ -(delta & 1)
        kind = data[pos]
        pos += 1
        events.append((cs, pos - 1, kind, count))
        if kind in (1, 2):
            _, _, pos = varint(data, pos)
        elif kind == 3:
            ln, _, pos = varint(data, pos)
            pos += ln
        elif kind == 4:
            pos += 1
        elif kind == 7:
            _, _, pos = varint(data, pos)
            _, _, pos = varint(data, pos)
            pos += 1
    return events


def divergence_test(btvm, elf, other, d):
    rec = os.path.join(d, "serial.rec")
    st, _, err = record(btvm, elf, rec, ["--clock", "virtual"], pieces=(150, 150), pause=0.1)
    check("recorded run passes", st == PASS_STATUS, err)
    diverges("another -append", replay(btvm, elf, rec, ["-append", "other"]),
             r"replay diverged at instruction 0: the recording was made with -append '', this run has -append 'other'")
    diverges("another guest", replay(btvm, other, rec), r"replay diverged at instruction 0: .*kernel")
    diverges("another -m", replay(btvm, elf, rec, ["-m", "64"]), r"replay diverged at instruction 0: .*-m")
    data = open(rec, "rb").read()
    events = event_offsets(data)
    receives = [e for e in events if e[2] == 3]
    check("the recording has serial input events", len(receives) >= 2, events)
    if len(receives) >= 2:
        # An input event whose count delta can grow by one in place (zigzag: +2 in its low byte).
        editable = [e for e in receives[1:] if data[e[0]] & 0x7F < 0x7E and not data[e[0]] & 1]
        check("an event's count can be edited in place", editable, receives)
        cs, _, _, count = editable[0]
        edited = bytearray(data)
        edited[cs] += 2  # one instruction later (and all after it): the guest asks for input before it
        path = os.path.join(d, "edited.rec")
        open(path, "wb").write(bytes(edited))
        diverges("edited recording (input one instruction later)", replay(btvm, elf, path),
                 rf"replay diverged at instruction {count}: the guest asks for serial input, the recording has serial "
                 rf"input \(\d+ bytes\) at instruction {count + 1}")
        path = os.path.join(d, "short.rec")
        open(path, "wb").write(data[:receives[1][1] + 1])
        diverges("recording cut short", replay(btvm, elf, path), r"the recording ends before \(it was cut short\)")
    p = subprocess.run([btvm, "--record", os.path.join(d, "x.rec"), "-s", elf], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=60)
    check("--record with -s is a usage error", p.returncode == 2 and "do not mix" in p.stderr, p.stderr)
    p = subprocess.run([btvm, "--replay", os.path.join(d, "missing.rec"), elf], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=60)
    check("--replay of a missing file is a usage error", p.returncode == 2 and "cannot open" in p.stderr, p.stderr)
    p = subprocess.run([btvm, "--replay", elf, elf], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                       timeout=60)
    check("--replay of a non-recording is a usage error", p.returncode == 2 and "not a btvm recording" in p.stderr,
          p.stderr)


def terminal_test(btvm, elf, d):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
    from run_console_tests import Console  # btvm on a pty

    rec = os.path.join(d, "terminal.rec")
    c = Console(btvm, ["--record", rec, "--state-hash", "-no-reboot", "-append", "echo", elf])
    check("terminal: guest says ready", c.read_until(b"echo: ready"), repr(c.out))
    c.type(b"hello ")
    check("terminal: first burst echoed", c.read_until(b"hello "), repr(c.out[-80:]))
    time.sleep(0.3)
    c.type(b"world\x03")
    check("terminal: second burst echoed", c.read_until(b"world\x03"), repr(c.out[-80:]))
    time.sleep(0.2)
    c.type(b"\x01x")
    status = c.wait()
    out = c.out
    c.close()
    h = HASH.search(c.err)
    check("terminal: recorded run quit by Ctrl-A x (status 0)", status == 0 and "Terminated" in c.err, c.err)
    rst, rout, rerr = replay(btvm, elf, rec, ["-append", "echo"])
    rh = HASH.search(rerr)
    check("terminal: replay ends where the recorded run was quit, status 0",
          rst == 0 and "recorded run was ended here" in rerr, f"status {rst}\n{rerr}")
    # The pty's output processing turns \n into \r\n: compare the guest's bytes without \r.
    check("terminal: replay echoes the same", rout.replace(b"\r", b"") == out.replace(b"\r", b""),
          f"{rout[-200:]!r} vs {out[-200:]!r}")
    check("terminal: same instruction count and state hash", rh and h and rh.groups() == h.groups(),
          f"{rh and rh.groups()} vs {h and h.groups()}")


def reboot_test(btvm, d):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
    import elfgen  # small kernels made of raw code (tests/cli)

    elf = os.path.join(d, "ab-reset.elf")
    # mov dx,0x3f8; mov al,'a'; out; mov al,'b'; out; mov dx,0xcf9; mov al,6; out (reset)
    code = bytes.fromhex("66baf803" "b061ee" "b062ee" "66baf90c" "b006ee") + elfgen.CODE_HLT
    open(elf, "wb").write(elfgen.build(code))
    for clock in ("virtual", "host"):
        rec = os.path.join(d, f"reboot-{clock}.rec")
        args = ["--state-hash", "--max-insns", "2000", "--clock", clock]
        p = subprocess.run([btvm, "--record", rec, *args, elf], capture_output=True, stdin=subprocess.DEVNULL, timeout=60)
        q = subprocess.run([btvm, "--replay", rec, *args, elf], capture_output=True, stdin=subprocess.DEVNULL, timeout=60)
        perr, qerr = p.stderr.decode(errors="replace"), q.stderr.decode(errors="replace")
        boots = perr.count("rebooting")
        check(f"{clock}: recorded run reboots until the limit", p.returncode == 8 and boots > 10, perr[-300:])
        check(f"{clock}: replay: same status and output", q.returncode == 8 and q.stdout == p.stdout == b"ab" * (boots + 1),
              f"{q.returncode}, {len(q.stdout)} vs {len(p.stdout)} bytes\n{qerr[-300:]}")
        check(f"{clock}: replay: same boots, state hash", qerr.count("rebooting") == boots
              and HASH.search(qerr) and HASH.search(qerr).groups() == HASH.search(perr).groups(), qerr[-300:])


def main():
    what, btvm, elf = sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None
    with tempfile.TemporaryDirectory() as d:
        if what == "serial":
            serial_test(btvm, elf, sys.argv[4], d)
        elif what == "terminal":
            terminal_test(btvm, elf, d)
        elif what == "reboot":
            reboot_test(btvm, d)
        else:
            divergence_test(btvm, elf, sys.argv[4], d)
    print(f"{'PASS' if failures == 0 else 'FAIL'}: replay {what} ({failures} failures)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
