#!/usr/bin/env python3
"""Run the serial guest with its input piped to the emulator's stdin, and judge the result.

usage: run_serial_guest.py [--wait-ready] CMD...

CMD runs the guest (btvm ... serial.elf, or guests/run-in-qemu.sh serial BUILD). The input is
the 300 bytes guests/serial/serial.c expects. By default it is written to the pipe before the
guest starts (btvm must hold it until the guest's receiver is ready); --wait-ready writes it only
after the guest prints "serial: ready for input" (QEMU hands input to the UART before a driver
is ready, and it would be lost at the FIFO reset). Passes on exit status 33 with a "PASS:" line
and the THRE-driven message in the output.
"""
import subprocess
import sys
import threading

TIMEOUT_S = 60
PASS_STATUS = 33
READY = b"serial: ready for input"
THRE_LINE = "serial: output pushed by THRE interrupts"


def input_bytes() -> bytes:
    return bytes(10 if i % 50 == 49 else ord("a") + (i * 7 + i // 50) % 26 for i in range(300))


def main() -> int:
    args = sys.argv[1:]
    wait_ready = bool(args) and args[0] == "--wait-ready"
    cmd = args[1:] if wait_ready else args
    if not cmd:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = bytearray()
    if not wait_ready:
        try:
            proc.stdin.write(input_bytes())
            proc.stdin.close()
        except BrokenPipeError:
            pass  # it ended early; its status says why

    def reader():
        while True:
            chunk = proc.stdout.read1(4096)
            if not chunk:
                return
            out.extend(chunk)
            if wait_ready and READY in out and not proc.stdin.closed:
                proc.stdin.write(input_bytes())
                proc.stdin.close()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    try:
        proc.wait(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        print(out.decode(errors="replace"))
        print(f"TIMEOUT after {TIMEOUT_S} s: {' '.join(cmd)}")
        return 1
    t.join(5)
    err = proc.stderr.read().decode(errors="replace")
    text = out.decode(errors="replace").replace("\r", "")
    lines = text.splitlines()
    passed = (proc.returncode == PASS_STATUS and any(l.startswith("PASS:") for l in lines)
              and any(l.startswith(THRE_LINE) for l in lines))
    if passed:
        print(next(l for l in lines if l.startswith("PASS:")))
        return 0
    print(text)
    if err:
        print("--- stderr ---")
        print(err)
    print(f"serial guest failed: exit status {proc.returncode} (want {PASS_STATUS}): {' '.join(cmd)}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
