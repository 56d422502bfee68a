// String instructions without a REP prefix as plain accesses (the element at DS:ESI or ES:EDI,
// then ESI/EDI step by the element size, down when EFLAGS.DF is set). C string code does one
// element at a time: Linux's inline strcpy, strcmp and strlen are LODSB/STOSB/SCASB loops and
// gcc copies small structures with MOVSL/MOVSW, some 4 million of them in a Debian boot, each a
// helper call before. The accesses take the one access path, so segment checks, faults, watched
// pages and SMC are as for any MOV; the registers move only after the last access succeeded. REP
// forms (long runs, interruptible, page-at-a-time in C++), CMPS, INS/OUTS and 16-bit addressing
// stay with the helper, as does any string instruction that the mode traps or patches.
#include "dbt/emitter.h"
#include "dbt/host_regs.h"
#include "dbt/operands.h"

namespace btvm {

using namespace asmjit;
using namespace host;

namespace {
x86::Gp sized(const x86::Gp& r64, unsigned size) {
  if (size == 1) return r64.r8();
  return size == 2 ? x86::Gp(r64.r16()) : x86::Gp(r64.r32());
}
}  // namespace

// reg1 (and reg2, if not -1) += DF ? -size : size, without touching the host flags (the guest's):
// R8D = DF << 31 >> 31 (arithmetic: 0 or -1), reg = reg + R8 * 2 * size + size.
void BlockEmitter::emitStringSteps(int reg1, int reg2, unsigned size) {
  a_.mov(x86::r8d, st(offsetof(CpuState, eflags)));
  a_.mov(x86::r11d, 21);  // DF is bit 10
  a_.shlx(x86::r8d, x86::r8d, x86::r11d);
  a_.mov(x86::r11d, 31);
  a_.sarx(x86::r8d, x86::r8d, x86::r11d);
  uint32_t shift = size == 1 ? 1 : size == 2 ? 2 : 3;
  for (int r : {reg1, reg2})
    if (r >= 0) a_.lea(guest32(r), x86::ptr(kGuest64[r], x86::r8, shift, int32_t(size)));
}

bool BlockEmitter::emitStringInline(const cs_insn& insn, const InsnRow& row) {
  const cs_x86& x = insn.detail->x86;
  Handling h = handlingFor(mode_, row);
  if (x.prefix[0] || x.addr_size == 2 || h == Handling::Trapped || h == Handling::Patched) return false;
  unsigned size = stringSize(x, code16());
  int ovr = segmentOverride(x);
  GuestMem src{ovr < 0 ? DS : ovr, ESI}, dst{ES, EDI};
  x86::Gp acc = sized(x86::rax, size), r8 = sized(x86::r8, size);
  switch (insn.id) {
    case X86_INS_LODSB: case X86_INS_LODSW: case X86_INS_LODSD:
      emitAccess(src, size, MemKind::Read, [&](const x86::Mem& m) { a_.mov(acc, m); });
      emitStringSteps(ESI, -1, size);
      return true;
    case X86_INS_STOSB: case X86_INS_STOSW: case X86_INS_STOSD:
      emitAccess(dst, size, MemKind::Write, [&](const x86::Mem& m) { a_.mov(m, acc); });
      emitStringSteps(EDI, -1, size);
      return true;
    case X86_INS_SCASB: case X86_INS_SCASW: case X86_INS_SCASD:
      emitAccess(dst, size, MemKind::Read, [&](const x86::Mem& m) { a_.cmp(acc, m); });
      emitStringSteps(EDI, -1, size);
      return true;
    case X86_INS_MOVSB: case X86_INS_MOVSW: case X86_INS_MOVSD: {
      // Every access clobbers R8..R11: the element waits in a CpuState scratch slot, and the
      // store's op (which its slow paths copy) takes it from there. A store that the VMM re-runs
      // alone (a watchpoint, an MMIO write under exact device events) loads again: harmless, as
      // no register of btvm's memory-mapped devices (local APIC, I/O APIC, HPET) has read
      // effects.
      x86::Mem slot = st(offsetof(CpuState, tmp));
      emitAccess(src, size, MemKind::Read, [&](const x86::Mem& m) {
        a_.mov(r8, m);
        a_.mov(slot.cloneResized(size), r8);
      });
      emitAccess(dst, size, MemKind::Write, [&](const x86::Mem& m) {
        a_.mov(r8, slot.cloneResized(size));
        a_.mov(m, r8);
      });
      emitStringSteps(ESI, EDI, size);
      return true;
    }
    default:
      return false;
  }
}

}  // namespace btvm
