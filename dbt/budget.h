// The instruction budget's guard region. Translated code charges each block's instructions to the
// budget on entry and must leave before running a block the budget cannot pay for. A test and
// branch there would need the host flags, which hold the guest's, or RCX (guest ECX) for JRCXZ,
// saved and restored around it: six instructions at every block entry, a third of the run time of
// tight guest loops. Instead the budget register holds an *address*: base + budget, inside a
// read-only region of kMaxBudget bytes with an inaccessible guard below it. A block entry is
//     lea r14, [r14 - n] ; movzx r11d, byte [r14]
// and the load faults exactly when the budget went negative. The fault handler (host_fault.h)
// resumes at the block's exit path, which gives the n instructions back and leaves. A budget
// exit then costs a host signal (microseconds) instead of a branch, so the dispatcher keeps those
// rare: it stops translated code only for device events, interrupts and long slices.
#pragma once
#include <cstdint>

namespace btvm {

// The largest budget translated code can hold (the dispatcher's slice is at most this).
constexpr int64_t kMaxBudget = int64_t(1) << 24;
// The guard below the region: covers the longest block (DbtConfig::max_block_insns).
constexpr int64_t kBudgetGuard = int64_t(1) << 20;

// Host address of budget 0, the start of the readable region (mapped once per process; the
// pages are the shared zero page, populated at once).
uint64_t budgetBase();

// Is `addr` (a faulting data address) in the guard below the region?
bool inBudgetGuard(uint64_t addr);

}  // namespace btvm
