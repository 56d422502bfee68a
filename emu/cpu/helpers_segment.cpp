// Segment-register instructions, descriptor queries (LAR, LSL, VERR, VERW), far transfers,
// software interrupts and IRET. All of them are among the sensitive instructions: their outcome
// depends on the CPL and on descriptors. In real mode there are no descriptors: segment loads
// and far transfers take selector << 4 as the base, and the descriptor queries are #UD.
#include <capstone/capstone.h>
#include <fmt/core.h>

#include "emu/cpu/call_gate.h"
#include "emu/cpu/debug_regs.h"
#include "emu/cpu/descriptors.h"
#include "emu/cpu/guest_access.h"
#include "emu/cpu/helpers.h"
#include "emu/cpu/task_switch.h"
#include "emu/cpu/v86.h"
#include "emu/cpu/vme.h"
#include "mmu/segments.h"

namespace btvm {

namespace {

HelperResult hMovToSeg(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg) {
  if (i.reg == CS) raiseException(vm, 6, 0, false);
  uint16_t sel = uint16_t(i.rm_is_mem ? readSeg(vm, i.seg, arg, 2) : getReg(vm.cpu, i.rm, 2));
  loadSegment(vm, i.reg, sel);
  if (i.reg == SS) {  // so that SS:ESP change together
    inhibitInterrupts(vm, nextEip(vm.cpu, i));
    inhibitDebugTraps(vm, nextEip(vm.cpu, i));
  }
  return kNext;
}

HelperResult hMovFromSeg(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg) {
  if (i.rm_is_mem) {
    writeSeg(vm, i.seg, arg, 2, vm.cpu.seg[i.reg].selector);
  } else {
    setReg(vm.cpu, i.reg, i.size, vm.cpu.seg[i.rm].selector);
  }
  return kNext;
}

HelperResult hPushSeg(Machine::Impl& vm, const hinfo::Info& i, uint32_t) {
  push(vm, i.size, vm.cpu.seg[i.reg].selector);
  return kNext;
}

HelperResult hPopSeg(Machine::Impl& vm, const hinfo::Info& i, uint32_t) {
  CpuState& c = vm.cpu;
  uint16_t sel = uint16_t(readSeg(vm, SS, stackOffset(c, 0), i.size));
  // The increment follows the stack size before the load (POP SS may change SS.B).
  uint32_t m = stackMask(c.seg[SS]);
  uint32_t esp = (c.regs[ESP] & ~m) | ((c.regs[ESP] + i.size) & m);
  loadSegment(vm, i.reg, sel);
  c.regs[ESP] = esp;
  if (i.reg == SS) {
    inhibitInterrupts(vm, nextEip(c, i));
    inhibitDebugTraps(vm, nextEip(c, i));
  }
  return kNext;
}

HelperResult hLoadFarPtr(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg) {
  unsigned size = i.size;
  uint32_t off = readSeg(vm, i.seg, arg, size);
  uint16_t sel = uint16_t(readSeg(vm, i.seg, arg + size, 2));
  loadSegment(vm, i.sub, sel);
  setReg(vm.cpu, i.reg, size, off);
  return kNext;
}

// Reads a descriptor for LAR/LSL/VERR/VERW without faulting on a bad selector.
bool peekDescriptor(Machine::Impl& vm, uint16_t sel, Segment* out) {
  const CpuState& c = vm.cpu;
  if ((sel & 0xfffc) == 0) return false;
  const TableReg t = (sel & 4) ? TableReg{c.ldtr.base, c.ldtr.valid ? c.ldtr.limit : 0} : c.gdtr;
  if ((sel & 4) && !c.ldtr.valid) return false;
  if ((sel & ~7u) + 7 > t.limit) return false;
  uint32_t lo = readLinear(vm, t.base + (sel & ~7u), 4, false);
  uint32_t hi = readLinear(vm, t.base + (sel & ~7u) + 4, 4, false);
  *out = descriptorToSegment(sel, lo, hi);
  return true;
}

bool privilegeOk(const CpuState& c, uint16_t sel, const Segment& d) {
  bool conforming_code = (d.attr & attr::kS) && (d.attr & attr::kCode) && (d.attr & attr::kDC);
  if (conforming_code) return true;
  uint32_t dpl = attr::dpl(d.attr);
  return dpl >= c.cpl && dpl >= (sel & 3u);
}

uint16_t selectorOperand(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg, bool two_ops) {
  int reg = two_ops ? i.rm : i.reg;
  return uint16_t(i.rm_is_mem ? readSeg(vm, i.seg, arg, 2) : getReg(vm.cpu, reg, 2));
}

HelperResult larLsl(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg, bool lar) {
  requireProtectedMode(vm);
  CpuState& c = vm.cpu;
  uint16_t sel = selectorOperand(vm, i, arg, true);
  Segment d;
  bool ok = peekDescriptor(vm, sel, &d);
  if (ok && !(d.attr & attr::kS)) {
    uint32_t type = attr::type(d.attr);
    uint32_t valid = lar ? 0x1a3e : 0x0a0e;  // LAR: 1-5, 9, B, C; LSL: 1-3, 9, B
    ok = (valid >> type) & 1;
  }
  ok = ok && privilegeOk(c, sel, d);
  setFlags(c, flag::ZF, ok ? flag::ZF : 0);
  if (!ok) return kNext;
  uint32_t v;
  if (lar) {
    // The rights are the descriptor's high dword masked to type..P and AVL..G (no limit bits).
    v = ((d.attr & 0xff) << 8) | ((d.attr & 0xf000) << 8);
  } else {
    v = d.limit;
  }
  setReg(c, i.reg, i.size, i.size == 2 ? v & 0xffff : v);
  return kNext;
}

HelperResult hLar(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg) { return larLsl(vm, i, arg, true); }
HelperResult hLsl(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg) { return larLsl(vm, i, arg, false); }

HelperResult verify(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg, bool write) {
  requireProtectedMode(vm);
  CpuState& c = vm.cpu;
  uint16_t sel = selectorOperand(vm, i, arg, false);
  Segment d;
  bool ok = peekDescriptor(vm, sel, &d) && (d.attr & attr::kS) && privilegeOk(c, sel, d);
  if (ok) {
    bool code = d.attr & attr::kCode;
    ok = write ? (!code && (d.attr & attr::kRW)) : (!code || (d.attr & attr::kRW));
  }
  setFlags(c, flag::ZF, ok ? flag::ZF : 0);
  return kNext;
}

HelperResult hVerr(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg) { return verify(vm, i, arg, false); }
HelperResult hVerw(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg) { return verify(vm, i, arg, true); }

// The target of a far JMP/CALL: a code segment (returned, checked), or a system descriptor
// (call gate, task gate, TSS), whose transfer farTransferThroughSystem does at once: then
// *done is set and CS:EIP are already the new ones.
Segment farTarget(Machine::Impl& vm, uint16_t sel, uint32_t offset, bool call, uint32_t next_eip, bool* done) {
  CpuState& c = vm.cpu;
  *done = false;
  if ((sel & 0xfffc) == 0) raiseException(vm, kVecGP, 0, true);
  uint32_t lo, hi;
  uint32_t addr = readDescriptor(vm, sel, &lo, &hi);
  Segment d = descriptorToSegment(sel, lo, hi);
  if (!(d.attr & attr::kS)) {
    farTransferThroughSystem(vm, call, sel, lo, hi, next_eip);
    *done = true;
    return d;
  }
  SegFault f = checkCodeSegmentTransfer(sel, d, c.cpl);
  if (!f.ok()) raiseException(vm, f.vector, f.error, true);
  if (offset > d.limit) raiseException(vm, kVecGP, 0, true);
  setAccessed(vm, addr, hi);
  return d;
}

void farOperand(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg, uint16_t* sel, uint32_t* off) {
  if (i.rm_is_mem) {
    *off = readSeg(vm, i.seg, arg, i.size);
    *sel = uint16_t(readSeg(vm, i.seg, arg + i.size, 2));
  } else {
    *sel = i.imm;
    *off = arg;
  }
  if (i.size == 2) *off &= 0xffff;
}

HelperResult hJmpFar(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg) {
  uint16_t sel;
  uint32_t off;
  farOperand(vm, i, arg, &sel, &off);
  if (realStyleSegments(vm.cpu)) {
    realModeJump(vm, sel, off);
    return kEipSet;
  }
  bool done;
  Segment d = farTarget(vm, sel, off, false, nextEip(vm.cpu, i), &done);
  if (done) return kEipSet;
  setCs(vm, sel, d, vm.cpu.cpl);
  vm.cpu.eip = off;
  return kEipSet;
}

HelperResult hCallFar(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg) {
  CpuState& c = vm.cpu;
  uint16_t sel;
  uint32_t off;
  farOperand(vm, i, arg, &sel, &off);
  bool real = realStyleSegments(c);
  Segment d{};
  bool done = false;
  if (!real) d = farTarget(vm, sel, off, true, nextEip(c, i), &done);
  else if (off > c.seg[CS].limit) raiseException(vm, kVecGP, 0, true);
  if (done) return kEipSet;
  int32_t s = int32_t(i.size);
  writeSeg(vm, SS, stackOffset(c, -s), s, c.seg[CS].selector);
  writeSeg(vm, SS, stackOffset(c, -2 * s), s, nextEip(c, i));
  addToStackPointer(c, -2 * s);
  if (real) loadRealStyleSegment(c, CS, sel);
  else setCs(vm, sel, d, c.cpl);
  c.eip = off;
  return kEipSet;
}

// The checks of a return (RETF, IRET) to CS `sel`; returns the new CPL (= RPL).
Segment returnTarget(Machine::Impl& vm, uint16_t sel) {
  CpuState& c = vm.cpu;
  if ((sel & 0xfffc) == 0) raiseException(vm, kVecGP, 0, true);
  uint32_t lo, hi;
  uint32_t addr = readDescriptor(vm, sel, &lo, &hi);
  Segment d = descriptorToSegment(sel, lo, hi);
  uint32_t rpl = sel & 3, dpl = attr::dpl(d.attr);
  uint32_t err = sel & 0xfffc;
  if (!(d.attr & attr::kS) || !(d.attr & attr::kCode) || rpl < c.cpl) raiseException(vm, kVecGP, err, true);
  if ((d.attr & attr::kDC) ? dpl > rpl : dpl != rpl) raiseException(vm, kVecGP, err, true);
  if (!(d.attr & attr::kP)) raiseException(vm, kVecNP, err, true);
  setAccessed(vm, addr, hi);
  return d;
}

// Returning to an outer level: data segments the new CPL may not use become null (SDM, RET).
void dropInaccessibleSegments(CpuState& c) {
  for (int s : {ES, DS, FS, GS}) {
    const Segment& g = c.seg[s];
    bool conforming_code = (g.attr & attr::kCode) && (g.attr & attr::kDC);
    if (g.valid && !conforming_code && attr::dpl(g.attr) < c.cpl) c.seg[s] = Segment{0, 0, 0, 0, false};
  }
}

// Loads SS:ESP popped on a return to an outer level (new_cpl > CPL).
void returnToOuterStack(Machine::Impl& vm, uint16_t ss_sel, uint32_t esp, uint8_t new_cpl) {
  CpuState& c = vm.cpu;
  if ((ss_sel & 0xfffc) == 0) raiseException(vm, kVecGP, 0, true);
  uint32_t lo, hi;
  readDescriptor(vm, ss_sel, &lo, &hi);
  Segment ss = descriptorToSegment(ss_sel, lo, hi);
  SegFault f = checkStackSegmentLoad(ss_sel, ss, new_cpl);
  if (!f.ok()) raiseException(vm, f.vector, f.error, true);
  c.seg[SS] = ss;
  c.regs[ESP] = esp;
}

HelperResult hRetFar(Machine::Impl& vm, const hinfo::Info& i, uint32_t) {
  CpuState& c = vm.cpu;
  int32_t s = int32_t(i.size);
  uint32_t eip = readSeg(vm, SS, stackOffset(c, 0), s);
  uint16_t sel = uint16_t(readSeg(vm, SS, stackOffset(c, s), s));
  if (s == 2) eip &= 0xffff;
  int32_t pop_extra = i.has_imm ? i.imm : 0;
  if (realStyleSegments(c)) {
    realModeJump(vm, sel, eip);
    addToStackPointer(c, 2 * s + pop_extra);
    return kEipSet;
  }
  Segment d = returnTarget(vm, sel);
  uint8_t rpl = sel & 3;
  if (rpl > c.cpl) {
    uint32_t new_esp = readSeg(vm, SS, stackOffset(c, 2 * s + pop_extra), s);
    uint16_t new_ss = uint16_t(readSeg(vm, SS, stackOffset(c, 3 * s + pop_extra), s));
    if (eip > d.limit) raiseException(vm, kVecGP, 0, true);
    returnToOuterStack(vm, new_ss, new_esp, rpl);
    addToStackPointer(c, pop_extra);  // releases the caller's parameters, at the outer SS's size
    setCs(vm, sel, d, rpl);
    dropInaccessibleSegments(c);
  } else {
    if (eip > d.limit) raiseException(vm, kVecGP, 0, true);
    addToStackPointer(c, 2 * s + pop_extra);
    setCs(vm, sel, d, c.cpl);
  }
  c.eip = eip;
  return kEipSet;
}

HelperResult hInt(Machine::Impl& vm, const hinfo::Info& i, uint32_t) {
  // v8086 mode, INT n only (INT3, INTO and INT1 go to the IDT at any IOPL): #GP(0) below IOPL 3,
  // or the program's IVT under CR4.VME.
  if (v86SoftwareInterrupt(vm, uint8_t(i.imm), nextEip(vm.cpu, i))) return kEipSet;
  raiseSoftwareInterrupt(vm, uint8_t(i.imm), nextEip(vm.cpu, i));
}

HelperResult hInt3(Machine::Impl& vm, const hinfo::Info& i, uint32_t) { raiseSoftwareInterrupt(vm, 3, nextEip(vm.cpu, i)); }

HelperResult hInto(Machine::Impl& vm, const hinfo::Info& i, uint32_t) {
  if (vm.cpu.eflags & flag::OF) raiseSoftwareInterrupt(vm, 4, nextEip(vm.cpu, i));
  vm.cpu.eip = nextEip(vm.cpu, i);
  return kEipSet;
}

// INT1 (ICEBP) raises #DB as a trap without the gate-privilege check of INT n.
HelperResult hInt1(Machine::Impl& vm, const hinfo::Info& i, uint32_t) { raiseIcebp(vm, nextEip(vm.cpu, i)); }

// IRET in real mode: IP, CS and FLAGS (or EIP, CS, EFLAGS) from the stack; every flag but VM,
// VIF and VIP may change (SDM, IRET: real-address mode). The same in v8086 mode at IOPL 3,
// except that IOPL stays too.
HelperResult realModeIret(Machine::Impl& vm, int32_t s) {
  CpuState& c = vm.cpu;
  uint32_t eip = readSeg(vm, SS, stackOffset(c, 0), s);
  uint16_t sel = uint16_t(readSeg(vm, SS, stackOffset(c, s), s));
  uint32_t fl = readSeg(vm, SS, stackOffset(c, 2 * s), s);
  if (s == 2) eip &= 0xffff;
  realModeJump(vm, sel, eip);
  addToStackPointer(c, 3 * s);
  uint32_t mask = flag::kArith | flag::TF | flag::IF | flag::DF | flag::IOPL | flag::NT;
  if (s == 4) mask |= flag::RF | flag::AC | flag::ID;
  if (inV86Mode(c)) mask &= ~flag::IOPL;
  c.eflags = (c.eflags & ~mask) | (fl & mask);  // RF too: it spares the next instruction's breakpoint
  return kEipSet;
}

HelperResult hIret(Machine::Impl& vm, const hinfo::Info& i, uint32_t) {
  CpuState& c = vm.cpu;
  vm.nmi_blocked = false;  // any IRET ends NMI blocking, even one that then faults (as QEMU)
  if (inRealMode(c)) return realModeIret(vm, int32_t(i.size));
  if (inV86Mode(c)) {
    if (v86Iret(vm, i.size)) return kEipSet;  // below IOPL 3: VIF under CR4.VME, or #GP(0)
    return realModeIret(vm, int32_t(i.size));
  }
  if (c.eflags & flag::NT) {  // back to the task that called or interrupted this one
    returnFromNestedTask(vm, nextEip(c, i));
    return kEipSet;
  }
  int32_t s = int32_t(i.size);
  uint32_t eip = readSeg(vm, SS, stackOffset(c, 0), s);
  uint16_t sel = uint16_t(readSeg(vm, SS, stackOffset(c, s), s));
  uint32_t fl = readSeg(vm, SS, stackOffset(c, 2 * s), s);
  if (s == 4 && (fl & flag::VM) && c.cpl == 0) {
    iretToV86(vm, eip, sel, fl);
    return kEipSet;
  }
  Segment d = returnTarget(vm, sel);
  uint8_t rpl = sel & 3;
  uint32_t mask = flag::kArith | flag::TF | flag::DF | flag::NT | flag::RF | flag::AC | flag::ID;
  if (c.cpl == 0) mask |= flag::IOPL | flag::IF | flag::VIF | flag::VIP;
  else if (c.cpl <= ((c.eflags >> 12) & 3)) mask |= flag::IF;
  if (s == 2) mask &= 0xffff;
  if (eip > d.limit) raiseException(vm, kVecGP, 0, true);
  if (rpl > c.cpl) {
    uint32_t new_esp = readSeg(vm, SS, stackOffset(c, 3 * s), s);
    uint16_t new_ss = uint16_t(readSeg(vm, SS, stackOffset(c, 4 * s), s));
    returnToOuterStack(vm, new_ss, new_esp, rpl);
    c.eflags = (c.eflags & ~mask) | (fl & mask);
    setCs(vm, sel, d, rpl);
    dropInaccessibleSegments(c);
  } else {
    addToStackPointer(c, 3 * s);
    c.eflags = (c.eflags & ~mask) | (fl & mask);
    setCs(vm, sel, d, c.cpl);
  }
  c.eip = s == 2 ? eip & 0xffff : eip;
  return kEipSet;  // RF as popped: the dispatcher clears it as the next instruction starts
}

}  // namespace

void registerSegmentHelpers(Helper* t) {
  using H = HelperId;
  t[size_t(H::MovToSeg)] = hMovToSeg;
  t[size_t(H::MovFromSeg)] = hMovFromSeg;
  t[size_t(H::PushSeg)] = hPushSeg;
  t[size_t(H::PopSeg)] = hPopSeg;
  t[size_t(H::LoadFarPtr)] = hLoadFarPtr;
  t[size_t(H::Lar)] = hLar;
  t[size_t(H::Lsl)] = hLsl;
  t[size_t(H::Verr)] = hVerr;
  t[size_t(H::Verw)] = hVerw;
  t[size_t(H::JmpFar)] = hJmpFar;
  t[size_t(H::CallFar)] = hCallFar;
  t[size_t(H::RetFar)] = hRetFar;
  t[size_t(H::Int)] = hInt;
  t[size_t(H::Int1)] = hInt1;
  t[size_t(H::Int3)] = hInt3;
  t[size_t(H::Into)] = hInto;
  t[size_t(H::Iret)] = hIret;
}

}  // namespace btvm
