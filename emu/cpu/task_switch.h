// Hardware task switching (SDM vol. 3 ch. 7): JMP/CALL to a TSS descriptor or a task gate,
// interrupts and exceptions through a task gate in the IDT, IRET with EFLAGS.NT.
#pragma once
#include <cstdint>

#include "emu/vm.h"

namespace btvm {

enum class TaskSwitchReason { Jmp, Call, Iret, Interrupt };

// What caused the switch, for the parts of the switch that depend on it.
struct TaskSwitchCause {
  TaskSwitchReason reason;
  uint32_t return_eip;    // EIP saved in the outgoing TSS
  uint32_t ext = 0;       // EXT bit of error codes: 1 for exceptions and external interrupts
  bool has_error = false; // an exception with an error code: pushed on the new task's stack
  uint32_t error = 0;
};

// Switches to the task of the TSS descriptor `sel` (a GDT selector), whose descriptor words
// the caller read (`lo`, `hi`) and checked as the instruction requires (type, privilege,
// present). Runs SDM 7.3 steps 3-13: TSS limit, saving the outgoing state, busy bits, NT and
// the back-link, then TR, CR0.TS, CR3 (through the MMU's CR3 path), LDTR, EFLAGS, EIP, the
// general registers and the segment registers. Faults before the commit leave the old task
// unchanged; faults while loading the new task's segments are raised in the new task (SDM
// table 7-1). Ends with CpuState::eip at the new task's EIP.
void switchTask(Machine::Impl& vm, uint16_t sel, uint32_t lo, uint32_t hi, const TaskSwitchCause& why);

// The TSS named by a task gate (GDT or LDT gate for JMP/CALL, IDT gate for events), checked
// as the SDM's JMP/CALL/INT pseudo-code does: the selector must be a GDT selector of an
// available TSS (#GP(TSS selector + EXT) otherwise; #NP if not present). Then switches.
void switchThroughTaskGate(Machine::Impl& vm, uint32_t gate_lo, const TaskSwitchCause& why);

// IRET with EFLAGS.NT: back to the task in the current TSS's back-link, which must be a busy
// TSS in the GDT (#TS(link) otherwise, #NP if not present).
void returnFromNestedTask(Machine::Impl& vm, uint32_t return_eip);

}  // namespace btvm
