// Call gates (SDM vol. 3 5.8.3-5.8.6 and the CALL/JMP pseudo-code of vol. 2): the gate's DPL
// against CPL and RPL, the target code segment's checks, a stack switch from the TSS with the
// gate's parameter count of words or dwords copied when a CALL goes to a more privileged
// non-conforming segment. Task gates and TSS descriptors go on to the task switch.
#include "emu/cpu/call_gate.h"

#include "emu/cpu/descriptors.h"
#include "emu/cpu/guest_access.h"
#include "emu/cpu/task_switch.h"
#include "emu/cpu/tss.h"
#include "mmu/segments.h"

namespace btvm {

namespace {

struct Gate {
  uint16_t selector;  // target code segment
  uint32_t offset;    // 16 bits for a 16-bit gate
  unsigned size;      // 2 or 4: what the gate pushes
  unsigned params;    // parameter count (5 bits)
};

Gate decodeCallGate(uint32_t lo, uint32_t hi) {
  bool gate32 = ((hi >> 8) & 0xf) == 0xc;
  uint32_t off = (lo & 0xffff) | (gate32 ? (hi & 0xffff0000u) : 0);
  return Gate{uint16_t(lo >> 16), off, gate32 ? 4u : 2u, hi & 0x1f};
}

// The gate's target: a present code segment whose DPL is not above CPL (a JMP also needs
// DPL = CPL for a non-conforming one). Errors name the code segment's selector.
Segment gateTarget(Machine::Impl& vm, const Gate& g, bool call, uint32_t* addr, uint32_t* hi_out) {
  CpuState& c = vm.cpu;
  uint16_t sel = g.selector;
  if ((sel & 0xfffc) == 0) raiseException(vm, kVecGP, 0, true);
  uint32_t lo, hi;
  *addr = readDescriptor(vm, sel, &lo, &hi);
  *hi_out = hi;
  Segment d = descriptorToSegment(sel, lo, hi);
  uint32_t dpl = attr::dpl(d.attr);
  bool conforming = d.attr & attr::kDC;
  if (!(d.attr & attr::kS) || !(d.attr & attr::kCode) || dpl > c.cpl) raiseException(vm, kVecGP, sel & 0xfffc, true);
  if (!call && !conforming && dpl != c.cpl) raiseException(vm, kVecGP, sel & 0xfffc, true);
  if (!(d.attr & attr::kP)) raiseException(vm, kVecNP, sel & 0xfffc, true);
  return d;
}

// CALL to a more privileged non-conforming segment: the new stack from the TSS gets the old
// SS:ESP, the parameters (copied from the old stack so that they keep their order) and the
// return CS:EIP, all of the gate's size. Everything is read and checked before any register
// changes.
void callToInnerLevel(Machine::Impl& vm, const Gate& g, const Segment& cs, uint32_t next_eip) {
  CpuState& c = vm.cpu;
  uint8_t new_cpl = uint8_t(attr::dpl(cs.attr));
  InnerStack in = innerStack(vm, new_cpl, 0);
  unsigned s = g.size;
  uint32_t need = (g.params + 4) * s;
  uint32_t m = stackMask(in.ss);
  uint32_t top = (in.esp - need) & m;
  if (!segmentAccessOk(in.ss, top, need, true)) raiseException(vm, kVecSS, in.ss.selector & 0xfffc, true);
  if (g.offset > cs.limit) raiseException(vm, kVecGP, 0, true);
  // The frame, from the highest address down: SS, ESP, parameters, CS, EIP.
  uint32_t frame[36];
  unsigned n = 0;
  frame[n++] = c.seg[SS].selector;
  frame[n++] = c.regs[ESP];
  for (unsigned k = g.params; k-- > 0;) frame[n++] = readSeg(vm, SS, stackOffset(c, int32_t(k * s)), s);
  frame[n++] = c.seg[CS].selector;
  frame[n++] = next_eip;
  for (unsigned k = 0; k < n; ++k)
    writeLinear(vm, in.ss.base + ((in.esp - s * (k + 1)) & m), s, frame[k], new_cpl == 3);
  c.seg[SS] = in.ss;
  c.regs[ESP] = (in.esp & ~m) | ((in.esp - need) & m);
  setCs(vm, g.selector, cs, new_cpl);
  c.eip = g.offset;
}

void throughCallGate(Machine::Impl& vm, bool call, uint32_t lo, uint32_t hi, uint32_t next_eip) {
  CpuState& c = vm.cpu;
  Gate g = decodeCallGate(lo, hi);
  uint32_t addr, cs_hi;
  Segment cs = gateTarget(vm, g, call, &addr, &cs_hi);
  bool inner = call && !(cs.attr & attr::kDC) && attr::dpl(cs.attr) < c.cpl;
  if (inner) {
    setAccessed(vm, addr, cs_hi);
    callToInnerLevel(vm, g, cs, next_eip);
    return;
  }
  if (g.offset > cs.limit) raiseException(vm, kVecGP, 0, true);
  if (call) {
    int32_t s = int32_t(g.size);
    writeSeg(vm, SS, stackOffset(c, -s), s, c.seg[CS].selector);
    writeSeg(vm, SS, stackOffset(c, -2 * s), s, next_eip);
    addToStackPointer(c, -2 * s);
  }
  setAccessed(vm, addr, cs_hi);
  setCs(vm, g.selector, cs, c.cpl);  // same level, conforming segments included: CPL stays
  c.eip = g.offset;
}

}  // namespace

void farTransferThroughSystem(Machine::Impl& vm, bool call, uint16_t sel, uint32_t lo, uint32_t hi,
                              uint32_t next_eip) {
  CpuState& c = vm.cpu;
  uint32_t type = (hi >> 8) & 0xf;
  uint32_t dpl = (hi >> 13) & 3, rpl = sel & 3u;
  uint32_t err = sel & 0xfffc;
  bool call_gate = type == 0x4 || type == 0xc;
  bool available_tss = type == 0x1 || type == 0x9;
  // Anything else (LDT, busy TSS, interrupt or trap gate, reserved types) cannot be a target.
  if (!call_gate && !available_tss && type != 0x5) raiseException(vm, kVecGP, err, true);
  if (available_tss && (sel & 4)) raiseException(vm, kVecGP, err, true);  // TSSs live in the GDT
  if (dpl < c.cpl || dpl < rpl) raiseException(vm, kVecGP, err, true);
  if (!(hi & 0x8000)) raiseException(vm, kVecNP, err, true);
  if (call_gate) {
    throughCallGate(vm, call, lo, hi, next_eip);
    return;
  }
  TaskSwitchCause why{call ? TaskSwitchReason::Call : TaskSwitchReason::Jmp, next_eip};
  if (type == 0x5) switchThroughTaskGate(vm, lo, why);
  else switchTask(vm, sel, lo, hi, why);
}

}  // namespace btvm
