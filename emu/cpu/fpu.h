// The x87 FPU of a P6 (Pentium II): every D8..DF instruction and WAIT is one VMM helper (HelperId
// Fpu) that runs the instruction on the host's x87 through a stub (fpu_stubs.h) on a copy of the
// guest state, with guest memory operands read and written in C++ (real faults, FPU state left
// unchanged by a faulting store). The guest state is CpuState::fpu, an FNSAVE image.
#pragma once
#include <cstdint>

#include "emu/cpu/cpu_state.h"

namespace btvm::fpu {

// Byte offsets in the 108-byte image (FNSAVE, 32-bit protected mode).
enum : unsigned { kFcw = 0, kFsw = 4, kFtw = 8, kFip = 12, kFcs = 16, kFop = 18, kFdp = 20, kFds = 24, kRegs = 28 };

// What one escape opcode (0xD8..0xDF) with one ModRM byte does on a P6.
enum class Special : uint8_t { None, Nop, FnstswAx, Fldenv, Fnstenv, Frstor, Fnsave };
struct Op {
  bool valid;     // false: #UD (reserved, or newer than the P6, like FISTTP)
  bool waiting;   // checks for a pending unmasked exception first (all but the FN* forms)
  bool control;   // leaves FIP/FCS/FOP/FDP/FDS alone (FLDCW, FNSTSW, FNINIT...)
  bool eflags;    // writes ZF, PF, CF (FCOMI, FUCOMI and their popping forms)
  uint8_t load;   // bytes of memory read before the stub runs
  uint8_t store;  // bytes of memory the stub writes
  Special special;
};
Op decode(uint8_t opcode, uint8_t modrm);

// The state a guest starts in. btvm starts guests as a boot loader leaves them (protected mode,
// flat segments), not at RESET (SDM vol. 3 table 9-1: FCW 0x0040, every exception unmasked,
// 24-bit precision, all tags "zero"): so the FPU is as a PC BIOS leaves it, which runs FNINIT
// when it probes for the coprocessor. QEMU starts there too. Registers +0.
void resetState(CpuState& c);
// The state after RESET (SDM vol. 3 table 9-1), for a machine started at the reset vector (-bios).
void powerOnState(CpuState& c);

// A run of native x87 instructions (dbt/emit_x87.cpp) was left half-way by a longjmp to the
// dispatcher (a fault on one of its memory operands): the guest's state is in the host's x87.
// Stores it into CpuState::fpu with the guest's pointers; nothing if no run is live.
void saveLive(CpuState& c);

}  // namespace btvm::fpu
