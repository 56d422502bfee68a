// The IA-32 debug facilities of a P6 (SDM vol. 3 ch. 17, vol. 2 MOV DR / INT1): DR0-DR3
// breakpoints as DR7 enables them (instruction, data write, data read/write, I/O with CR4.DE),
// DR6 status, general detect (DR7.GD), single-step (EFLAGS.TF), EFLAGS.RF, ICEBP, and the delay
// of debug traps after MOV SS / POP SS. The state lives in CpuState::dr and Machine::Impl::debug
// (debug_state.h); the dispatcher, the access slow paths and a few helpers call in here.
//
// How breakpoints reach the guest:
// - Instruction breakpoints: before each block the dispatcher asks checkInstructionBreakpoint
//   (fault-class #DB, EIP at the instruction); a block that holds an enabled breakpoint address
//   runs one instruction at a time (breakpointIn), as for gdb's breakpoints, and every
//   translation is dropped when the set of addresses changes, so none is chained past one.
// - Data breakpoints: their linear pages never get soft-TLB entries (linearPageWatched, the
//   one decision shared with gdb's watchpoints), so every access reaches the slow path
//   (hostPointer for translated code, readLinear/writeLinear for helpers), which calls
//   noteWatchedAccess. A hit is a trap: DR6 bits wait in `pending` until the instruction (or
//   the REP iteration) completes, then the dispatcher delivers one #DB (deliverDebugTrap).
#pragma once
#include <cstdint>

#include "emu/vm.h"

namespace btvm {

namespace dr6 {
constexpr uint32_t kBreakpoints = 0xf;  // B0-B3
constexpr uint32_t BD = 1u << 13, BS = 1u << 14, BT = 1u << 15;
constexpr uint32_t kFixed1 = 0xffff0ff0u;  // reserved bits read 1 on a P6 (bit 12 reads 0)
}  // namespace dr6
namespace dr7 {
constexpr uint32_t GD = 1u << 13;
constexpr uint32_t kFixed1 = 1u << 10;
constexpr uint32_t kReserved0 = (1u << 11) | (1u << 12) | (1u << 14) | (1u << 15);
}  // namespace dr7

// MOV to/from DRn after the CPL check: DR4/DR5 alias DR6/DR7 unless CR4.DE (then #UD); with
// DR7.GD set the access is a #DB fault with DR6.BD instead.
void writeDebugRegister(Machine::Impl& vm, int n, uint32_t value);
uint32_t readDebugRegister(Machine::Impl& vm, int n);
// CR4 was written: DE decides what R/W = 10 means.
void debugCr4Written(Machine::Impl& vm);

// The linear page holding `linear` must not get a soft-TLB entry (or host-MMU mapping): a gdb
// watchpoint or an enabled data breakpoint is on it.
bool linearPageWatched(const Machine::Impl& vm, uint32_t linear);
// An access by the guest to a watched page: true if a gdb watchpoint or a data breakpoint
// matches. With `record` the hit is kept (gdb stops after the instruction; the guest's #DB
// becomes pending); a helper's caller then ends the block after the instruction.
bool noteWatchedAccess(Machine::Impl& vm, uint32_t linear, unsigned size, bool write, bool record);
// Port I/O of IN/OUT/INS/OUTS: an enabled I/O breakpoint makes a debug trap pending.
void noteIoAccess(Machine::Impl& vm, uint16_t port, unsigned size);
// A gdb breakpoint or an enabled instruction breakpoint lies in [linear, linear + len).
bool breakpointIn(const Machine::Impl& vm, uint32_t linear, uint32_t len);

// The dispatcher. Before the next instruction is fetched (after interrupts were looked at):
// clears RF and raises the #DB fault of an instruction breakpoint at CS:EIP, unless RF was set
// or a MOV SS shadow covers the instruction.
void checkInstructionBreakpoint(Machine::Impl& vm);
// At the top of the loop: delivers the pending debug trap of the instruction that just
// completed (DR6 updated, GD cleared); returns false if there is none or MOV SS delays it.
bool deliverDebugTrap(Machine::Impl& vm);
// Around a single-stepped block: arm before it runs (TF was set), finish after it completed.
void armSingleStep(Machine::Impl& vm, bool armed);
void finishSingleStep(Machine::Impl& vm);
// The dispatcher regained control by longjmp: a fault drops the instruction's debug traps; a
// helper that ended the instruction early (kJumpContinue) still completes a single step.
void debugAfterJump(Machine::Impl& vm, int why);

// MOV SS / POP SS: debug traps and instruction breakpoints wait for the next instruction.
void inhibitDebugTraps(Machine::Impl& vm, uint32_t next_eip);
// A REP string instruction stops after an iteration that is not its last (a debug trap is due,
// its write hit translated code, or a slice of it is done): EFLAGS.RF is set, so a #DB or an
// interrupt taken now pushes RF = 1 and no instruction breakpoint fires as it resumes. Never
// returns.
[[noreturn]] void leaveMidRepeat(Machine::Impl& vm);
// A REP string instruction single-steps by iteration.
inline bool stepsByIteration(const CpuState& c) { return c.eflags & flag::TF; }
// ICEBP (F1): #DB as a trap, no gate DPL check, DR6 unchanged. Never returns.
[[noreturn]] void raiseIcebp(Machine::Impl& vm, uint32_t next_eip);

}  // namespace btvm
