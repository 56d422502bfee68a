// Descriptor-table access and segment-register loads with the checks and faults of protected
// mode, shared by MOV/POP sreg, LxS, far transfers, IRET and interrupt delivery.
#pragma once
#include <cstdint>

#include "emu/vm.h"

namespace btvm {

// Reads the 8-byte descriptor for `sel` from the GDT or LDT. Raises #GP(sel) (or `vector`) if
// the selector is outside the table's limit. Sets *lo/*hi and returns the descriptor's linear
// address (for setting the accessed bit).
uint32_t readDescriptor(Machine::Impl& vm, uint16_t sel, uint32_t* lo, uint32_t* hi, uint8_t vector = 13);

// Sets the accessed bit of the descriptor at `addr` (as every segment-register load does).
void setAccessed(Machine::Impl& vm, uint32_t addr, uint32_t hi);

// MOV/POP/LxS into ES, SS, DS, FS or GS, with every check of the SDM; null selectors allowed
// for data segments (an access through them faults later), not for SS. In real and v8086 mode:
// base = selector << 4, no descriptor (loadRealStyleSegment).
void loadSegment(Machine::Impl& vm, int seg, uint16_t sel);

// Loads CS for a far transfer after the caller checked the descriptor; CPL becomes `cpl`.
void setCs(Machine::Impl& vm, uint16_t sel, const Segment& desc, uint8_t cpl);
// A segment load in real mode (base = selector << 4, cached limit kept) or v8086 mode (base =
// selector << 4, limit 0xffff: emu/cpu/v86.h).
void loadRealStyleSegment(CpuState& c, int seg, uint16_t sel);
// Far transfers in real and v8086 mode: CS as any segment load of the mode, then EIP; #GP(0) if
// EIP is beyond the CS limit, with CS left unchanged.
void realModeJump(Machine::Impl& vm, uint16_t sel, uint32_t eip);

// A flat 32-bit segment as the loader sets it up (base 0, limit 4 GiB).
Segment flatSegment(uint16_t sel, bool code, uint8_t dpl);


}  // namespace btvm
