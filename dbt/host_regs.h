// Where guest state lives in translated code. Guest EAX..EBX sit in host RAX..RBX so that AH..BH
// still encode; EBP, ESI, EDI are identity-mapped too; ESP lives in R12 because host RSP stays the
// host stack. R13 points at the CpuState. R14 holds the instruction budget as an address,
// CpuState::budget_base + icount_budget (dbt/budget.h: a block entry's load through it faults
// when the budget runs out). R15 holds 12, the page shift for the flag-free probe
// (SHRX takes its count in a register). R8..R11 are scratch, clobbered by every access.
// --mmu host uses no register of its own: the address space's base is reloaded into R11 from
// CpuState::host_base before each access ([R10 + R11]; one L1-hot load). Dedicating a register
// would mean taking R15 (the probe's shift constant, still needed by based and soft paths) or
// spilling a guest register, and the base changes at every CR3 switch, which the reload follows
// for free.
#pragma once
#include <asmjit/x86.h>

#include <cstddef>

#include "emu/cpu/cpu_state.h"

namespace btvm::host {

namespace x = asmjit::x86;

inline const x::Gp kGuest64[8] = {x::rax, x::rcx, x::rdx, x::rbx, x::r12, x::rbp, x::rsi, x::rdi};
inline x::Gp guest32(int r) { return kGuest64[r].r32(); }
inline x::Gp guest16(int r) { return kGuest64[r].r16(); }

inline const x::Gp kState = x::r13;
inline const x::Gp kBudget = x::r14;   // budget_base + instructions left (dbt/budget.h)
inline const x::Gp kShift12 = x::r15;  // holds 12: SHRX x, x, r15 gives the page number

// A CpuState field as a memory operand: st(offsetof(CpuState, eip)).
inline x::Mem st(size_t off, uint32_t size = 4) { return x::Mem(kState, int32_t(off), size); }

inline int32_t offsetOfReg(int r) { return int32_t(offsetof(CpuState, regs) + 4 * r); }
inline x::Mem stateReg(int r) { return x::dword_ptr(kState, offsetOfReg(r)); }

}  // namespace btvm::host
