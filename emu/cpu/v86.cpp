// Virtual-8086 mode: see v86.h.
#include "emu/cpu/v86.h"

#include "emu/cpu/guest_access.h"
#include "emu/cpu/vme.h"
#include "mmu/segments.h"

namespace btvm {

Segment v86Segment(uint16_t selector) {
  uint32_t attrs = attr::kP | attr::kS | attr::kRW | attr::kAccessed | (3u << 5);
  return Segment{selector, uint32_t(selector) << 4, 0xffff, attrs, true};
}

void iretToV86(Machine::Impl& vm, uint32_t eip, uint16_t cs, uint32_t eflags) {
  CpuState& c = vm.cpu;
  // The SDM's pseudo-code checks EIP against "the CS limit" first; QEMU and Bochs take the low
  // 16 bits instead, and Bochs notes that real processors raised no #GP in its authors' tests.
  // Done as they do: the v8086 CS limit is 0xffff either way.
  uint32_t slot[6];  // ESP, SS, ES, DS, FS, GS: selectors are popped as dwords, high words dropped
  for (int k = 0; k < 6; ++k) slot[k] = readSeg(vm, SS, stackOffset(c, 12 + 4 * k), 4);
  // EFLAGS is loaded whole: VM, IOPL, IF, VIF and VIP included (emu/cpu/vme.h).
  uint32_t defined = flag::kArith | flag::TF | flag::IF | flag::DF | flag::IOPL | flag::NT |
                     flag::RF | flag::VM | flag::AC | flag::VIF | flag::VIP | flag::ID;
  c.eflags = (eflags & defined) | flag::kFixed1;
  c.eflags &= ~flag::RF;  // no instruction breakpoints yet, as for every other IRET
  c.regs[ESP] = slot[0];
  const int order[5] = {SS, ES, DS, FS, GS};
  for (int k = 0; k < 5; ++k) c.seg[order[k]] = v86Segment(uint16_t(slot[k + 1]));
  c.seg[CS] = v86Segment(cs);
  c.cpl = 3;
  c.eip = eip & 0xffff;
}

void requireV86Iopl3(Machine::Impl& vm) {
  const CpuState& c = vm.cpu;
  if (inV86Mode(c) && (c.eflags & flag::IOPL) != flag::IOPL) raiseException(vm, kVecGP, 0, true);
}

void checkV86Handler(Machine::Impl& vm, const Segment& handler_cs, uint32_t sel_err) {
  bool conforming = handler_cs.attr & attr::kDC;
  if (conforming || attr::dpl(handler_cs.attr) != 0) raiseException(vm, kVecGP, sel_err, true);
}

int v86SegmentSlots(const CpuState& c, uint32_t* frame) {
  frame[0] = c.seg[GS].selector;
  frame[1] = c.seg[FS].selector;
  frame[2] = c.seg[DS].selector;
  frame[3] = c.seg[ES].selector;
  return 4;
}

void nullDataSegments(CpuState& c) {
  for (int s : {ES, DS, FS, GS}) c.seg[s] = Segment{0, 0, 0, 0, false};
}

bool v86RunsUntrapped(HelperId h) { return h == HelperId::Sgdt || h == HelperId::Sidt || h == HelperId::Smsw; }

}  // namespace btvm
