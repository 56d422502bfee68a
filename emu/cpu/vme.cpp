// The virtual-mode extensions: see vme.h.
#include "emu/cpu/vme.h"

#include "emu/cpu/descriptors.h"
#include "emu/cpu/guest_access.h"
#include "emu/cpu/v86.h"
#include "mmu/segments.h"

namespace btvm {

namespace {

uint32_t iopl(const CpuState& c) { return (c.eflags >> 12) & 3; }

// v8086 mode below IOPL 3 with CR4.VME: the instructions work on VIF.
bool vmeApplies(const CpuState& c) { return inV86Mode(c) && iopl(c) < 3 && (c.cr4 & cr4::kVme); }

// CLI/STI at CPL > IOPL may use VIF: v8086 mode with VME, or CPL 3 in protected mode with PVI.
void requireVirtualIf(Machine::Impl& vm) {
  const CpuState& c = vm.cpu;
  bool ok = inV86Mode(c) ? (c.cr4 & cr4::kVme) != 0 : (!inRealMode(c) && c.cpl == 3 && (c.cr4 & cr4::kPvi));
  if (!ok) raiseException(vm, kVecGP, 0, true);
}

// FLAGS as a VME program sees them: IF is VIF, IOPL reads 3.
uint32_t virtualFlags(const CpuState& c) {
  uint32_t f = (eflagsOf(c) & 0xffff & ~flag::IF) | flag::IOPL;
  return (c.eflags & flag::VIF) ? f | flag::IF : f;
}

// POPF/IRET under VME: a popped FLAGS image with IF = 1 while VIP = 1, or with TF = 1, is #GP(0)
// (the monitor delivers the pending interrupt, or single-steps itself). Else everything but IF
// and IOPL comes from the image and IF goes to VIF.
void loadVirtualFlags(Machine::Impl& vm, uint32_t image) {
  CpuState& c = vm.cpu;
  if (((image & flag::IF) && (c.eflags & flag::VIP)) || (image & flag::TF)) raiseException(vm, kVecGP, 0, true);
  uint32_t kept = flag::IF | flag::IOPL;
  c.eflags = (c.eflags & ~(0xffffu & ~kept)) | (image & 0xffff & ~kept);
  c.eflags = (image & flag::IF) ? c.eflags | flag::VIF : c.eflags & ~flag::VIF;
}

// Bit `vector` of the interrupt redirection bitmap: the 32 bytes below the I/O map base of the
// 32-bit TSS. A bitmap beyond the TSS limit raises #GP(0), as for the I/O bitmap.
bool redirectionBit(Machine::Impl& vm, uint8_t vector) {
  const CpuState& c = vm.cpu;
  if (!c.tr.valid || c.tr.limit < 0x67) raiseException(vm, kVecGP, 0, true);
  uint32_t io_base = readLinear(vm, c.tr.base + 0x66, 2, false);
  uint32_t off = io_base - 32 + vector / 8;  // wraps for a map base below 32: beyond the limit
  if (io_base < 32 || off > c.tr.limit) raiseException(vm, kVecGP, 0, true);
  return (readLinear(vm, c.tr.base + off, 1, false) >> (vector % 8)) & 1;
}

}  // namespace

void virtualCli(Machine::Impl& vm) {
  requireVirtualIf(vm);
  vm.cpu.eflags &= ~flag::VIF;
}

void virtualSti(Machine::Impl& vm) {
  requireVirtualIf(vm);
  if (vm.cpu.eflags & flag::VIP) raiseException(vm, kVecGP, 0, true);
  vm.cpu.eflags |= flag::VIF;
}

bool v86Pushf(Machine::Impl& vm, unsigned size) {
  CpuState& c = vm.cpu;
  if (!inV86Mode(c) || iopl(c) == 3) return false;
  if (!vmeApplies(c) || size != 2) raiseException(vm, kVecGP, 0, true);
  push(vm, 2, virtualFlags(c));
  return true;
}

bool v86Popf(Machine::Impl& vm, unsigned size) {
  CpuState& c = vm.cpu;
  if (!inV86Mode(c) || iopl(c) == 3) return false;
  if (!vmeApplies(c) || size != 2) raiseException(vm, kVecGP, 0, true);
  uint32_t image = readSeg(vm, SS, stackOffset(c, 0), 2);
  loadVirtualFlags(vm, image);
  addToStackPointer(c, 2);
  return true;
}

bool v86Iret(Machine::Impl& vm, unsigned size) {
  CpuState& c = vm.cpu;
  if (!inV86Mode(c) || iopl(c) == 3) return false;
  if (!vmeApplies(c) || size != 2) raiseException(vm, kVecGP, 0, true);
  uint32_t ip = readSeg(vm, SS, stackOffset(c, 0), 2);
  uint16_t cs = uint16_t(readSeg(vm, SS, stackOffset(c, 2), 2));
  uint32_t image = readSeg(vm, SS, stackOffset(c, 4), 2);
  loadVirtualFlags(vm, image);
  realModeJump(vm, cs, ip);
  addToStackPointer(c, 6);
  c.eflags &= ~flag::RF;
  return true;
}

bool v86SoftwareInterrupt(Machine::Impl& vm, uint8_t vector, uint32_t next_eip) {
  CpuState& c = vm.cpu;
  if (!inV86Mode(c)) return false;
  bool redirect = (c.cr4 & cr4::kVme) && !redirectionBit(vm, vector);
  if (!redirect) {
    requireV86Iopl3(vm);  // methods 2 and 3: #GP(0) for the monitor; 1 and 4: the IDT
    return false;
  }
  // Methods 5 and 6: what an 8086 does, on the program's stack and IVT (linear 0, read as the
  // processor reads its tables). The frame is written before anything changes.
  uint32_t vec = readLinear(vm, uint32_t(vector) * 4, 4, false);
  bool virtual_if = iopl(c) < 3;
  uint32_t frame[3] = {virtual_if ? virtualFlags(c) : eflagsOf(c) & 0xffff, c.seg[CS].selector, next_eip & 0xffff};
  for (int k = 0; k < 3; ++k) writeSeg(vm, SS, stackOffset(c, -2 * (k + 1)), 2, frame[k]);
  addToStackPointer(c, -6);
  c.seg[CS] = v86Segment(uint16_t(vec >> 16));
  c.eip = vec & 0xffff;
  c.eflags &= ~(flag::TF | flag::RF | (virtual_if ? flag::VIF : flag::IF));
  return true;
}

}  // namespace btvm
