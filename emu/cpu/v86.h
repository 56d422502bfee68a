// Virtual-8086 mode (SDM vol. 3 ch. 20.2-20.3): 8086 code at CPL 3 inside protected mode, with
// paging, entered by IRET at CPL 0 with VM=1 in the popped EFLAGS and left by any interrupt or
// exception, which goes to a ring-0 handler through the IDT. The rest of the VMM asks these
// functions at the points where v8086 mode differs from protected mode; everything else
// (16-bit code, segment arithmetic, user-mode paging) is the real-mode and CPL-3 machinery.
// CR4.VME and CR4.PVI are in emu/cpu/vme.h. Port I/O from v8086 mode always asks the TSS I/O
// permission bitmap (emu/cpu/tss.h, checkIoPermission).
#pragma once
#include <cstdint>

#include "emu/vm.h"

namespace btvm {

// A segment register loaded in v8086 mode: base = selector << 4, limit 0xffff, a present
// writable 16-bit data segment of DPL 3 (CS too, as QEMU has it: 8086 programs write through
// CS overrides; Bochs makes CS execute/read).
Segment v86Segment(uint16_t selector);

// IRET at CPL 0 whose popped EFLAGS has VM=1 (32-bit operand size): pops EIP, CS, EFLAGS, ESP,
// SS, ES, DS, FS, GS, loads every segment register v8086-style and sets CPL 3; EIP keeps its
// low 16 bits. `eip`, `cs`, `eflags` are the first three slots, already read by the caller.
void iretToV86(Machine::Impl& vm, uint32_t eip, uint16_t cs, uint32_t eflags);

// The IOPL-sensitive instructions of v8086 mode (CLI, STI, PUSHF, POPF, INT n, IRET) raise
// #GP(0) below IOPL 3 (unless CR4.VME virtualizes them: vme.h). No-op outside v8086 mode.
void requireV86Iopl3(Machine::Impl& vm);

// Interrupt delivery from v8086 mode (SDM vol. 3 20.3.1.1, INT n: INTERRUPT-FROM-VIRTUAL-8086-
// MODE). The handler's code segment must be nonconforming with DPL 0, else #GP(`sel_err`).
void checkV86Handler(Machine::Impl& vm, const Segment& handler_cs, uint32_t sel_err);
// The slots pushed on the ring-0 stack before SS and ESP: GS, FS, DS, ES. Returns 4.
int v86SegmentSlots(const CpuState& c, uint32_t* frame);
// After the frame is written: DS, ES, FS, GS become null (unusable) selectors.
void nullDataSegments(CpuState& c);

// --mode trap: how a VMM that runs guest v8086 code in hardware v8086 mode (IOPL 0) meets a
// sensitive instruction. SGDT, SIDT and SMSW run there unhindered and show the VMM's own
// tables and CR0 (missed); every other one traps (#GP/#UD in v8086 mode) or needs no VMM.
bool v86RunsUntrapped(HelperId h);

}  // namespace btvm
