#include "emu/cpu/descriptors.h"

#include "emu/cpu/guest_access.h"
#include "emu/cpu/v86.h"
#include "mmu/segments.h"

namespace btvm {

uint32_t readDescriptor(Machine::Impl& vm, uint16_t sel, uint32_t* lo, uint32_t* hi, uint8_t vector) {
  CpuState& c = vm.cpu;
  uint32_t index = sel & ~7u;
  uint32_t base, limit;
  if (sel & 4) {
    if (!c.ldtr.valid) raiseException(vm, vector, sel & 0xfffc, true);
    base = c.ldtr.base;
    limit = c.ldtr.limit;
  } else {
    base = c.gdtr.base;
    limit = c.gdtr.limit;
  }
  if (index + 7 > limit) raiseException(vm, vector, sel & 0xfffc, true);
  *lo = readLinear(vm, base + index, 4, false);
  *hi = readLinear(vm, base + index + 4, 4, false);
  return base + index;
}

void setAccessed(Machine::Impl& vm, uint32_t addr, uint32_t hi) {
  if (!(hi & 0x100)) writeLinear(vm, addr + 4, 4, hi | 0x100, false);
}

void loadSegment(Machine::Impl& vm, int seg, uint16_t sel) {
  CpuState& c = vm.cpu;
  if (realStyleSegments(c)) {
    loadRealStyleSegment(c, seg, sel);
    return;
  }
  if ((sel & 0xfffc) == 0) {
    if (seg == SS) raiseException(vm, kVecGP, 0, true);
    c.seg[seg] = Segment{sel, 0, 0, 0, false};
    return;
  }
  uint32_t lo, hi;
  uint32_t addr = readDescriptor(vm, sel, &lo, &hi);
  Segment d = descriptorToSegment(sel, lo, hi);
  SegFault f = seg == SS ? checkStackSegmentLoad(sel, d, c.cpl) : checkDataSegmentLoad(sel, d, c.cpl);
  if (!f.ok()) raiseException(vm, f.vector, f.error, true);
  setAccessed(vm, addr, hi);
  d.attr |= attr::kAccessed;
  c.seg[seg] = d;
}

void setCs(Machine::Impl& vm, uint16_t sel, const Segment& desc, uint8_t cpl) {
  Segment s = desc;
  s.selector = uint16_t((sel & ~3u) | cpl);
  s.attr |= attr::kAccessed;
  vm.cpu.seg[CS] = s;
  vm.cpu.cpl = cpl;
}

void loadRealStyleSegment(CpuState& c, int seg, uint16_t sel) {
  if (inV86Mode(c)) c.seg[seg] = v86Segment(sel);
  else loadRealModeSegment(c.seg[seg], sel);
}

void realModeJump(Machine::Impl& vm, uint16_t sel, uint32_t eip) {
  CpuState& c = vm.cpu;
  if (eip > c.seg[CS].limit) raiseException(vm, kVecGP, 0, true);
  loadRealStyleSegment(c, CS, sel);
  c.eip = eip;
}

Segment flatSegment(uint16_t sel, bool code, uint8_t dpl) {
  uint32_t attrs = attr::kS | attr::kP | attr::kDB | attr::kG | attr::kRW | attr::kAccessed | (uint32_t(dpl) << 5);
  if (code) attrs |= attr::kCode;
  return Segment{sel, 0, 0xffffffffu, attrs, true};
}

}  // namespace btvm
