#include "emu/cpu/tss.h"

#include "emu/cpu/descriptors.h"
#include "emu/cpu/guest_access.h"
#include "mmu/segments.h"

namespace btvm {

InnerStack innerStack(Machine::Impl& vm, uint8_t cpl, uint32_t ext) {
  CpuState& c = vm.cpu;
  bool tss32 = isTss32Type(attr::type(c.tr.attr));
  // SDM vol. 2, CALL: the last byte of the slot (ESP and SS) must be inside the TSS limit.
  uint32_t slot = tss32 ? 4 + 8u * cpl : 2 + 4u * cpl;
  uint32_t last = slot + (tss32 ? 5 : 3);
  if (!c.tr.valid || last > c.tr.limit) raiseException(vm, kVecTS, (c.tr.selector & 0xfffc) | ext, true);
  uint32_t esp = readLinear(vm, c.tr.base + slot, tss32 ? 4 : 2, false);
  uint16_t ss_sel = uint16_t(readLinear(vm, c.tr.base + slot + (tss32 ? 4 : 2), 2, false));
  uint32_t err = (ss_sel & 0xfffc) | ext;
  if ((ss_sel & 0xfffc) == 0) raiseException(vm, kVecTS, err, true);
  const TableReg t = (ss_sel & 4) ? TableReg{c.ldtr.base, c.ldtr.valid ? c.ldtr.limit : 0} : c.gdtr;
  if ((ss_sel & 4 && !c.ldtr.valid) || (ss_sel & ~7u) + 7 > t.limit) raiseException(vm, kVecTS, err, true);
  uint32_t lo, hi;
  uint32_t addr = readDescriptor(vm, ss_sel, &lo, &hi, kVecTS);
  Segment ss = descriptorToSegment(ss_sel, lo, hi);
  SegFault f = checkStackSegmentLoad(ss_sel, ss, cpl);
  if (!f.ok()) raiseException(vm, f.vector == kVecGP ? kVecTS : f.vector, err, true);
  setAccessed(vm, addr, hi);
  ss.attr |= attr::kAccessed;
  return InnerStack{ss, esp};
}

void checkIoPermission(Machine::Impl& vm, uint16_t port, unsigned size) {
  const CpuState& c = vm.cpu;
  uint32_t iopl = (c.eflags >> 12) & 3;
  if (c.cpl <= iopl && !(c.eflags & flag::VM)) return;
  // The bitmap exists only in a 32-bit TSS; its base is the word at offset 0x66. Two bytes are
  // read (an access may straddle a byte), and both must be inside the TSS limit.
  if (!c.tr.valid || !isTss32Type(attr::type(c.tr.attr)) || c.tr.limit < 0x67) raiseException(vm, kVecGP, 0, true);
  uint32_t map = readLinear(vm, c.tr.base + 0x66, 2, false);
  uint32_t at = map + port / 8;
  if (at + 1 > c.tr.limit) raiseException(vm, kVecGP, 0, true);
  uint32_t bits = readLinear(vm, c.tr.base + at, 2, false);
  uint32_t mask = ((1u << size) - 1) << (port & 7);
  if (bits & mask) raiseException(vm, kVecGP, 0, true);
}

}  // namespace btvm
