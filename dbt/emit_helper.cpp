// Inline calls to VMM helpers (no exit from translated code), and the per-instruction dispatch.
#include "dbt/dbt.h"
#include "dbt/emitter.h"
#include "dbt/helper_info.h"
#include "dbt/host_regs.h"
#include "dbt/operands.h"

namespace btvm {

using namespace asmjit;
using namespace host;

namespace {

uint8_t stringOp(unsigned id) {
  switch (id) {
    case X86_INS_MOVSB: case X86_INS_MOVSW: case X86_INS_MOVSD: return hinfo::kMovs;
    case X86_INS_STOSB: case X86_INS_STOSW: case X86_INS_STOSD: return hinfo::kStos;
    case X86_INS_LODSB: case X86_INS_LODSW: case X86_INS_LODSD: return hinfo::kLods;
    case X86_INS_CMPSB: case X86_INS_CMPSW: case X86_INS_CMPSD: return hinfo::kCmps;
    case X86_INS_SCASB: case X86_INS_SCASW: case X86_INS_SCASD: return hinfo::kScas;
    case X86_INS_INSB: case X86_INS_INSW: case X86_INS_INSD: return hinfo::kIns;
    default: return hinfo::kOuts;
  }
}

int regOperandNumber(x86_reg r) {
  int n = regNumber(r);
  if (n < 0) n = segIndex(r);
  if (n < 0) n = crIndex(r);
  if (n < 0) n = drIndex(r);
  return n < 0 ? 0 : n;
}

}  // namespace

// RDTSC without the helper: Linux's TSC clocksource and delay loops read it millions of times
// per boot. EDX:EAX = tsc_base - budget - insns_after - 1 (see CpuState::tsc_base), flag-free;
// the budget register holds budget_base + budget.
void BlockEmitter::emitRdtscInline() {
  a_.mov(x86::r8, kBudget);
  a_.not_(x86::r8);  // -(base + budget) - 1
  a_.mov(x86::rdx, st(offsetof(CpuState, tsc_base), 8));
  a_.lea(x86::rdx, x86::ptr(x86::rdx, x86::r8, 0, -int32_t(insns_after_)));
  a_.mov(x86::r8, st(offsetof(CpuState, budget_base), 8));
  a_.lea(x86::rdx, x86::ptr(x86::rdx, x86::r8));
  a_.mov(x86::eax, x86::edx);
  a_.rorx(x86::rdx, x86::rdx, 32);
  a_.mov(x86::edx, x86::edx);
}

bool BlockEmitter::emitHelper(const cs_insn& insn, const InsnRow& row) {
  if (row.helper == HelperId::String && emitStringInline(insn, row)) return true;
  if (row.helper == HelperId::Rdtsc && mode_ == VirtMode::Translate && (key_.flags & block_flag::kInlineTsc)) {
    emitRdtscInline();
    return true;
  }
  if ((row.helper == HelperId::Div || row.helper == HelperId::Idiv) && emitDivideInline(insn, row)) return true;
  return emitHelperCall(insn, row);
}

bool BlockEmitter::emitHelperCall(const cs_insn& insn, const InsnRow& row) {
  const cs_x86& x = insn.detail->x86;
  hinfo::Info info{};
  info.length = uint8_t(insn.size);
  info.size = x.op_count ? x.operands[0].size : uint8_t(opSize(x));
  info.addr16 = x.addr_size == 2;
  info.rep = x.prefix[0] == 0xf3 ? 1 : x.prefix[0] == 0xf2 ? 2 : 0;
  int ovr = segmentOverride(x);
  info.seg = uint8_t(ovr < 0 ? DS : ovr);
  if (row.helper == HelperId::String || row.helper == HelperId::Ins || row.helper == HelperId::Outs) {
    info.sub = stringOp(insn.id);
    info.size = uint8_t(stringSize(x, code16()));
  }
  if (row.helper == HelperId::LoadFarPtr) {
    switch (insn.id) {
      case X86_INS_LES: info.sub = ES; break;
      case X86_INS_LSS: info.sub = SS; break;
      case X86_INS_LFS: info.sub = FS; break;
      case X86_INS_LGS: info.sub = GS; break;
      default: info.sub = DS; break;
    }
    info.size = uint8_t(opSize(x));
  }
  if (row.helper == HelperId::Out && x.op_count == 2) info.size = x.operands[1].size;
  // The operand size, where Capstone's operands do not give it (LGDT/LIDT: always 6 bytes).
  if (row.helper == HelperId::Pushf || row.helper == HelperId::Popf || row.helper == HelperId::Enter ||
      row.helper == HelperId::RetFar || row.helper == HelperId::Iret || row.helper == HelperId::PushSeg ||
      row.helper == HelperId::PopSeg || row.helper == HelperId::CallFar || row.helper == HelperId::JmpFar ||
      row.helper == HelperId::Lgdt || row.helper == HelperId::Lidt)
    info.size = uint8_t(opSize(x));
  int nreg = 0, nimm = 0;
  int64_t last_imm = 0;
  const cs_x86_op* mem = nullptr;
  for (unsigned i = 0; i < x.op_count; ++i) {
    const cs_x86_op& o = x.operands[i];
    if (o.type == X86_OP_REG) {
      int n = regOperandNumber(o.reg);
      if (nreg == 0) info.reg = uint8_t(n);
      else info.rm = uint8_t(n);
      ++nreg;
    } else if (o.type == X86_OP_IMM) {
      if (nimm == 0) info.imm = uint16_t(o.imm);
      else info.imm2 = uint8_t(o.imm);
      last_imm = o.imm;
      info.has_imm = 1;
      ++nimm;
    } else if (o.type == X86_OP_MEM) {
      mem = &o;
    }
  }
  // Capstone shows AAM/AAD with the default base 10 without an operand: take the byte itself.
  if (row.helper == HelperId::Aam || row.helper == HelperId::Aad) {
    info.imm = insn.bytes[insn.size - 1];
    info.has_imm = 1;
  }
  // The x87 helper decodes the escape opcode and ModRM itself (0x9B: WAIT); the operand size
  // picks the 16- or 32-bit FNSTENV/FNSAVE format.
  if (row.helper == HelperId::Fpu) {
    info.imm = uint16_t(x.opcode[0] << 8 | (x.opcode[0] == 0x9b ? 0 : x.modrm));
    info.has_imm = 1;
    info.size = uint8_t(opSize(x));
  }
  if (mem) {
    GuestMem m = guestMem(*mem, x);
    info.seg = uint8_t(m.seg);
    info.rm_is_mem = 1;
    emitEffectiveAddress(m);
  } else {
    a_.mov(x86::r10d, uint32_t(last_imm));
  }
  setEip(insn_eip_);
  a_.mov(st(offsetof(CpuState, insns_after)), insns_after_);
  Handling how = handlingFor(mode_, row);
  if (how == Handling::Trapped || how == Handling::Patched) {
    // A trap: leave translated code; the dispatcher runs the helper and resumes.
    a_.mov(st(offsetof(CpuState, trap_arg)), x86::r10d);
    a_.mov(x86::r9, hinfo::pack(info));
    a_.mov(st(offsetof(CpuState, trap_info), 8), x86::r9);
    a_.mov(st(offsetof(CpuState, trap_helper)), uint32_t(row.helper) + 1);
    emitExitStateEip();
    return false;
  }
  bool ends = row.cls & cls::kBlockEnd;
  info.ends_block = ends;
  a_.mov(x86::r9, hinfo::pack(info));
  callHelper(how == Handling::Missed ? hooks_.deprivileged[size_t(row.helper)] : hooks_.helpers[size_t(row.helper)]);
  if (!ends) return true;
  emitHelperExit();
  return false;
}

// After a helper that ends its block: it has set state.eip (to the next instruction or a
// target) and returned where to go on (emu/helper_exit.h): the block of the new EIP when it
// may run on in translated code, else the stub that leaves to the dispatcher.
void BlockEmitter::emitHelperExit() { a_.jmp(x86::r11); }

void BlockEmitter::emitRaise(HelperFn fn, uint32_t eip, uint64_t arg) {
  setEip(eip);
  a_.mov(st(offsetof(CpuState, insns_after)), insns_after_);
  a_.mov(x86::r10, arg);
  a_.mov(x86::r9d, 0);
  callHelper(fn);
  emitExitStateEip();  // not reached: the helper delivers the exception
}

bool BlockEmitter::emitInsn(const cs_insn& insn, const InsnRow& row) {
  insn_eip_ = uint32_t(insn.address);
  next_eip_ = uint32_t(insn.address + insn.size);
  switch (row.emit) {
    case Emit::Generic:
      if (!emitGeneric(insn)) {
        emitRaise(hooks_.raise_ud, insn_eip_, insn.id);
        return false;
      }
      return true;
    case Emit::BitMem: emitBitMem(insn); return true;
    case Emit::Lea: emitLea(insn); return true;
    case Emit::Nop: return true;
    case Emit::Xlat: emitXlat(insn); return true;
    case Emit::Push: emitPush(insn); return true;
    case Emit::Pop: emitPop(insn); return true;
    case Emit::Pusha: emitPusha(insn); return true;
    case Emit::Popa: emitPopa(insn); return true;
    case Emit::Leave: emitLeave(insn); return true;
    case Emit::Jmp: emitJmp(insn); return false;
    case Emit::Jcc: emitJcc(insn); return false;
    case Emit::Loop: emitLoop(insn); return false;
    case Emit::Call: emitCall(insn); return false;
    case Emit::Ret: emitRet(insn); return false;
    case Emit::Helper: return emitHelper(insn, row);
    case Emit::Undefined:
      emitRaise(hooks_.raise_ud, insn_eip_, 0);
      return false;
  }
  return true;
}

}  // namespace btvm
