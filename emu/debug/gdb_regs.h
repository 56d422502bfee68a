// The guest's registers as gdb numbers them for i386 (the order of target_xml(): the
// org.gnu.gdb.i386.core feature, then btvm's control registers), read from and written to the
// CpuState. No org.gnu.gdb.i386.sse feature: a P6 without SSE has none, and gdb's i386 support
// accepts a core feature alone (it then assumes x87 only).
#pragma once
#include <cstdint>
#include <string>

#include "emu/cpu/cpu_state.h"

namespace btvm::gdb {

constexpr int kNumRegs = 36;  // eax..gs (16), st0..st7 (8), fctrl..fop (8), cr0, cr2, cr3, cr4

// Size in bytes of register n (0 for a number gdb should not ask for).
unsigned regSize(int n);
// Little-endian bytes of register n into `out` (regSize(n) bytes).
void readReg(const CpuState& c, int n, uint8_t* out);
// Writes register n from regSize(n) bytes. Returns false when btvm cannot set it that way:
// a segment selector other than the current one (that would need a descriptor load) or a
// control register (a MOV to CRn has effects on the MMU that a debugger write would bypass).
bool writeReg(CpuState& c, int n, const uint8_t* in);

// The target description gdb reads with qXfer:features:read:target.xml.
const std::string& targetXml();

}  // namespace btvm::gdb
