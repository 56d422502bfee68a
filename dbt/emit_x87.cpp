// Runs of x87 instructions on the host's own x87. The x87 helper (emu/cpu/fpu.cpp) costs a
// helper call, an FRSTOR and an FNSAVE per instruction. Here the guest's own x87 instructions
// run natively (their encodings are the same in 64-bit mode; a memory operand becomes the access
// path's host operand), with the guest's FPU state *live* in the host's x87 from the first run
// until translated code next calls a helper or leaves: the runtime thunk and the epilogue store
// it back into CpuState::fpu (runtime.cpp), and a longjmp out of a helper finds it stored or
// the dispatcher stores it (fpu::saveLive). A loop of x87 code thus pays no FRSTOR/FNSAVE at
// all. Register forms are the guest's two bytes; FCOMI writes ZF, PF, CF and FCMOVcc reads them
// in host RFLAGS, which is where the guest's flags live.
//
// A run goes native only while nothing in it can trap on the host: every exception masked in
// FCW, no exception pending (FSW.ES), CR0.EM and CR0.TS clear (#NM). A run that finds the state
// not live tests that, flag-free, and otherwise takes the same instructions through the helper.
// While live, only native instructions have run, and none of them changes FSW.ES or CR0; the
// one that changes FCW, FLDCW, is followed by a check of the masks, which stores the state and
// continues on the helper path at the next instruction when it unmasked one. FNSTCW and FNSTSW
// run natively too. The other control instructions (FLDENV, FRSTOR, FNSTENV, FNSAVE, FNINIT,
// FNCLEX), 80-bit and BCD memory forms, 16-bit addressing, operand-size prefixes and non-flat
// segments stay helpers and end runs; integer instructions without helpers or branches may sit
// inside a run (the translator's choice), and are emitted on both paths.
//
// The guest's FIP, FCS|FOP, FDP, FDS (image bytes 12..27) are kept in CpuState::fpu_ptrs while
// live and put back after the FNSAVE, which stores host addresses there. They are stored late:
// a run's pending pointers (x87_ptrs_) go into fpu_ptrs in each access's slow path, before its
// helper (which may raise a fault and read them), and at the run's end. A memory access's slow
// path inside a run calls a helper, which stores the state: it loads it again (emitX87Reload).
#include <cstring>
#include <vector>

#include "dbt/emitter.h"
#include "dbt/host_regs.h"
#include "dbt/runtime.h"
#include "emu/cpu/fpu.h"
#include "patcher/modes.h"

namespace btvm {

using namespace asmjit;
using namespace host;

namespace {

constexpr int32_t kFpu = int32_t(offsetof(CpuState, fpu));
constexpr int32_t kPtrs = int32_t(offsetof(CpuState, fpu_ptrs));
constexpr int32_t kLive = int32_t(offsetof(CpuState, fpu_live));
static_assert(fpu::kRegs - fpu::kFip == sizeof(CpuState::fpu_ptrs), "the pointer fields of the image");

const cs_x86_op* memOperand(const cs_x86& x) {
  for (unsigned i = 0; i < x.op_count; ++i)
    if (x.operands[i].type == X86_OP_MEM) return &x.operands[i];
  return nullptr;
}

// The x87 instruction `opcode /reg` on a host memory operand: base + index * scale + disp32,
// or the access path's fold, gs:[base32 + index32 * scale + disp32] or gs:[disp32] with the
// address-size prefix (32-bit addressing zero-extends, as the guest's addresses are).
void embedX87Mem(x86::Assembler& a, uint8_t opcode, unsigned reg, const x86::Mem& m) {
  uint8_t b[12];
  size_t n = 0;
  if (m.segmentId() == x86::SReg::kIdGs) {
    b[n++] = 0x65;
    b[n++] = 0x67;
  }
  bool has_base = m.hasBase();
  unsigned base = has_base ? m.baseId() : 5, index = m.hasIndex() ? m.indexId() : 4;
  b[n++] = uint8_t(0x40 | (index >= 8 ? 2 : 0) | (base >= 8 ? 1 : 0));
  b[n++] = opcode;
  b[n++] = uint8_t((has_base ? 0x80 : 0x00) | (reg << 3) | 4);  // no base: SIB base 101, disp32
  b[n++] = uint8_t(m.shift() << 6 | (index & 7) << 3 | (base & 7));
  int32_t disp = m.offsetLo32();
  std::memcpy(b + n, &disp, 4);
  a.embed(b, n + 4);
}

// 16 bytes between the image's pointer fields and CpuState::fpu_ptrs, through R8.
void copy16(x86::Assembler& a, int32_t to, int32_t from) {
  for (int32_t k = 0; k < 16; k += 8) {
    a.mov(x86::r8, x86::qword_ptr(kState, from + k));
    a.mov(x86::qword_ptr(kState, to + k), x86::r8);
  }
}

// ECX = (~R8D & 0x3f) << 26: zero when the FCW in R8D masks every exception. Flag-free;
// clobbers R8D and R11D.
void unmaskedToEcx(x86::Assembler& a) {
  a.not_(x86::r8d);
  a.mov(x86::r11d, 26);
  a.shlx(x86::ecx, x86::r8d, x86::r11d);
}

}  // namespace

void emitSaveLiveFpu(x86::Assembler& a) {
  Label done = a.newLabel();
  a.cmp(x86::byte_ptr(kState, kLive), 0);
  a.je(done);
  a.fnsave(x86::ptr(kState, kFpu));
  a.mov(x86::byte_ptr(kState, kLive), 0);
  copy16(a, kFpu + int32_t(fpu::kFip), kPtrs);
  a.bind(done);
}

bool BlockEmitter::x87RunFiller(const InsnRow* row) {
  if (!row) return false;
  switch (row->emit) {
    case Emit::Generic: case Emit::Lea: case Emit::Nop: case Emit::Push: case Emit::Pop:
    case Emit::BitMem: case Emit::Xlat: case Emit::Pusha: case Emit::Popa: case Emit::Leave:
      return true;
    default:
      return false;
  }
}

bool BlockEmitter::x87Native(const cs_insn& insn, const InsnRow* row) const {
  if (!row || row->emit != Emit::Helper || row->helper != HelperId::Fpu) return false;
  if (handlingFor(mode_, *row) == Handling::Trapped || handlingFor(mode_, *row) == Handling::Patched) return false;
  const cs_x86& x = insn.detail->x86;
  if (x.opcode[0] < 0xd8 || x.opcode[0] > 0xdf || x.prefix[0] || x.prefix[2] || x.prefix[3]) return false;
  fpu::Op op = fpu::decode(x.opcode[0], x.modrm);
  if (!op.valid || op.load > 8 || op.store > 8) return false;
  if (op.special == fpu::Special::FnstswAx) return true;
  // Of the control forms, those left are FLDCW, FNSTCW and FNSTSW m16 in memory and FNINIT,
  // FNCLEX in registers: the memory ones run natively, the others stay helpers.
  if (op.special != fpu::Special::None) return false;
  if (x.modrm >= 0xc0) return !op.control;
  const cs_x86_op* mo = memOperand(x);
  if (!mo) return false;
  GuestMem m = guestMem(*mo, x);
  return !m.addr16 && segmentFlat(m.seg, op.store ? MemKind::Write : MemKind::Read);
}

bool BlockEmitter::x87SetsControl(const cs_insn& insn) {
  const cs_x86& x = insn.detail->x86;
  return x.opcode[0] == 0xd9 && x.modrm < 0xc0 && ((x.modrm >> 3) & 7) == 5;  // FLDCW
}

// After a native FLDCW, which may have unmasked an exception: the state stays live only while
// the host's x87 cannot trap (every exception masked). Otherwise it is stored now, with the
// exception pending in FSW.ES if FLDCW unmasked one already flagged, and the run goes on at
// `rest` on its helper path, which raises #MF or FERR# where the guest's next waiting
// instruction stands. R8D holds the new FCW: the FLDCW's access loaded it too (an FNSTCW costs
// more than the whole check).
void BlockEmitter::emitX87MaskCheck(Label rest) {
  Label masked = a_.newLabel();
  a_.mov(x86::r9, x86::rcx);
  unmaskedToEcx(a_);
  a_.jecxz(x86::rcx, masked);
  a_.mov(x86::rcx, x86::r9);
  emitX87Pointers(x87_ptrs_);
  emitSaveLiveFpu(a_);
  a_.jmp(rest);
  a_.bind(masked);
  a_.mov(x86::rcx, x86::r9);
}

// The state is not live (R9 holds guest RCX): makes it live when the host's x87 cannot trap on
// the run, else goes to `slow` with RCX restored.
void BlockEmitter::emitX87MakeLive(Label slow) {
  Label native = a_.newLabel();
  // RCX = (~FCW & 0x3f) << 26 + FSW.ES + (CR0.EM, CR0.TS) << 30, summed in 64 bits: zero when
  // the host's x87 cannot trap on this run.
  a_.movzx(x86::r8d, x86::word_ptr(kState, kFpu + int32_t(fpu::kFcw)));
  unmaskedToEcx(a_);
  a_.movzx(x86::r8d, x86::byte_ptr(kState, kFpu + int32_t(fpu::kFsw)));
  a_.mov(x86::r11d, 7);
  a_.shrx(x86::r8d, x86::r8d, x86::r11d);
  a_.lea(x86::rcx, x86::ptr(x86::rcx, x86::r8));
  a_.rorx(x86::r8d, st(offsetof(CpuState, cr0)), 2);
  a_.mov(x86::r11d, 30);
  a_.shlx(x86::r8d, x86::r8d, x86::r11d);
  a_.lea(x86::rcx, x86::ptr(x86::rcx, x86::r8));
  a_.jecxz(x86::rcx, native);
  a_.mov(x86::rcx, x86::r9);
  a_.jmp(slow);

  a_.bind(native);
  a_.mov(x86::rcx, x86::r9);
  a_.frstor(x86::ptr(kState, kFpu));
  a_.mov(x86::byte_ptr(kState, kLive), 1);
  copy16(a_, kPtrs, kFpu + int32_t(fpu::kFip));
  // FCS: CS changes only in helpers, whose thunk stores a live state, so the run that makes the
  // state live (one with an instruction that sets FIP) sets it.
  a_.movzx(x86::r8d, x86::word_ptr(kState, int32_t(offsetof(CpuState, seg) + CS * sizeof(Segment))));
  a_.mov(x86::word_ptr(kState, kPtrs + 4), x86::r8w);
}

void BlockEmitter::emitX87Run(const X87Insn* run, size_t n) {
  Label not_live = a_.newLabel(), body = a_.newLabel(), done = a_.newLabel();
  // The helper path, one label before each instruction: a native FLDCW that unmasks an
  // exception goes on at the next one (slow_at[n] is the end).
  std::vector<Label> slow_at(n + 1);
  for (size_t k = 0; k < n; ++k) slow_at[k] = a_.newLabel();
  slow_at[n] = done;
  // Live already (an earlier run, this block or another, and no helper since): the check held
  // then and nothing native can have changed FCW, FSW.ES or CR0 without checking it again.
  a_.mov(x86::r9, x86::rcx);
  a_.movzx(x86::ecx, x86::byte_ptr(kState, kLive));
  a_.jecxz(x86::rcx, not_live);
  a_.mov(x86::rcx, x86::r9);
  a_.jmp(body);
  a_.bind(not_live);
  // A run of control instructions alone (FNSTSW, FNSTCW, FLDCW) does not make the state live,
  // since making it live sets FCS, which only an instruction that sets FIP may do.
  bool sets_fip = false;
  for (size_t k = 0; k < n; ++k) {
    const cs_x86& x = run[k].insn->detail->x86;
    sets_fip |= run[k].row->helper == HelperId::Fpu && !fpu::decode(x.opcode[0], x.modrm).control;
  }
  if (sets_fip) {
    emitX87MakeLive(slow_at[0]);
  } else {
    a_.mov(x86::rcx, x86::r9);
    a_.jmp(slow_at[0]);
  }
  a_.bind(body);
  x87_live_ = true;
  // FIP, FCS|FOP, FDS and an absolute FDP of the last x87 instruction, stored only where they
  // can be read: in the slow paths of accesses, which may raise a fault (x87_ptrs_), and at the
  // end. FDS is the selector of a segment register, which no instruction of a run loads.
  x87_ptrs_ = X87Pointers{};
  for (size_t k = 0; k < n; ++k) {
    const cs_x86& x = run[k].insn->detail->x86;
    position(run[k]);
    if (run[k].row->helper != HelperId::Fpu) {  // integer work between x87 instructions
      emitInsn(*run[k].insn, *run[k].row);
      continue;
    }
    uint8_t opcode = x.opcode[0], modrm = x.modrm;
    fpu::Op op = fpu::decode(opcode, modrm);
    if (modrm >= 0xc0) {
      const uint8_t b[2] = {opcode, modrm};
      a_.embed(b, 2);
    } else {
      GuestMem m = guestMem(*memOperand(x), x);
      unsigned reg = (modrm >> 3) & 7;
      MemKind kind = op.store ? MemKind::Write : MemKind::Read;
      bool fldcw = x87SetsControl(*run[k].insn);
      emitAccess(m, op.load ? op.load : op.store, kind, [this, opcode, reg, fldcw](const x86::Mem& hm) {
        if (fldcw) a_.movzx(x86::r8d, hm);  // the new FCW, for the check (same bytes, same faults)
        embedX87Mem(a_, opcode, reg, hm);
      });
      if (fldcw) emitX87MaskCheck(slow_at[k + 1]);
      if (op.control) continue;  // FLDCW, FNSTCW, FNSTSW leave the pointers alone
      // FDP, the offset (a flat segment): an absolute one waits like FIP; a folded access left
      // no address in R10D.
      x87_ptrs_.fds_seg = m.seg;
      x87_ptrs_.fdp_pending = m.base < 0 && m.index < 0;
      x87_ptrs_.fdp = uint32_t(m.disp);
      if (!x87_ptrs_.fdp_pending && folds(m, kind)) {
        a_.lea(x86::r8d, effectiveAddress(m));
        a_.mov(x86::dword_ptr(kState, kPtrs + 8), x86::r8d);
      } else if (!x87_ptrs_.fdp_pending) {
        a_.mov(x86::dword_ptr(kState, kPtrs + 8), x86::r10d);
      }
    }
    if (op.control) continue;
    x87_ptrs_.pending = true;
    x87_ptrs_.fip = insn_eip_;
    x87_ptrs_.fop = uint16_t(((opcode & 7) << 8) | modrm);
  }
  emitX87Pointers(x87_ptrs_);
  x87_live_ = false;  // accessSite takes x87_ptrs_ only while live
  a_.jmp(done);  // still live: the next helper call or exit stores the state

  for (size_t k = 0; k < n; ++k) {
    a_.bind(slow_at[k]);
    position(run[k]);
    emitInsn(*run[k].insn, *run[k].row);  // the x87 helper never ends a block
  }
  a_.bind(done);
}

void BlockEmitter::emitX87Pointers(const X87Pointers& p) {
  if (p.pending) {
    a_.mov(x86::dword_ptr(kState, kPtrs), p.fip);
    a_.mov(x86::word_ptr(kState, kPtrs + 6), p.fop);
  }
  if (p.fdp_pending) a_.mov(x86::dword_ptr(kState, kPtrs + 8), p.fdp);
  if (p.fds_seg >= 0) {
    a_.movzx(x86::r8d, x86::word_ptr(kState, int32_t(offsetof(CpuState, seg) + p.fds_seg * sizeof(Segment))));
    a_.mov(x86::dword_ptr(kState, kPtrs + 12), x86::r8d);
  }
}

// A slow path's helper call inside a live run stored the state (the thunk): load it again.
void BlockEmitter::emitX87Reload() {
  a_.frstor(x86::ptr(kState, kFpu));
  a_.mov(x86::byte_ptr(kState, kLive), 1);
}

void BlockEmitter::position(const X87Insn& i) {
  insn_eip_ = uint32_t(i.insn->address);
  next_eip_ = uint32_t(i.insn->address + i.insn->size);
  setPosition(i.index, i.count);
}

}  // namespace btvm
