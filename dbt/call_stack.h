// The host stack that translated code runs on. A guest near CALL is a host CALL (the host's
// return-stack buffer then predicts the guest's RET, which is a host RET): every guest CALL that
// has not returned holds 16 bytes here (its flow generation and the host return address), and a
// guest that calls without returning (a CALL popped by POP, longjmp, a context switch) leaves
// them behind. So translated code does not run on the thread's stack but on this region of
// btvm's own, with an inaccessible guard below it:
//
//     [ guard | ... used by CALLs, each probing kCallStackHeadroom below RSP ... | base | sentinel ]
//
// `enter` (dbt/runtime.cpp) saves the thread's RSP and resumes translated code where its
// epilogue left it (CpuState::call_rsp), so CALLs made before an exit to the dispatcher (an
// interrupt, a system call, a budget slice) still predict their RETs: their landings check the
// flow generation, so a RET in another mode or after a CR3 switch only misses. The stack starts
// empty (at callStackBase()) after a code-cache flush (landings freed), after a run that a
// helper left by longjmp (an exception: the depth it left is unknown), when the generations
// wrap, and for another CpuState. Above the base, the *sentinel* slot holds the address of a
// stub that does a jump-cache lookup: a RET with no CALL of its own on the stack lands there.
// Each CALL first loads [RSP - kCallStackHeadroom] (`mov r11, [rsp - kCallStackHeadroom]`, no
// flags); near the bottom that load hits the guard,
// and the host fault handler (host_fault.cpp) sets RSP back to callStackBase() and re-runs the
// load: the pending predictions are dropped, nothing of the guest's changes. The headroom keeps
// room for the C++ helpers that translated code calls on this stack (through the thunk) and for
// the signal frame of that fault.
//
// One region per process, mapped on first use (translated code runs on one thread). It is placed
// just below the thread's stack when that address range is free, so that AddressSanitizer, which
// unpoisons the stack between a longjmp's start and the thread's stack top, sees a short range.
#pragma once
#include <cstdint>

namespace btvm {

// How far below RSP each CALL probes: the stack left for helpers (and a signal frame).
constexpr uint64_t kCallStackHeadroom = uint64_t(512) << 10;
// Room for pending CALLs above the headroom: 65536 of them before the stack is reset.
constexpr uint64_t kCallStackDepth = uint64_t(1) << 20;
constexpr uint64_t kCallStackGuard = uint64_t(64) << 10;

// The RSP translated code starts with: 16-byte aligned (so the thunk's C++ calls are aligned).
// `enter` stores the sentinel stub's address at [base]; [base + 8] stays 0, a generation no
// entry has.
uint64_t callStackBase();
// The RSP translated code resumes at (CpuState::call_rsp, kept across exits to the dispatcher)
// for `cpu`: its own saved value when it is the last CpuState that ran here and that value is
// one the epilogue wrote (`left_by_epilogue`: the run before did not end in a helper's longjmp,
// which leaves no record of the depth), else callStackBase() (nothing pending).
uint64_t callStackResume(const void* cpu, uint64_t saved, bool left_by_epilogue);
// The next entry starts with an empty stack (the flow generations wrapped round: an old
// pending CALL's generation could come round again).
void dropPendingCalls();
// Is `addr` (a faulting data address) in the guard below the region?
bool inCallStackGuard(uint64_t addr);
// Is `pc` a CALL's probe (`mov r11, [rsp - kCallStackHeadroom]`)?
bool isCallStackProbe(const uint8_t* pc);
// How often a probe hit the guard and the stack was reset (--stats).
uint64_t callStackResets();
void noteCallStackReset();

}  // namespace btvm
