// Stack instructions lowered to accesses at SS:ESP (host PUSH/POP are 8 bytes wide in 64-bit
// mode, and the guest stack is guest memory). ESP (host R12) moves only after every access of the
// instruction succeeded, so a fault leaves the guest registers as they were. A 16-bit stack
// segment (SS.B = 0, the block key says so) uses SP: addresses wrap at 64 KiB and only R12W
// moves; every step is LEA/MOVZX/MOV, so the guest's flags stay untouched.
#include "dbt/dbt.h"
#include "dbt/emitter.h"
#include "dbt/host_regs.h"
#include "dbt/operands.h"

namespace btvm {

using namespace asmjit;
using namespace host;

namespace {
x86::Gp r8Of(unsigned size) { return size == 4 ? x86::Gp(x86::r8d) : x86::Gp(x86::r8w); }
x86::Mem tmp(int i) { return st(offsetof(CpuState, tmp) + 4 * i); }
}  // namespace

GuestMem BlockEmitter::stackMem(int32_t delta) const {
  GuestMem m;
  m.seg = SS;
  m.base = ESP;
  m.disp = delta;
  m.addr16 = stack16();
  return m;
}

void BlockEmitter::addToSp(int32_t delta) {
  if (!stack16()) {
    a_.lea(x86::r12d, x86::ptr(x86::r12, delta));
    return;
  }
  a_.lea(x86::r10d, x86::ptr(x86::r12, delta));
  a_.mov(x86::r12w, x86::r10w);
}

void BlockEmitter::pushValue(unsigned size, const MemOp& store) {
  emitAccess(stackMem(-int32_t(size)), size, MemKind::Write, store);
  addToSp(-int32_t(size));
}

void BlockEmitter::popValue(unsigned size, const x86::Gp& dst) {
  emitAccess(stackMem(0), size, MemKind::Read, [this, size, dst](const x86::Mem& m) {
    if (size == 4) a_.mov(dst, m);
    else a_.movzx(dst, m);
  });
  addToSp(int32_t(size));
}

void BlockEmitter::loadOperand(const cs_x86_op& op, const cs_x86& x, unsigned size, const x86::Gp& dst) {
  if (op.type == X86_OP_REG) {
    x86::Gp r = hostReg(op.reg);
    if (r.size() == 4) a_.mov(dst, r);
    else a_.movzx(dst, r);
  } else if (op.type == X86_OP_IMM) {
    a_.mov(dst, uint32_t(op.imm));
  } else {
    emitAccess(guestMem(op, x), size, MemKind::Read, [this, size, dst](const x86::Mem& m) {
      if (size == 4) a_.mov(dst, m);
      else a_.movzx(dst, m);
    });
  }
}

void BlockEmitter::emitPush(const cs_insn& insn) {
  const cs_x86& x = insn.detail->x86;
  const cs_x86_op& o = x.operands[0];
  unsigned size = opSize(x);
  if (o.type == X86_OP_REG) {
    x86::Gp r = hostReg(o.reg);
    pushValue(size, [this, r](const x86::Mem& m) { a_.mov(m, r); });
  } else if (o.type == X86_OP_IMM) {
    int64_t v = size == 4 ? int64_t(int32_t(o.imm)) : int64_t(int16_t(o.imm));
    pushValue(size, [this, v](const x86::Mem& m) { a_.mov(m, Imm(v)); });
  } else {
    loadOperand(o, x, size);
    a_.mov(tmp(0), x86::r8d);
    pushValue(size, [this, size](const x86::Mem& m) {
      a_.mov(x86::r8d, tmp(0));
      a_.mov(m, r8Of(size));
    });
  }
}

void BlockEmitter::emitPop(const cs_insn& insn) {
  const cs_x86& x = insn.detail->x86;
  const cs_x86_op& o = x.operands[0];
  unsigned size = opSize(x);
  if (o.type == X86_OP_REG) {
    popValue(size);
    x86::Gp r = hostReg(o.reg);
    a_.mov(r, r8Of(size));
    return;
  }
  // POP m: the address is computed with ESP already incremented (SDM, POP).
  emitAccess(stackMem(0), size, MemKind::Read, [this, size](const x86::Mem& m) {
    if (size == 4) a_.mov(x86::r8d, m);
    else a_.movzx(x86::r8d, m);
    a_.mov(tmp(0), x86::r8d);
  });
  GuestMem dst = guestMem(o, x);
  if (dst.base == ESP) dst.disp += int32_t(size);
  emitAccess(dst, size, MemKind::Write, [this, size](const x86::Mem& m) {
    a_.mov(x86::r8d, tmp(0));
    a_.mov(m, r8Of(size));
  });
  addToSp(int32_t(size));
}

// PUSHA stores EAX, ECX, EDX, EBX, the original ESP, EBP, ESI, EDI downwards.
void BlockEmitter::emitPusha(const cs_insn& insn) {
  unsigned size = opSize(insn.detail->x86);
  for (int r = 0; r < 8; ++r) {
    x86::Gp g = size == 4 ? guest32(r) : guest16(r);
    emitAccess(stackMem(-int32_t(size * (r + 1))), size, MemKind::Write, [this, g](const x86::Mem& m) { a_.mov(m, g); });
  }
  addToSp(-int32_t(size * 8));
}

// POPA: all eight loads first (into CpuState::tmp), then the registers; the saved ESP is skipped.
void BlockEmitter::emitPopa(const cs_insn& insn) {
  unsigned size = opSize(insn.detail->x86);
  for (int i = 0; i < 8; ++i) {
    if (7 - i == ESP) continue;
    emitAccess(stackMem(int32_t(size * i)), size, MemKind::Read, [this, i, size](const x86::Mem& m) {
      if (size == 4) a_.mov(x86::r8d, m);
      else a_.movzx(x86::r8d, m);
      a_.mov(tmp(i), x86::r8d);
    });
  }
  for (int i = 0; i < 8; ++i) {
    int r = 7 - i;
    if (r == ESP) continue;
    if (size == 4) a_.mov(guest32(r), tmp(i));
    else {
      a_.mov(x86::r8d, tmp(i));
      a_.mov(guest16(r), x86::r8w);
    }
  }
  addToSp(int32_t(size * 8));
}

// LEAVE: ESP = EBP (SP = BP on a 16-bit stack), then POP EBP; the load comes first so a fault
// changes nothing.
void BlockEmitter::emitLeave(const cs_insn& insn) {
  unsigned size = opSize(insn.detail->x86);
  if (stack16()) a_.movzx(x86::r10d, x86::bp);
  else a_.mov(x86::r10d, x86::ebp);
  emitAccessAtR10(SS, size, MemKind::Read, [this, size](const x86::Mem& m) {
    if (size == 4) a_.mov(x86::r8d, m);
    else a_.movzx(x86::r8d, m);
  });
  if (stack16()) {
    a_.lea(x86::r10d, x86::ptr(x86::rbp, int32_t(size)));
    a_.mov(x86::r12w, x86::r10w);
  } else {
    a_.lea(x86::r12d, x86::ptr(x86::rbp, int32_t(size)));
  }
  if (size == 4) a_.mov(x86::ebp, x86::r8d);
  else a_.mov(x86::bp, x86::r8w);
}

}  // namespace btvm
