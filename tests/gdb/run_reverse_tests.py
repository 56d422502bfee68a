#!/usr/bin/env python3
"""Reverse debugging: Debian's gdb runs the 'reverse' guest backwards through btvm's gdb stub.

    run_reverse_tests.py BTVM REVERSE_ELF

The guest runs with the PIT interrupting it every ~50,000 instructions and folds the tick count
into its state, so a re-run from a snapshot that took an interrupt at another instruction would
end elsewhere. Cases:
  session     record the guest, then replay it under gdb with --snapshot-every: break after
              rev_value is written, reverse-stepi back over the store (print shows the old
              value), reverse-continue to earlier hits of a breakpoint (rev_round goes down),
              a write watchpoint hit by reverse-continue (stops at the store, old value shown),
              reverse-nexti back over a call, reverse-continue and reverse-stepi at the start
              of history ("No more reverse-execution history."), then continue to the end: the
              guest's output is printed once and the final --state-hash and instruction count
              equal those of the straight replay (restore and re-run change nothing).
  soft-thin   the same back and forth under --mmu soft with at most 3 snapshots (thinning):
              the same final state as the straight run.
  plain       a run with the virtual clock and no serial input (no recording) goes back too.
  refused     bs/bc are refused with an E packet and a message on stderr where they cannot
              work: a live run with serial input, and a replay without --snapshot-every.
Skips (status 77) when gdb is not installed.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_gdb_tests as g  # noqa: E402  (Btvm, run_gdb, Checker, symbols)

HASH = re.compile(r'state hash \w+ after \d+ instructions')


def straight(btvm, elf, *args):
    r = subprocess.run([btvm, '--state-hash', *args, elf], capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    m = HASH.search(r.stderr)
    return r.returncode, r.stdout, m.group(0) if m else None


def case_session(btvm, elf, rec):
    t = g.Checker('session')
    syms = g.symbols(elf)
    status0, out0, hash0 = straight(btvm, elf, '--replay', rec)
    t.expect('straight replay passes', status0 == 33 and hash0 is not None, f'{status0} {out0}')
    vm = g.Btvm(btvm, elf, '--replay', rec, '--snapshot-every', '100000', '--state-hash')
    log = g.run_gdb(elf, vm.port, [
        'break rev_after_store', 'continue', 'print (int)rev_value',
        'reverse-stepi', 'x/i $pc', 'print (int)rev_value',
        'reverse-stepi', 'x/i $pc', 'print (int)rev_value',
        'break rev_checkpoint', 'reverse-continue', 'print (int)rev_round',
        'reverse-continue', 'print (int)rev_round',
        'delete', 'watch *(int*)&rev_round', 'reverse-continue', 'x/i $pc', 'print (int)rev_round',
        'delete', 'stepi', 'stepi', 'x/i $pc', 'nexti', 'x/i $pc', 'reverse-nexti', 'x/i $pc',
        'reverse-continue', 'x/i $pc', 'reverse-stepi', 'x/i $pc', 'print (int)rev_round',
        'continue',
    ], timeout=120)
    status, out, err = vm.finish(120)
    values = [int(v) for v in re.findall(r'^\$\d+ = (-?\d+)$', log, re.M)]
    t.expect('at rev_after_store: rev_value is 22', re.search(r'Breakpoint 1, 0x[0-9a-f]+ in rev_after_store', log)
             is not None and values[:1] == [22], log)
    t.expect('reverse-stepi: back at the call, rev_value still 22',
             re.search(r'=> 0x[0-9a-f]+ <kmain\+\d+>:\s+call\s+0x[0-9a-f]+ <rev_after_store>', log) is not None
             and values[1:2] == [22], log)
    store = f"mov    %ebx,0x{syms['rev_value']:x}"
    t.expect('reverse-stepi again: at the store, rev_value is the old 11', store in log and values[2:3] == [11], log)
    t.expect('reverse-continue stops at rev_checkpoint of round 12, then of round 11',
             len(re.findall(r'Breakpoint 2, 0x[0-9a-f]+ in rev_checkpoint', log)) == 2 and values[3:5] == [12, 11], log)
    t.expect('reverse-continue with a write watchpoint stops at the store of round 11 (old value 10)',
             re.search(r'Old value = 11\s+New value = 10', log) is not None
             and f"mov    %ebx,0x{syms['rev_round']:x}" in log and values[5:6] == [10], log)
    # nexti over the call may stop inside rev_checkpoint (gdb finds no frame there without debug
    # information): either way reverse-nexti must end at the call.
    pcs = re.findall(r'^=> 0x[0-9a-f]+ <([^>]+)>:\s+(.*)$', log, re.M)
    k = next((i for i, (_, insn) in enumerate(pcs) if 'nexti' not in insn and i > 0 and
              pcs[i - 1][1].startswith('call') and 'rev_checkpoint' in pcs[i - 1][1]), None)
    t.expect('reverse-nexti goes back over the call', k is not None and k + 1 < len(pcs) and
             pcs[k + 1][1].startswith('call') and '<rev_checkpoint>' in pcs[k + 1][1], log)
    t.expect('reverse-continue and reverse-stepi at the start of history: no more history, at _start',
             log.count('No more reverse-execution history.') == 2
             and len(re.findall(r'=> 0x%x <_start>' % syms['_start'], log)) == 2 and values[6:7] == [0], log)
    t.expect('continue runs to the end (status 33)', 'exited with code 041' in log and status == 33, f'{log}\n{err}')
    t.expect('the guest output is printed once, as in the straight replay', out == out0, f'{out}\nvs\n{out0}')
    got = HASH.search(err)
    t.expect('same final state hash and count as the straight replay', got is not None and got.group(0) == hash0,
             f'straight: {hash0}\nreverse: {err}')


def back_and_forth(t, btvm, elf, args, want):
    vm = g.Btvm(btvm, elf, *args, '--state-hash')
    log = g.run_gdb(elf, vm.port, [
        'break rev_after_store', 'continue', 'break rev_checkpoint', 'reverse-continue', 'reverse-continue',
        'reverse-stepi', 'reverse-stepi', 'print (int)rev_round', 'delete', 'reverse-continue', 'continue'],
        timeout=120)
    status, out, err = vm.finish(120)
    values = [int(v) for v in re.findall(r'^\$\d+ = (-?\d+)$', log, re.M)]
    t.expect('back to round 11 and to the start of history', values == [11] and
             'No more reverse-execution history.' in log, log)
    got = HASH.search(err)
    t.expect('same final state hash and count as the straight run', status == 33 and got is not None
             and got.group(0) == want, f'straight: {want}\nreverse: {status} {err}')
    return err


def case_soft_thin(btvm, elf, rec):
    t = g.Checker('soft-thin')
    _, _, want = straight(btvm, elf, '--replay', rec, '--mmu', 'soft')
    err = back_and_forth(t, btvm, elf, ['--replay', rec, '--mmu', 'soft', '--snapshot-every', '50000',
                                        '--snapshot-limit', '3', '--stats'], want)
    m = re.search(r'snapshots\s+(\d+) kept \((\d+) taken, (\d+) dropped\)', err)
    t.expect('at most 3 snapshots kept, the others dropped', m is not None and int(m.group(1)) <= 3
             and int(m.group(3)) > 0 and int(m.group(2)) == int(m.group(1)) + int(m.group(3)), err)


def case_plain(btvm, elf, _rec):
    t = g.Checker('plain')
    _, _, want = straight(btvm, elf, '-serial', 'null')
    back_and_forth(t, btvm, elf, ['-serial', 'null', '--snapshot-every', '200000'], want)


def case_refused(btvm, elf, rec):
    t = g.Checker('refused')
    for args, why in ((['--snapshot-every', '100000'], 'reverse execution needs a run whose inputs can be given again'),
                      (['--replay', rec], 'reverse execution needs machine snapshots')):
        vm = g.Btvm(btvm, elf, *args)
        vm.proc.stdin = None
        log = g.run_gdb(elf, vm.port, ['break rev_checkpoint', 'continue', 'reverse-stepi', 'reverse-continue',
                                       'kill'])
        status, out, err = vm.finish()
        t.expect(f'{" ".join(args)}: refused with a message', why in err and 'Breakpoint 1, ' in log
                 and 'No more reverse-execution history' not in log, f'{log}\n{err}')


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    if shutil.which('gdb') is None:
        print('SKIP: gdb is not installed (dev.sh installs it)')
        return g.SKIP
    btvm, elf = sys.argv[1:]
    with tempfile.TemporaryDirectory() as d:
        rec = os.path.join(d, 'reverse.rec')
        r = subprocess.run([btvm, '--record', rec, elf], capture_output=True, text=True, timeout=120,
                           stdin=subprocess.DEVNULL)
        if r.returncode != 33:
            print(f'FAIL record: status {r.returncode}\n{r.stdout}\n{r.stderr}')
            return 1
        for case in (case_session, case_soft_thin, case_plain, case_refused):
            try:
                case(btvm, elf, rec)
            except Exception as e:  # a hung or crashed side: report and go on
                print(f'FAIL {case.__name__}: {type(e).__name__}: {e}')
                g.FAILURES += 1
    for p in g.STARTED:
        if p.poll() is None:
            p.kill()
    print(f'{g.FAILURES} failure(s)')
    return 1 if g.FAILURES else 0


if __name__ == '__main__':
    sys.exit(main())
