// What the VMM keeps of the guest's debug facilities besides DR0-DR7 (CpuState::dr): the
// breakpoints DR7 enables, decoded once per MOV DR, and the debug trap of the instruction that
// is running (emu/cpu/debug_regs.h acts on them).
#pragma once
#include <cstdint>

#include "emu/debug/watch_range.h"

namespace btvm {

struct GuestDebugState {
  // Enabled breakpoints by kind, from DR0-DR3, DR7 and CR4.DE (bit n: DRn).
  uint8_t exec_mask = 0;  // R/W = 00: instruction breakpoints at exec_addr[n]
  uint8_t data_mask = 0;  // R/W = 01 (writes) or 11 (reads and writes): data[n]
  uint8_t io_mask = 0;    // R/W = 10 with CR4.DE: I/O ports data[n].addr ..+len
  uint32_t exec_addr[4] = {};
  WatchRange data[4];

  // DR6 bits (B0-B3, BS) of debug traps raised by the instruction running now, delivered as one
  // #DB after it completes (dropped if it faults).
  uint32_t pending = 0;
  // RF was set when the instruction at rf_eip started: a re-run of that instruction alone
  // (kJumpRetrySingle) starts with it again, so its breakpoint stays suppressed.
  bool rf_taken = false;
  uint32_t rf_eip = 0;
  // TF was set when the running instruction started: it completes with a single-step trap.
  bool step_armed = false;
  // MOV SS / POP SS: debug traps and instruction breakpoints wait one more instruction, the one
  // at shadow_eip (SDM vol. 3 6.8.3).
  bool shadow = false;
  uint32_t shadow_eip = 0;
};

}  // namespace btvm
