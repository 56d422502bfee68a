#!/usr/bin/env python3
"""What reverse debugging costs: time per reverse-stepi ('bs') and the snapshots' memory.

    measure_reverse.py BTVM RECORDING SECONDS EVERY [btvm args: kernel, -initrd, -append...]

Replays RECORDING under the gdb stub with --snapshot-every EVERY, lets the guest run SECONDS of
host time, stops it (Ctrl-C), times five reverse steps (each restores the newest snapshot
before the previous instruction and runs forward to it), then kills the run and prints the
snapshot line of --stats (snapshots kept, MiB of RAM pages they hold, time spent taking them).
Example (Debian's Linux boot, as in README's Debugging section):
    eval $(python3 guests/linux/make_guest.py --print-env)
    printf 'poweroff\\n' | build/btvm --record /tmp/linux.rec -m 256M -initrd $INITRD \\
        -append console=ttyS0 --clock virtual $KERNEL_686
    python3 tests/gdb/measure_reverse.py build/btvm /tmp/linux.rec 20 10000000 -m 256M \\
        -initrd $INITRD -append console=ttyS0 --clock virtual $KERNEL_686
"""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_gdb_tests import Raw  # noqa: E402


def main():
    if len(sys.argv) < 6:
        print(__doc__)
        return 2
    btvm, rec, seconds, every, rest = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4], sys.argv[5:]
    p = subprocess.Popen([btvm, '-gdb', 'tcp:127.0.0.1:0', '-S', '--replay', rec, '--snapshot-every', every,
                          '--stats', *rest], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    m = re.search(r'waiting for gdb on port (\d+)', p.stderr.readline())
    r = Raw(int(m.group(1)))
    r.s.settimeout(600)
    r.cmd('qSupported:swbreak+')
    r.cmd('c', reply=False)
    time.sleep(seconds)
    r.s.sendall(b'\x03')
    print('stopped:', r.stop_reply())
    def cpu():  # btvm's user + system CPU time: robust against other load on the host
        f = open(f'/proc/{p.pid}/stat').read().rsplit(')', 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf('SC_CLK_TCK')

    times, cpus = [], []
    for _ in range(5):
        t0, c0 = time.monotonic(), cpu()
        reply = r.cmd('bs')
        times.append(time.monotonic() - t0)
        cpus.append(cpu() - c0)
        assert reply.startswith('T05'), reply
    print('reverse-stepi seconds: ' + ' '.join(f'{t:.3f}' for t in times) +
          f'  (mean {sum(times) / len(times):.3f}); CPU seconds: ' + ' '.join(f'{t:.2f}' for t in cpus) +
          f'  (mean {sum(cpus) / len(cpus):.2f})')
    r.cmd('k', reply=False)
    err = p.stderr.read()
    p.wait()
    print('\n'.join(line.strip() for line in err.splitlines()
                    if 'snapshots' in line or 'guest instructions executed' in line))
    return 0


if __name__ == '__main__':
    sys.exit(main())
