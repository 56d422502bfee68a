#include "dbt/runtime.h"

#include <sys/auxv.h>

#include <cstdlib>

#include "dbt/assembler.h"
#include "dbt/call_stack.h"
#include "dbt/flow_predict.h"
#include "dbt/host_regs.h"

namespace btvm {

using namespace asmjit;
using namespace host;

namespace {

// Arithmetic flags the host keeps for the guest; DF, TF, IF... stay in CpuState::eflags.
constexpr uint32_t kArith = flag::kArith;

void storeGuestRegs(x86::Assembler& a) {
  for (int r = 0; r < 8; ++r) a.mov(stateReg(r), guest32(r));
}
void loadGuestRegs(x86::Assembler& a) {
  for (int r = 0; r < 8; ++r) a.mov(guest32(r), stateReg(r));
}
// Host flags -> CpuState::eflags (arithmetic bits only). Clobbers R8, R10 and the host flags.
void storeGuestFlags(x86::Assembler& a) {
  a.pushfq();
  a.pop(x86::r8);
  a.and_(x86::r8d, kArith);
  a.mov(x86::r10d, st(offsetof(CpuState, eflags)));
  a.and_(x86::r10d, ~kArith);
  a.or_(x86::r10d, x86::r8d);
  a.mov(st(offsetof(CpuState, eflags)), x86::r10d);
}
// CpuState::eflags -> host flags (arithmetic bits only; host DF stays clear as the ABI wants).
void loadGuestFlags(x86::Assembler& a) {
  a.mov(x86::r10d, st(offsetof(CpuState, eflags)));
  a.and_(x86::r10d, kArith | flag::kFixed1);
  a.push(x86::r10);
  a.popfq();
}

// The budget register (base + budget, dbt/budget.h) -> CpuState::icount_budget. Clobbers R14
// and the host flags: after the guest's flags are stored.
void storeBudget(x86::Assembler& a) {
  a.sub(kBudget, st(offsetof(CpuState, budget_base), 8));
  a.mov(st(offsetof(CpuState, icount_budget), 8), kBudget);
}

// R15 = CpuState::host_base[cpl == 3] (dbt/host_regs.h), and GS's base = R15 where the host has
// FSGSBASE. WRGSBASE costs 12 ns on this project's host (RDGSBASE under 1): written only when it
// changed, which is a CR3 switch or a privilege change. Clobbers R8 and the host flags.
void loadHostBase(x86::Assembler& a) {
  a.xor_(kHostBase.r32(), kHostBase.r32());
  a.cmp(x86::byte_ptr(kState, int32_t(offsetof(CpuState, cpl))), 3);
  a.sete(kHostBase.r8());
  a.mov(kHostBase, x86::qword_ptr(kState, kHostBase, 3, int32_t(offsetof(CpuState, host_base))));
  if (!hostGsBase()) return;
  Label same = a.newLabel();
  a.rdgsbase(x86::r8);
  a.cmp(x86::r8, kHostBase);
  a.je(same);
  a.wrgsbase(kHostBase);
  a.bind(same);
}

const x86::Gp kCalleeSaved[] = {x86::rbx, x86::rbp, x86::r12, x86::r13, x86::r14, x86::r15};

}  // namespace

bool host::hostGsBase() {
  constexpr unsigned long kHwcap2FsGsBase = 1ul << 1;  // HWCAP2_FSGSBASE, <asm/hwcap2.h>
  static const bool on = (getauxval(AT_HWCAP2) & kHwcap2FsGsBase) && !std::getenv("BTVM_NO_FSGSBASE");
  return on;
}

RuntimeStubs generateRuntimeStubs(CodeCache& cache) {
  CodeHolder code;
  x86::Assembler a;
  AsmErrorHandler eh;
  initAssembler(code, a, eh);
  Label enter = a.newLabel(), epilogue = a.newLabel(), thunk = a.newLabel(), miss = a.newLabel();
  Label sentinel = a.newLabel(), sentinel_hit = a.newLabel();

  // enter(cpu = rdi, code = rsi): translated code runs on its own stack (dbt/call_stack.h), from
  // where it left it (CpuState::call_rsp); the base's sentinel slot is written again each time.
  // That RSP is 16-byte aligned, so calls from translated code (call thunk; thunk re-aligns)
  // land aligned in C++.
  a.bind(enter);
  for (const x86::Gp& r : kCalleeSaved) a.push(r);
  a.sub(x86::rsp, 8);
  a.mov(kState, x86::rdi);
  a.mov(st(offsetof(CpuState, host_rsp), 8), x86::rsp);
  a.mov(x86::r10, callStackBase());
  a.lea(x86::r11, x86::ptr(sentinel));
  a.mov(x86::qword_ptr(x86::r10), x86::r11);
  a.mov(x86::rsp, st(offsetof(CpuState, call_rsp), 8));
  a.mov(x86::r11, x86::rsi);
  a.mov(kBudget, st(offsetof(CpuState, icount_budget), 8));
  a.add(kBudget, st(offsetof(CpuState, budget_base), 8));
  loadHostBase(a);
  loadGuestFlags(a);
  loadGuestRegs(a);
  a.jmp(x86::r11);

  a.bind(epilogue);
  a.mov(st(offsetof(CpuState, last_exit), 8), x86::r11);
  a.mov(st(offsetof(CpuState, call_rsp), 8), x86::rsp);  // pending CALLs stay for the next entry
  storeGuestRegs(a);
  storeGuestFlags(a);
  emitSaveLiveFpu(a);
  storeBudget(a);
  a.mov(x86::rsp, st(offsetof(CpuState, host_rsp), 8));
  a.add(x86::rsp, 8);
  for (int i = 5; i >= 0; --i) a.pop(kCalleeSaved[i]);
  a.ret();

  // thunk: reached by CALL from translated code (RSP = 16k + 8 on entry).
  a.bind(thunk);
  storeGuestRegs(a);
  a.mov(x86::r8, x86::r10);  // storeGuestFlags clobbers R10: keep the argument
  a.push(x86::r8);           // and re-align the stack for the C++ call
  storeGuestFlags(a);
  emitSaveLiveFpu(a);        // helpers see the guest's x87 state in CpuState::fpu
  storeBudget(a);  // helpers read the clock
  a.pop(x86::rsi);
  a.sub(x86::rsp, 8);
  a.mov(x86::rdi, kState);
  a.mov(x86::rdx, x86::r9);
  a.call(x86::r11);
  a.add(x86::rsp, 8);
  a.mov(kBudget, st(offsetof(CpuState, icount_budget), 8));  // a helper may cut it to leave early
  a.add(kBudget, st(offsetof(CpuState, budget_base), 8));
  a.mov(x86::r11, x86::rax);
  loadHostBase(a);  // the helper may have switched address spaces or privilege
  loadGuestFlags(a);
  loadGuestRegs(a);
  a.ret();

  a.bind(miss);
  a.mov(x86::r11d, 0);
  a.jmp(epilogue);

  // sentinel: a guest RET whose CALL is not on this stack (made before the last entry, or
  // dropped by a reset) pops the base slot and lands here, the popped EIP in R10D. Put the slot
  // back (RSP = base again) and find the target in the jump cache.
  a.bind(sentinel);
  a.lea(x86::rsp, x86::ptr(x86::rsp, -8));
  a.lea(x86::r11, x86::ptr(sentinel));
  a.mov(x86::qword_ptr(x86::rsp), x86::r11);
  emitJumpCacheLookup(a, sentinel_hit);
  a.jmp(miss);
  a.bind(sentinel_hit);
  a.mov(x86::rcx, x86::r9);
  a.jmp(x86::qword_ptr(kState, x86::r11, 3, int32_t(offsetof(CpuState, jcache) + 8)));

  uint8_t* base = installCode(code, cache, nullptr);
  cache.sealStubs();
  RuntimeStubs s;
  s.enter = reinterpret_cast<void (*)(CpuState*, const void*)>(base + code.labelOffset(enter));
  s.epilogue = base + code.labelOffset(epilogue);
  s.thunk = base + code.labelOffset(thunk);
  s.jcache_miss = base + code.labelOffset(miss);
  return s;
}

}  // namespace btvm
