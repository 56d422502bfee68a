// The virtual-mode extensions (SDM vol. 3 20.3 and 20.4; CPUID.1:EDX.VME): with CR4.VME, 8086
// programs running at IOPL < 3 keep a virtual interrupt flag (EFLAGS.VIF, with VIP for "an
// interrupt is pending") that CLI, STI, 16-bit PUSHF/POPF and IRET read and write in place of
// IF, and INT n may go straight to the program's own IVT as the TSS's interrupt redirection
// bitmap says; with CR4.PVI, CLI and STI at CPL 3 in protected mode do the same with VIF. Each
// function is called by an instruction's helper where hardware without them raises #GP(0).
// Not modelled: the #GP at an instruction boundary where VIF and VIP are both 1 (it follows only
// a POPF/IRET at CPL 0 or a task switch, which would have to set both).
#pragma once
#include <cstdint>

#include "emu/vm.h"

namespace btvm {

namespace flag {
constexpr uint32_t VIF = 1u << 19, VIP = 1u << 20;
}
namespace cr4 {
constexpr uint32_t kVme = 1u << 0, kPvi = 1u << 1;
}

// CLI/STI at CPL > IOPL: VIF changes if CR4.VME (v8086 mode) or CR4.PVI (protected mode at
// CPL 3) allows it, and STI raises #GP(0) while VIP is set; otherwise #GP(0).
void virtualCli(Machine::Impl& vm);
void virtualSti(Machine::Impl& vm);

// PUSHF, POPF and IRET in v8086 mode. false: not in v8086 mode or IOPL 3, run the instruction
// as usual. Below IOPL 3 with CR4.VME and a 16-bit operand size they run here against VIF
// (PUSHF shows IOPL 3 and IF = VIF; POPF and IRET put the popped IF in VIF, and raise #GP(0),
// popping nothing, when it is 1 while VIP is, or when TF is 1) and return true; otherwise #GP(0).
bool v86Pushf(Machine::Impl& vm, unsigned size);
bool v86Popf(Machine::Impl& vm, unsigned size);
bool v86Iret(Machine::Impl& vm, unsigned size);

// INT n in v8086 mode (SDM table 20-2). false: deliver through the IDT (IOPL 3, and with
// CR4.VME only if the vector's redirection bit is set). Redirected (CR4.VME, bit clear): FLAGS,
// CS, IP pushed on the program's stack, CS:IP from the IVT at linear 0, TF cleared and VIF (IOPL
// < 3) or IF (IOPL 3) cleared, and true. Otherwise #GP(0).
bool v86SoftwareInterrupt(Machine::Impl& vm, uint8_t vector, uint32_t next_eip);

}  // namespace btvm
