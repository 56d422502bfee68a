// Block entry, exits and near control flow. Every exit to a known EIP is a JMP rel32 (or the
// Jcc or CALL rel32 of a branch) that first goes to the dispatcher path and is later patched to
// jump straight to the next block (chaining). Indirect branches probe the jump cache inline and
// stay in translated code on a hit. None of this touches the guest's flags: they are live
// across block boundaries.
#include <cstring>
#include <stdexcept>

#include "dbt/dbt.h"
#include "dbt/emitter.h"
#include "dbt/flow_predict.h"
#include "dbt/host_regs.h"
#include "dbt/operands.h"
#include "dbt/raw_emit.h"

namespace btvm {

using namespace asmjit;
using namespace host;

// Entry: charge the block's instructions to the budget (R14 = budget base + budget); when it goes
// negative, give them back and leave to the dispatcher before the first instruction runs. The
// test is a load that faults below the base (dbt/budget.h): no flags, no branch.
void BlockEmitter::emitEntry(uint32_t guest_insns) {
  RawBuf r(a_);
  r.lea(kBudget, kBudget, -int32_t(guest_insns));
  uint32_t begin = uint32_t(r.offset());
  r.fixed([](x86::Assembler& a) { a.movzx(x86::r11d, x86::byte_ptr(kBudget)); });
  uint32_t end = uint32_t(r.offset());
  budget_site_ = fault_sites_.size();
  fault_sites_.push_back(FaultSiteOffsets{begin, end, 0, false});  // resume: emitBudgetExit
  budget_insns_ = guest_insns;
}

// The way out of a block entry whose budget load faulted, emitted after the block.
void BlockEmitter::emitBudgetExit() {
  if (budget_site_ == SIZE_MAX) return;
  RawBuf r(a_);
  fault_sites_[budget_site_].resume = uint32_t(r.offset());
  r.lea(kBudget, kBudget, int32_t(budget_insns_));
  r.flush();
  emitExitToDispatcher(key_.eip);
}

// The dispatcher path of a chainable branch other than a JMP exit's (a Jcc's or a CALL's rel32,
// at `jump`, which jumps here until chained).
void BlockEmitter::emitBranchExitPath(uint32_t jump, uint32_t target_eip) {
  const uint8_t* b = a_.bufferData() + jump;
  if (b[0] == 0x0f ? (b[1] & 0xf0) != 0x80 : b[0] != 0xe8)
    throw std::logic_error("emit_flow: a chainable branch is not a Jcc or CALL rel32");
  RawBuf r(a_);
  ExitSite site{jump, target_eip};
  site.unchained = uint32_t(r.offset());
  r.storeImm32(int32_t(offsetof(CpuState, eip)), target_eip).leaR11(jump).jmp(stubs_.epilogue);
  exits_.push_back(site);
}

bool BlockEmitter::needsPageCheck(uint32_t target_eip) const {
  uint32_t target_page = (key_.cs_base + target_eip) >> 12;
  return (key_.flags & block_flag::kPaging) && target_page != (key_.cs_base + key_.eip) >> 12;
}

// Copied from byte templates (dbt/raw_emit.h): every block has one or two of these.
void BlockEmitter::emitDirectExit(uint32_t target_eip) {
  bool page_check = needsPageCheck(target_eip);
  RawBuf r(a_);
  ExitSite site{uint32_t(r.offset()), target_eip};
  r.jmpNext();  // JMP rel32, rel32 = 0 until chained: falls into the dispatcher path below
  size_t exit_path = r.offset();
  r.storeImm32(int32_t(offsetof(CpuState, eip)), target_eip).leaR11(site.jump).jmp(stubs_.epilogue);
  r.flush();
  if (page_check) emitPageCheck(site, exit_path);
  exits_.push_back(site);
}

// A chain to another linear page enters here, not the target block: the target was found under
// the mapping its page had then, and a CR3 switch or page-table write may have changed it since.
// The soft TLB holds only current translations (flushed on CR3 writes, INVLPG and table writes,
// filled by the dispatcher for code pages), so the jump is taken only when the TLB entry of the
// target's page, in this block's privilege class, is valid and maps it to the physical page the
// target was translated from: the addend must equal the constant chaining patches into the
// MOVABS (its negation, so that LEA gives 0). Else it leaves through the dispatcher path, which
// looks the block up again. Flag-free, like every compare here:
//     check: mov r9, rcx ; mov rcx, [tlb entry].addend ; movabs r8, -expected (patched)
//            lea rcx, [rcx + r8] ; jrcxz addend_ok ; jmp fail
//     addend_ok: mov ecx, [tlb entry].tag_read ; lea ecx, [rcx - vpn] ; jrcxz ok
//     fail: mov rcx, r9 ; jmp exit_path
//     ok: mov rcx, r9 ; check_jump: jmp rel32 to the target block (patched)
// Copied from byte templates (dbt/raw_emit.h), its branches patched here: the same bytes as
// AsmJit's (JRCXZ rel8, the forward JMP rel32, the backward JMP as short as it reaches).
void BlockEmitter::emitPageCheck(ExitSite& site, size_t exit_path) {
  uint32_t vpn = (key_.cs_base + site.target_eip) >> 12;
  bool user = (key_.flags & block_flag::kCplMask) == 3;
  int32_t entry = int32_t(offsetof(CpuState, tlb) + sizeof(TlbEntry) * ((user ? kTlbSize : 0) + (vpn & (kTlbSize - 1))));
  static const uint8_t kJrcxz[2] = {0xe3, 0x00};
  auto movR9Rcx = [](x86::Assembler& a) { a.mov(x86::r9, x86::rcx); };
  auto movRcxR9 = [](x86::Assembler& a) { a.mov(x86::rcx, x86::r9); };
  RawBuf r(a_);
  site.check = uint32_t(r.offset());
  r.fixed(movR9Rcx).load(x86::rcx, kState, entry + int32_t(offsetof(TlbEntry, addend)));
  r.fixed([](x86::Assembler& a) { a.movabs(x86::r8, uint64_t(1) << 63); });  // placeholder, imm last
  site.check_imm_end = uint32_t(r.offset());
  r.fixed([](x86::Assembler& a) { a.lea(x86::rcx, x86::ptr(x86::rcx, x86::r8)); });
  size_t jrcxz_addend_ok = r.offset();
  r.bytes(kJrcxz, 2);
  size_t jmp_fail = r.offset();
  r.jmpNext();
  size_t addend_ok = r.offset();
  r.load(x86::ecx, kState, entry + int32_t(offsetof(TlbEntry, tag_read))).lea(x86::ecx, x86::rcx, -int32_t(vpn));
  size_t jrcxz_ok = r.offset();
  r.bytes(kJrcxz, 2);
  size_t fail = r.offset();
  r.fixed(movRcxR9).jmpBack(exit_path);
  size_t ok = r.offset();
  r.fixed(movRcxR9);
  site.check_jump = uint32_t(r.offset());
  r.jmpNext();  // JMP rel32 to the target block, patched with the addend
  r.flush();
  uint8_t* code = a_.bufferData();
  code[jrcxz_addend_ok + 1] = uint8_t(addend_ok - (jrcxz_addend_ok + 2));
  code[jrcxz_ok + 1] = uint8_t(ok - (jrcxz_ok + 2));
  int32_t rel = int32_t(fail - (jmp_fail + 5));
  std::memcpy(code + jmp_fail + 1, &rel, 4);
}

void BlockEmitter::emitExitToDispatcher(uint32_t next_eip) {
  setEip(next_eip);
  emitExitStateEip();
}

void BlockEmitter::emitExitStateEip() { RawBuf(a_).movR11d(0).jmp(stubs_.epilogue); }

// Target EIP in R10D. Index = (eip + (eip >> 12)) mod 4096, computed with shifts and LEA only.
// Falls through on a miss (RCX restored); a hit jumps to `hit` with guest RCX in R9 and R11*8
// indexing the entry. Shared with the sentinel of translated code's stack (runtime.cpp).
void emitJumpCacheLookup(x86::Assembler& a, Label hit) {
  int32_t jc = int32_t(offsetof(CpuState, jcache));
  a.mov(st(offsetof(CpuState, eip)), x86::r10d);
  a.mov(x86::r9, x86::rcx);
  // RORX's low 12 bits are those of eip >> 12, so the sum's low 12 bits are the index; the
  // shift pair keeps only them (SHLX/SHRX by ECX, no flags; RCX is saved in R9).
  static_assert(kJumpCacheBits <= 20, "RORX by 12 gives 20 bits of eip >> 12");
  a.mov(x86::ecx, 32 - kJumpCacheBits);
  a.rorx(x86::r8d, x86::r10d, 12);
  a.lea(x86::r11d, x86::ptr(x86::r10, x86::r8));
  a.shlx(x86::r11d, x86::r11d, x86::ecx);
  a.shrx(x86::r11d, x86::r11d, x86::ecx);
  a.lea(x86::r11, x86::ptr(x86::r11, x86::r11));        // * 2, scale 8 below: 16-byte entries
  a.mov(x86::rcx, x86::qword_ptr(kState, x86::r11, 3, jc));
  a.mov(x86::r8, st(offsetof(CpuState, flow_gen), 8));
  a.lea(x86::r8, x86::ptr(x86::r8, x86::r10));  // flow_gen | EIP (R10 is zero-extended)
  a.not_(x86::r8);
  a.lea(x86::rcx, x86::ptr(x86::rcx, x86::r8, 0, 1));
  a.jecxz(x86::rcx, hit);
  a.mov(x86::rcx, x86::r9);
}

void BlockEmitter::emitIndirectExit(InlineCacheSlot* fill) {
  if (one_off_) {  // back to the dispatcher (setOneOff)
    a_.mov(st(offsetof(CpuState, eip)), x86::r10d);
    emitExitStateEip();
    return;
  }
  Label hit = a_.newLabel();
  int32_t jc = int32_t(offsetof(CpuState, jcache));
  emitJumpCacheLookup(a_, hit);
  emitExitStateEip();
  a_.bind(hit);
  a_.mov(x86::rcx, x86::r9);
  if (fill) emitInlineCacheFill(fill, jc + 8);
  else a_.jmp(x86::qword_ptr(kState, x86::r11, 3, jc + 8));
}

// A relative branch's target: EIP wraps at 64 KiB with a 16-bit operand size (Capstone wraps it
// itself only in 16-bit code, and only for 16-bit displacements).
uint32_t BlockEmitter::branchTarget(const cs_insn& insn) const {
  uint32_t target = uint32_t(insn.detail->x86.operands[0].imm);
  return opSize(insn.detail->x86) == 2 ? target & 0xffff : target;
}

void BlockEmitter::emitJmp(const cs_insn& insn) {
  const cs_x86& x = insn.detail->x86;
  const cs_x86_op& o = x.operands[0];
  if (o.type == X86_OP_IMM) {
    emitDirectExit(branchTarget(insn));
    return;
  }
  unsigned size = opSize(x);
  loadOperand(o, x, size, x86::r10d);  // the target EIP where the exits want it
  // A switch's jump table (emit_predict.cpp: many targets, one per case number).
  int index = o.type == X86_OP_MEM && o.mem.scale == 4 && size == 4 ? gprIndex(o.mem.index) : -1;
  if (index >= 0) emitSwitchExit(index);
  else emitCachedIndirectExit();
}

// The condition that is true exactly when a Jcc's is false.
static unsigned negatedJcc(unsigned id) {
  static const unsigned kPairs[][2] = {
      {X86_INS_JO, X86_INS_JNO}, {X86_INS_JB, X86_INS_JAE}, {X86_INS_JE, X86_INS_JNE},
      {X86_INS_JBE, X86_INS_JA}, {X86_INS_JS, X86_INS_JNS}, {X86_INS_JP, X86_INS_JNP},
      {X86_INS_JL, X86_INS_JGE}, {X86_INS_JLE, X86_INS_JG}};
  for (const auto& p : kPairs) {
    if (p[0] == id) return p[1];
    if (p[1] == id) return p[0];
  }
  return 0;
}

// Both ways out are chainable direct exits. Where the target needs no page check (paging off,
// or the same linear page: a loop's back edge), the Jcc itself is the taken way's chainable
// jump, so that a chained loop iterates through one host branch and leaves through a not-taken
// Jcc and the fall-through's JMP:
//     jcc rel32 taken_path   ; chaining patches rel32 to the target block
//     (the fall-through's exit)
//     taken_path: (the target's exit path, as a JMP exit has after its JMP)
// Else the inverted condition jumps over the target's exit, whose JMP exit goes through the
// page check.
void BlockEmitter::emitJcc(const cs_insn& insn) {
  uint32_t target = branchTarget(insn);
  if (!needsPageCheck(target)) {
    Label taken_path = a_.newLabel();
    uint32_t jcc_at = uint32_t(a_.offset());
    a_.long_().emit(asmjitId(insn.id), taken_path);
    emitDirectExit(next_eip_);
    a_.bind(taken_path);
    emitBranchExitPath(jcc_at, target);
    return;
  }
  Label other = a_.newLabel();
  unsigned negated = negatedJcc(insn.id);
  bool backward = target <= insn_eip_ && negated != 0;  // usually taken: its JMP first
  a_.emit(asmjitId(backward ? negated : insn.id), other);
  emitDirectExit(backward ? target : next_eip_);
  a_.bind(other);
  emitDirectExit(backward ? next_eip_ : target);
}

// LOOP/LOOPE/LOOPNE decrement ECX without touching flags; JECXZ tests it. JRCXZ is exact because
// every 32-bit write leaves the upper half of RCX zero.
void BlockEmitter::emitLoop(const cs_insn& insn) {
  const cs_x86& x = insn.detail->x86;
  uint32_t target = branchTarget(insn);
  Label taken = a_.newLabel(), fall = a_.newLabel(), zero = a_.newLabel();
  bool cx16 = x.addr_size == 2;
  if (insn.id == X86_INS_JECXZ || insn.id == X86_INS_JCXZ) {
    a_.mov(x86::r9, x86::rcx);
    if (cx16) a_.movzx(x86::ecx, x86::cx);
    else a_.mov(x86::ecx, x86::ecx);
    a_.jecxz(x86::rcx, zero);
    a_.mov(x86::rcx, x86::r9);
    a_.jmp(fall);
    a_.bind(zero);
    a_.mov(x86::rcx, x86::r9);
    a_.jmp(taken);
  } else {
    if (cx16) {
      a_.lea(x86::r8d, x86::ptr(x86::rcx, -1));
      a_.mov(x86::cx, x86::r8w);
      a_.mov(x86::r9, x86::rcx);
      a_.movzx(x86::ecx, x86::cx);
    } else {
      a_.lea(x86::ecx, x86::ptr(x86::rcx, -1));
      a_.mov(x86::r9, x86::rcx);
    }
    a_.jecxz(x86::rcx, zero);
    a_.mov(x86::rcx, x86::r9);
    if (insn.id == X86_INS_LOOPE) a_.jne(fall);
    if (insn.id == X86_INS_LOOPNE) a_.je(fall);
    a_.jmp(taken);
    a_.bind(zero);
    a_.mov(x86::rcx, x86::r9);
  }
  a_.bind(fall);
  emitDirectExit(next_eip_);
  a_.bind(taken);
  emitDirectExit(target);
}

// A host CALL (emit_predict.cpp): the callee's RET comes back to the landing right after it.
void BlockEmitter::emitCall(const cs_insn& insn) {
  const cs_x86& x = insn.detail->x86;
  const cs_x86_op& o = x.operands[0];
  unsigned size = opSize(x);
  uint32_t ret = size == 2 ? next_eip_ & 0xffff : next_eip_;  // what RET will pop
  Label callee = a_.newLabel();
  auto pushReturn = [this, ret, size](const x86::Mem& m) {
    a_.mov(m, Imm(size == 4 ? int64_t(int32_t(ret)) : int64_t(int16_t(ret))));
  };
  bool direct = o.type == X86_OP_IMM;
  if (!direct) {
    loadOperand(o, x, size);  // the target is read before the push moves ESP
    a_.mov(st(offsetof(CpuState, tmp)), x86::r8d);
  }
  pushValue(size, pushReturn);
  uint32_t call_at = emitHostCall(callee);
  emitLanding(ret);
  a_.bind(callee);
  if (direct && !needsPageCheck(branchTarget(insn))) {
    emitBranchExitPath(call_at, branchTarget(insn));  // the host CALL itself chains to the callee
  } else if (direct) {
    emitDirectExit(branchTarget(insn));
  } else {
    a_.mov(x86::r10d, st(offsetof(CpuState, tmp)));
    bool table = o.type == X86_OP_MEM && o.mem.scale == 4 && size == 4 && gprIndex(o.mem.index) >= 0;
    emitSwitchExit(table ? gprIndex(o.mem.index) : -1);
  }
}

void BlockEmitter::emitRet(const cs_insn& insn) {
  const cs_x86& x = insn.detail->x86;
  unsigned size = opSize(x);
  popValue(size, stack16() ? x86::r8d : x86::r10d);  // the return EIP where emitReturnExit wants it
  if (x.op_count == 1 && x.operands[0].type == X86_OP_IMM) addToSp(int32_t(uint16_t(x.operands[0].imm)));
  if (stack16()) a_.mov(x86::r10d, x86::r8d);
  emitReturnExit();
}

}  // namespace btvm
