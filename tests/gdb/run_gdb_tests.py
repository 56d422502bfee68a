#!/usr/bin/env python3
"""The gdb stub against real gdb and against a raw protocol client.

    run_gdb_tests.py BTVM GDB_GUEST_ELF DEMO_ELF PAGING_ELF TIMER_ELF

Each case starts btvm with -S on a free port (-gdb tcp:127.0.0.1:0; btvm prints the port), so
cases and other tests run in parallel. Cases:
  gdb-session   Debian's gdb in batch mode on the 'gdb' guest: stop at a symbol, step, read
                registers and memory, a write watchpoint on a variable the guest writes, write
                memory and a register and see the guest print them, a breakpoint on code the
                guest reads (it must see its own bytes), detach; then the guest's output.
  demo-symbols  gdb on the demo guest: break kmain, info registers, x87 and control registers.
  protocol      a raw client: qSupported, target.xml, g/p sizes, m/M, X, Ctrl-C (0x03) while
                the guest spins, vCont;s, an error for memory above 4 GiB, D; the run then ends.
  determinism   the 'timer' guest (interrupts, 10^8 instructions) under gdb with a
                breakpoint, steps and a watchpoint ends with the same state hash as without
                gdb: a session that only looks changes nothing the guest computes.
  paging        a raw client on the 'paging' guest once it has turned paging on: mapped
                memory reads, an unmapped page answers E14 (no #PF reaches the guest, which
                then passes all its checks, accessed/dirty bits included).
Skips (status 77) when gdb is not installed.
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import time

SKIP = 77


class Btvm:
    def __init__(self, btvm, elf, *extra):
        self.proc = subprocess.Popen([btvm, '-gdb', 'tcp:127.0.0.1:0', '-S', *extra, elf],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        STARTED.append(self.proc)
        line = self.proc.stderr.readline()
        m = re.search(r'waiting for gdb on port (\d+)', line)
        if not m:
            raise RuntimeError(f'btvm did not say its port: {line!r}')
        self.port = int(m.group(1))

    def finish(self, timeout=30):
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, err


def run_gdb(elf, port, commands, timeout=60):
    args = ['gdb', '-batch', '-nx', '-ex', 'set confirm off', '-ex', f'target remote 127.0.0.1:{port}']
    for c in commands:
        args += ['-ex', c]
    args.append(elf)
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    return r.stdout + r.stderr


FAILURES = 0
STARTED = []


class Checker:
    def __init__(self, name):
        self.name = name

    def expect(self, what, ok, detail=''):
        print(f"{'ok  ' if ok else 'FAIL'} {self.name}: {what}")
        if not ok:
            global FAILURES
            FAILURES += 1
            if detail:
                print('      ' + detail.replace('\n', '\n      '))


def case_gdb_session(btvm, guest, _demo):
    t = Checker('gdb-session')
    vm = Btvm(btvm, guest)
    log = run_gdb(guest, vm.port, [
        'break kmain', 'continue',
        'info registers eip', 'p/x $eax',
        'stepi', 'info registers eip',
        'x/2xw $esp',
        'watch *(int*)&gdb_counter', 'continue', 'continue', 'delete',
        'set var *(int*)&gdb_patch = 4321',
        'rwatch *(int*)&gdb_patch', 'continue', 'delete',
        'break printf_s', 'continue', 'continue', 'delete',
        'break gdb_probe', 'break gdb_probe_ret', 'continue', 'continue',
        'p/x $eax', 'set $eax = 42', 'delete',
        'detach',
    ])
    status, out, err = vm.finish()
    t.expect('stops at kmain', re.search(r'Breakpoint 1, 0x[0-9a-f]+ in kmain', log) is not None, log)
    t.expect('EAX holds the multiboot magic', '0x2badb002' in log, log)
    t.expect('stepi moves to kmain+N', re.search(r'eip\s+0x[0-9a-f]+\s+0x[0-9a-f]+ <kmain\+\d+>', log) is not None, log)
    t.expect('x/2xw $esp reads the stack', re.search(r'0x[0-9a-f]+:\s+0x[0-9a-f]{8}\s+0x[0-9a-f]{8}', log) is not None, log)
    t.expect('write watchpoint: old 0, new 3, then 6',
             re.search(r'Hardware watchpoint 2: \*\(int\*\)&gdb_counter\s+Old value = 0\s+New value = 3', log) is not None and
             re.search(r'Old value = 3\s+New value = 6', log) is not None, log)
    t.expect('read watchpoint sees the value gdb wrote',
             re.search(r'Hardware read watchpoint \d+: \*\(int\*\)&gdb_patch\s+Value = 4321', log) is not None, log)
    t.expect('a breakpoint hit twice in a row',
             len(re.findall(r'Breakpoint \d+, 0x[0-9a-f]+ in printf_s \(\)', log)) == 2, log)
    t.expect('stops at gdb_probe and gdb_probe_ret',
             re.search(r'Breakpoint \d+, 0x[0-9a-f]+ in gdb_probe \(\)', log) is not None and
             re.search(r'Breakpoint \d+, 0x[0-9a-f]+ in gdb_probe_ret \(\)', log) is not None, log)
    t.expect('EAX is 7 at gdb_probe_ret', '$2 = 0x7' in log, log)
    t.expect('detached', 'Inferior 1 (Remote target) detached' in log or 'detached' in log, log)
    t.expect('guest saw the watchpoint loop finish', 'counter 15' in out, out)
    t.expect('guest read memory gdb wrote', 'patch 4321' in out, out)
    t.expect('guest used the register gdb wrote', 'probe 42' in out, out)
    t.expect('guest read its own code under a breakpoint', 'ok   code under a breakpoint' in out, out)
    t.expect('guest passed after detach (status 33)', status == 33 and 'PASS: gdb' in out, f'{status}\n{out}\n{err}')


def case_demo_symbols(btvm, _guest, demo):
    t = Checker('demo-symbols')
    vm = Btvm(btvm, demo)
    log = run_gdb(demo, vm.port, [
        'break kmain', 'continue', 'info registers', 'info float', 'p/x $cr0', 'x/2i $pc', 'kill'])
    status, out, err = vm.finish()
    t.expect('stops at kmain', 'in kmain' in log, log)
    t.expect('info registers shows the segment registers', re.search(r'cs\s+0x8\s', log) is not None, log)
    t.expect('info float reads the FNINIT state', 'Control Word:        0x037f' in log, log)
    t.expect('CR0 reads PE|ET', '$1 = 0x11' in log, log)
    t.expect('disassembles at $pc', '<kmain>:' in log or '<kmain+' in log, log)
    t.expect('kill ends btvm with status 0', status == 0 and 'killed by gdb' in err, f'{status}\n{err}')


class Raw:
    """A minimal GDB remote client: enough to test what gdb's batch mode cannot."""

    def __init__(self, port):
        self.s = socket.create_connection(('127.0.0.1', port), timeout=20)
        self.buf = b''

    def _read_packet(self):
        while True:
            m = re.search(rb'\$([^#]*)#([0-9a-f]{2})', self.buf)
            if m:
                self.buf = self.buf[m.end():]
                payload = m.group(1)
                assert sum(payload) % 256 == int(m.group(2), 16), 'bad checksum from btvm'
                self.s.sendall(b'+')
                return payload.decode('latin-1')
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk

    def cmd(self, payload, reply=True):
        data = payload.encode('latin-1')
        self.s.sendall(b'$' + data + b'#%02x' % (sum(data) % 256))
        return self._read_packet() if reply else None

    def stop_reply(self):
        return self._read_packet()


def case_protocol(btvm, guest, _demo):
    t = Checker('protocol')
    syms = symbols(guest)
    vm = Btvm(btvm, guest)
    r = Raw(vm.port)
    sup = r.cmd('qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386')
    t.expect('qSupported offers PacketSize and target.xml', 'PacketSize=' in sup and 'qXfer:features:read+' in sup, sup)
    xml = ''
    while True:
        part = r.cmd(f'qXfer:features:read:target.xml:{len(xml):x},400')
        xml += part[1:]
        if part[0] == 'l':
            break
    t.expect('target.xml names i386 core with x87 registers',
             'org.gnu.gdb.i386.core' in xml and 'name="st7"' in xml and 'name="fop"' in xml, xml)
    t.expect('? answers a stop', r.cmd('?').startswith('T05'))
    g = r.cmd('g')
    t.expect('g: 16*4 + 8*10 + 8*4 + 4*4 bytes', len(g) == 2 * (64 + 80 + 32 + 16), str(len(g)))
    t.expect('p8 is EIP', r.cmd('p8') == g[64:72])
    t.expect('P0 writes EAX', r.cmd('P0=78563412') == 'OK' and r.cmd('p0') == '78563412')
    a = syms['gdb_spin']
    t.expect('M writes gdb_spin', r.cmd(f'M{a:x},4:01000000') == 'OK')
    t.expect('m reads it back', r.cmd(f'm{a:x},4') == '01000000')
    t.expect('X writes binary (escaped)', r.cmd(f'X{syms["gdb_spins"]:x},1:}}]') == 'OK' and
             r.cmd(f'm{syms["gdb_spins"]:x},1') == '7d')
    t.expect('m above 4 GiB is an error', r.cmd('m100000000,4').startswith('E'))
    r.cmd('c', reply=False)
    time.sleep(0.5)
    r.s.sendall(b'\x03')
    stop = r.stop_reply()
    t.expect('Ctrl-C stops the spinning guest with SIGINT', stop.startswith('T02'), stop)
    spins = r.cmd(f'm{syms["gdb_spins"]:x},4')
    t.expect('the guest ran before the stop', int.from_bytes(bytes.fromhex(spins), 'little') > 0x7d, spins)
    eip = r.cmd('p8')
    stop = r.cmd('vCont;s:1')
    t.expect('vCont;s steps one instruction', stop.startswith('T05') and r.cmd('p8') != eip, stop)
    r.cmd(f'M{a:x},4:00000000')
    t.expect('D detaches', r.cmd('D') == 'OK')
    status, out, err = vm.finish()
    t.expect('guest finishes after detach', status == 33 and 'spun yes' in out, f'{status}\n{out}\n{err}')


def symbols(elf):
    nm = subprocess.run(['nm', elf], capture_output=True, text=True).stdout
    return {m.group(2): int(m.group(1), 16) for m in re.finditer(r'^([0-9a-f]+) \w (\w+)$', nm, re.M)}


def case_paging(btvm, paging):
    t = Checker('paging')
    syms = symbols(paging)
    vm = Btvm(btvm, paging)
    r = Raw(vm.port)
    r.cmd('qSupported:swbreak+')
    on = syms['paging_on']
    t.expect('Z0 at paging_on', r.cmd(f'Z0,{on:x},1') == 'OK')
    stop = r.cmd('c')
    t.expect('stops at paging_on', stop.startswith('T05') and r.cmd('p8') == on.to_bytes(4, 'little').hex(), stop)
    esp = int.from_bytes(bytes.fromhex(r.cmd('p4')), 'little')
    ret = int.from_bytes(bytes.fromhex(r.cmd(f'm{esp:x},4')), 'little')
    r.cmd(f'z0,{on:x},1')
    r.cmd(f'Z1,{ret:x},1')
    stop = r.cmd('c')
    cr0 = int.from_bytes(bytes.fromhex(r.cmd('p20')), 'little')  # register 32: cr0
    t.expect('back in kmain with paging on (hardware breakpoint)', stop.startswith('T05') and cr0 & 0x80000000, f'{stop} cr0={cr0:x}')
    r.cmd(f'z1,{ret:x},1')
    t.expect('mapped code reads', r.cmd(f'm{ret:x},4') != '' and not r.cmd(f'm{ret:x},4').startswith('E'))
    t.expect('an unmapped page answers E14', r.cmd('mdead0000,4') == 'E14')
    t.expect('so does a write to it', r.cmd('Mdead0000,1:00') == 'E14')
    t.expect('D detaches', r.cmd('D') == 'OK')
    status, out, err = vm.finish()
    t.expect('guest passes after detach (no #PF, A/D bits untouched)', status == 33 and 'PASS' in out,
             f'{status}\n{out[-2000:]}\n{err}')


def case_determinism(btvm, timer):
    t = Checker('determinism')
    plain = subprocess.run([btvm, '--state-hash', timer], capture_output=True, text=True, timeout=120)
    want = re.search(r'state hash \w+ after \d+ instructions', plain.stderr)
    vm = Btvm(btvm, timer, '--state-hash')
    log = run_gdb(timer, vm.port, ['break kmain', 'continue', 'info registers', 'x/16x $esp', 'stepi', 'stepi',
                                   'watch -l *(int*)($esp - 64)', 'continue', 'continue', 'delete', 'continue'])
    status, out, err = vm.finish(120)
    got = re.search(r'state hash \w+ after \d+ instructions', err)
    t.expect('the watchpoint on the stack was hit', 'Hardware watchpoint 2' in log and 'New value' in log, log)
    t.expect('same final state and instruction count as without gdb',
             want is not None and got is not None and want.group(0) == got.group(0) and status == plain.returncode,
             f'without: {plain.stderr}\nwith: {err}')


def main():
    if len(sys.argv) != 6:
        print(__doc__)
        return 2
    if shutil.which('gdb') is None:
        print('SKIP: gdb is not installed (dev.sh installs it)')
        return SKIP
    btvm, guest, demo, paging, timer = sys.argv[1:]
    global FAILURES
    for case in (case_gdb_session, case_demo_symbols, case_protocol):
        try:
            case(btvm, guest, demo)
        except Exception as e:  # a hung or crashed side: report and go on
            print(f'FAIL {case.__name__}: {type(e).__name__}: {e}')
            FAILURES += 1
    for case, elf in ((case_paging, paging), (case_determinism, timer)):
        try:
            case(btvm, elf)
        except Exception as e:
            print(f'FAIL {case.__name__}: {type(e).__name__}: {e}')
            FAILURES += 1
    for p in STARTED:  # a case that failed half-way leaves its btvm behind
        if p.poll() is None:
            p.kill()
    print(f'{FAILURES} failure(s)')
    return 1 if FAILURES else 0


if __name__ == '__main__':
    sys.exit(main())
