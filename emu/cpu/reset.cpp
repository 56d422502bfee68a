#include "emu/cpu/reset.h"

#include "emu/cpu/fpu.h"
#include "mmu/segments.h"

namespace btvm {

namespace {
// Present, accessed; read/write data, or readable code for CS (as QEMU, where the SDM's table
// just says "R/W"); 16-bit (D/B = 0); byte granular.
constexpr uint32_t kDataAttr = attr::kP | attr::kS | attr::kRW | attr::kAccessed;
constexpr uint32_t kCodeAttr = kDataAttr | attr::kCode;
constexpr uint32_t kLdtAttr = attr::kP | 0x2;   // LDT
constexpr uint32_t kTssAttr = attr::kP | 0xb;   // busy 32-bit TSS, as QEMU
}  // namespace

void resetCpu(CpuState& c, uint32_t signature) {
  for (uint32_t& r : c.regs) r = 0;
  c.regs[EDX] = signature;
  c.eip = 0xfff0;
  c.eflags = flag::kFixed1;
  for (Segment& s : c.seg) s = Segment{0, 0, 0xffff, kDataAttr, true};
  c.seg[CS] = Segment{0xf000, 0xffff0000u, 0xffff, kCodeAttr, true};
  c.ldtr = Segment{0, 0, 0xffff, kLdtAttr, true};
  c.tr = Segment{0, 0, 0xffff, kTssAttr, true};
  c.gdtr = TableReg{0, 0xffff};
  c.idtr = TableReg{0, 0xffff};
  c.cr0 = 0x60000010;
  c.cr2 = c.cr3 = c.cr4 = 0;
  for (uint64_t& e : c.pdpte) e = 0;
  for (uint32_t& d : c.dr) d = 0;
  c.dr[6] = 0xffff0ff0;
  c.dr[7] = 0x400;
  c.cpl = 0;
  c.halted = false;
  fpu::powerOnState(c);
}

}  // namespace btvm
