// Where guest state lives in translated code. Guest EAX..EBX sit in host RAX..RBX so that AH..BH
// still encode; EBP, ESI, EDI are identity-mapped too; ESP lives in R12 because host RSP stays the
// host stack. R13 points at the CpuState. R14 holds the instruction budget as an address,
// CpuState::budget_base + icount_budget (dbt/budget.h: a block entry's load through it faults
// when the budget runs out). R15 holds the base of the current address space's view for the
// current privilege, CpuState::host_base[cpl == 3] (--mmu host: a flat access is one host
// instruction, op [r10 + r15]). R8..R11 are scratch, clobbered by every access.
// R15 is loaded wherever the base can have changed under translated code: at `enter` and after
// every helper call (the runtime thunk), since only C++ code (a CR3 switch, a privilege change)
// moves it, and a block runs only at the privilege of its key. Where the host lets user code
// write the GS base (FSGSBASE), GS's base follows R15 at the same two places, so that an access
// can be gs:[guest address] with the address-size prefix: the guest's own addressing, wrapped at
// 32 bits by the host's address generation, one instruction (dbt/emit_access.cpp).
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
inline const x::Gp kHostBase = x::r15;  // CpuState::host_base[cpl == 3]

// A CpuState field as a memory operand: st(offsetof(CpuState, eip)).
// The host lets user code read and write the GS base (HWCAP2_FSGSBASE), and BTVM_NO_FSGSBASE is
// not set (it keeps the other access path tested on hosts that have it). Fixed for the process.
bool hostGsBase();

inline x::Mem st(size_t off, uint32_t size = 4) { return x::Mem(kState, int32_t(off), size); }

inline int32_t offsetOfReg(int r) { return int32_t(offsetof(CpuState, regs) + 4 * r); }
inline x::Mem stateReg(int r) { return x::dword_ptr(kState, offsetOfReg(r)); }

}  // namespace btvm::host
