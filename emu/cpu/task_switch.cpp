// Hardware task switching, after the SDM vol. 3 7.3 (the steps), table 7-1 (the checks of the
// new task's state and their error codes) and the JMP/CALL/INT/IRET pseudo-code of vol. 2.
// The T bit of the TSS (debug trap on task switch) is ignored: btvm has no debug-exception
// support for it.
#include "emu/cpu/task_switch.h"

#include <fmt/core.h>

#include "emu/cpu/descriptors.h"
#include "emu/cpu/guest_access.h"
#include "emu/cpu/tss.h"
#include "emu/cpu/v86.h"
#include "mmu/segments.h"

namespace btvm {

namespace {

constexpr uint32_t kBusyBit = 0x200;       // type bit 1 in a TSS descriptor's high dword
constexpr uint32_t kCr0TS = 8, kCr0PG = 1u << 31, kCr4PAE = 1u << 5;
constexpr uint32_t kMinLimit32 = 0x67, kMinLimit16 = 0x2b;

// The fields a task switch reads from the incoming TSS (SDM figures 7-2 and 7-11).
struct TaskImage {
  uint32_t cr3, eip, eflags, regs[8];
  uint16_t sel[6];  // ES, CS, SS, DS, FS, GS (a 16-bit TSS has no FS, GS: they become null)
  uint16_t ldt;
};

// 32-bit TSS: CR3 0x1c, EIP 0x20, EFLAGS 0x24, EAX..EDI from 0x28, ES..GS from 0x48, LDT 0x60.
// 16-bit TSS: IP 14, FLAGS 16, AX..DI from 18, ES..DS from 34, LDT 42.
struct Layout {
  uint32_t eip, eflags, regs, sels, ldt, slot, nsegs;
};
constexpr Layout kLayout32{0x20, 0x24, 0x28, 0x48, 0x60, 4, 6};
constexpr Layout kLayout16{14, 16, 18, 34, 42, 2, 4};

TaskImage readImage(Machine::Impl& vm, uint32_t base, bool tss32) {
  const Layout& l = tss32 ? kLayout32 : kLayout16;
  TaskImage t{};
  auto rd = [&](uint32_t off, unsigned size) { return readLinear(vm, base + off, size, false); };
  t.cr3 = tss32 ? rd(0x1c, 4) : 0;
  t.eip = rd(l.eip, l.slot);
  t.eflags = rd(l.eflags, l.slot);
  // A 16-bit TSS holds only the low words: the high ones read as ones (as QEMU and Bochs load
  // them; the SDM leaves them undefined).
  for (int r = 0; r < 8; ++r) t.regs[r] = rd(l.regs + l.slot * r, l.slot) | (tss32 ? 0 : 0xffff0000u);
  for (uint32_t s = 0; s < l.nsegs; ++s) t.sel[s] = uint16_t(rd(l.sels + l.slot * s, 2));
  t.ldt = uint16_t(rd(l.ldt, 2));
  return t;
}

// Step 7: the dynamic fields of the outgoing task (not CR3, LDTR or the stacks of levels 0-2).
void saveImage(Machine::Impl& vm, uint32_t base, bool tss32, uint32_t eip, uint32_t eflags) {
  const CpuState& c = vm.cpu;
  const Layout& l = tss32 ? kLayout32 : kLayout16;
  auto wr = [&](uint32_t off, unsigned size, uint32_t v) { writeLinear(vm, base + off, size, v, false); };
  wr(l.eip, l.slot, eip);
  wr(l.eflags, l.slot, eflags);
  for (int r = 0; r < 8; ++r) wr(l.regs + l.slot * r, l.slot, c.regs[r]);
  for (uint32_t s = 0; s < l.nsegs; ++s) wr(l.sels + l.slot * s, l.slot, c.seg[s].selector);
}

[[noreturn]] void fail(Machine::Impl& vm, uint8_t vector, uint16_t sel, uint32_t ext) {
  raiseException(vm, vector, (sel & 0xfffc) | ext, true);
}

// A descriptor of the new task's state: a selector beyond its table raises #TS(selector).
uint32_t taskDescriptor(Machine::Impl& vm, uint16_t sel, uint32_t ext, uint32_t* lo, uint32_t* hi) {
  const CpuState& c = vm.cpu;
  bool local = sel & 4;
  uint32_t limit = local ? (c.ldtr.valid ? c.ldtr.limit : 0) : c.gdtr.limit;
  if ((local && !c.ldtr.valid) || (sel & ~7u) + 7 > limit) fail(vm, kVecTS, sel, ext);
  return readDescriptor(vm, sel, lo, hi, kVecTS);
}

void loadTaskLdt(Machine::Impl& vm, uint16_t sel, uint32_t ext) {
  CpuState& c = vm.cpu;
  if ((sel & 0xfffc) == 0) {
    c.ldtr = Segment{sel, 0, 0, 0, false};
    return;
  }
  if (sel & 4) fail(vm, kVecTS, sel, ext);
  uint32_t lo, hi;
  taskDescriptor(vm, sel, ext, &lo, &hi);
  Segment d = descriptorToSegment(sel, lo, hi);
  if ((d.attr & attr::kS) || attr::type(d.attr) != 2 || !(d.attr & attr::kP)) fail(vm, kVecTS, sel, ext);
  c.ldtr = d;
}

void loadTaskCs(Machine::Impl& vm, uint16_t sel, uint32_t ext) {
  if ((sel & 0xfffc) == 0) fail(vm, kVecTS, sel, ext);
  uint32_t lo, hi;
  uint32_t addr = taskDescriptor(vm, sel, ext, &lo, &hi);
  Segment d = descriptorToSegment(sel, lo, hi);
  uint32_t dpl = attr::dpl(d.attr), rpl = sel & 3u;
  if (!(d.attr & attr::kS) || !(d.attr & attr::kCode)) fail(vm, kVecTS, sel, ext);
  if ((d.attr & attr::kDC) ? dpl > rpl : dpl != rpl) fail(vm, kVecTS, sel, ext);
  if (!(d.attr & attr::kP)) fail(vm, kVecNP, sel, ext);
  setAccessed(vm, addr, hi);
  setCs(vm, sel, d, uint8_t(rpl));  // the new CPL is the RPL of the new CS
}

// SS and the data segment registers from the new task's selectors: the descriptor checked by
// `check` (its #GP becomes #TS with the selector), marked accessed, loaded.
template <typename Check>
void loadTaskSegment(Machine::Impl& vm, int seg, uint16_t sel, uint32_t ext, Check check) {
  CpuState& c = vm.cpu;
  uint32_t lo, hi;
  uint32_t addr = taskDescriptor(vm, sel, ext, &lo, &hi);
  Segment d = descriptorToSegment(sel, lo, hi);
  SegFault f = check(sel, d, c.cpl);
  if (!f.ok()) fail(vm, f.vector == kVecGP ? kVecTS : f.vector, sel, ext);
  setAccessed(vm, addr, hi);
  d.attr |= attr::kAccessed;
  c.seg[seg] = d;
}

void loadTaskSs(Machine::Impl& vm, uint16_t sel, uint32_t ext) {
  if ((sel & 0xfffc) == 0) fail(vm, kVecTS, sel, ext);
  loadTaskSegment(vm, SS, sel, ext, checkStackSegmentLoad);
}

void loadTaskDataSegment(Machine::Impl& vm, int seg, uint16_t sel, uint32_t ext) {
  if ((sel & 0xfffc) == 0) {
    vm.cpu.seg[seg] = Segment{sel, 0, 0, 0, false};
    return;
  }
  loadTaskSegment(vm, seg, sel, ext, checkDataSegmentLoad);
}

// EFLAGS.VM set in the new task: it runs in virtual-8086 mode, its segments loaded as that mode
// loads them (no descriptor checks) and CPL 3.
void enterVirtual8086Task(Machine::Impl& vm, const TaskImage& t) {
  CpuState& c = vm.cpu;
  for (int s = 0; s < 6; ++s) c.seg[s] = v86Segment(t.sel[s]);
  c.cpl = 3;
}

uint32_t descriptorAddress(const CpuState& c, uint16_t sel) { return c.gdtr.base + (sel & ~7u); }

}  // namespace

void switchTask(Machine::Impl& vm, uint16_t sel, uint32_t lo, uint32_t hi, const TaskSwitchCause& why) {
  CpuState& c = vm.cpu;
  Segment next = descriptorToSegment(sel, lo, hi);
  bool next32 = isTss32Type(attr::type(next.attr));
  uint32_t ext = why.ext;
  // Step 3: the new TSS must hold at least the fields a switch reads.
  if (next.limit < (next32 ? kMinLimit32 : kMinLimit16)) fail(vm, kVecTS, sel, ext);
  if (!c.tr.valid) fail(vm, kVecTS, c.tr.selector, ext);
  // Everything of the new task is read before anything changes, so that a page fault here
  // leaves the old task as it was.
  TaskImage t = readImage(vm, next.base, next32);

  // Steps 5-7: the outgoing task. IRET clears NT in the saved image; JMP and IRET leave the
  // old task not busy.
  bool prev32 = isTss32Type(attr::type(c.tr.attr));
  uint32_t eflags = eflagsOf(c);
  if (why.reason == TaskSwitchReason::Iret) eflags &= ~flag::NT;
  saveImage(vm, c.tr.base, prev32, why.return_eip, eflags);
  uint16_t prev_sel = c.tr.selector;
  if (why.reason == TaskSwitchReason::Jmp || why.reason == TaskSwitchReason::Iret) {
    uint32_t a = descriptorAddress(c, prev_sel);
    writeLinear(vm, a + 4, 4, readLinear(vm, a + 4, 4, false) & ~kBusyBit, false);
  }
  // Step 8-9: a nested task (CALL, interrupt) links back to the old one and runs with NT set.
  bool nest = why.reason == TaskSwitchReason::Call || why.reason == TaskSwitchReason::Interrupt;
  if (nest) {
    writeLinear(vm, next.base, 2, prev_sel, false);
    t.eflags |= flag::NT;
  }
  if (why.reason != TaskSwitchReason::Iret) {
    uint32_t a = descriptorAddress(c, sel);
    writeLinear(vm, a + 4, 4, readLinear(vm, a + 4, 4, false) | kBusyBit, false);
  }

  // Step 10: the commit point. From here on faults belong to the new task (and, in --mode
  // trap, to the guest: the probe of a deprivileged run cannot undo a switch; helpers.cpp).
  vm.probing_deprivileged = false;
  next.attr |= kBusyBit >> 8;
  c.tr = next;
  c.cr0 |= kCr0TS;
  if (next32 && (c.cr0 & kCr0PG)) {
    // The MMU's normal CR3 path: the shadow context cached for this CR3 (or a new one).
    if ((c.cr4 & kCr4PAE) && !vm.mmu.loadPdptes(t.cr3)) raiseException(vm, kVecGP, 0, true);
    c.cr3 = t.cr3;
    vm.mmu.cr3Loaded();
  }
  vm.dbt->flushJumpCache();
  c.eflags = (next32 ? t.eflags : (t.eflags & 0xffff)) | flag::kFixed1;
  c.eip = next32 ? t.eip : t.eip & 0xffff;
  for (int r = 0; r < 8; ++r) c.regs[r] = t.regs[r];
  // Steps 11-12: selectors first (unusable until their descriptors pass), then the descriptors.
  for (int s = 0; s < 6; ++s) c.seg[s] = Segment{t.sel[s], 0, 0, 0, false};
  loadTaskLdt(vm, t.ldt, ext);
  if (next32 && (t.eflags & flag::VM)) {
    enterVirtual8086Task(vm, t);
  } else {
    loadTaskCs(vm, t.sel[CS], ext);
    loadTaskSs(vm, t.sel[SS], ext);
    for (int s : {ES, DS, FS, GS}) loadTaskDataSegment(vm, s, t.sel[s], ext);
  }

  // An exception's error code goes on the new task's stack (16 bits for a 16-bit TSS).
  if (why.has_error) {
    unsigned size = next32 ? 4 : 2;
    uint32_t off = stackOffset(c, -int32_t(size));
    if (!segmentAccessOk(c.seg[SS], off, size, true)) raiseException(vm, kVecSS, ext, true);
    writeLinear(vm, c.seg[SS].base + off, size, why.error, c.cpl == 3);
    addToStackPointer(c, -int32_t(size));
  }
  if (c.eip > c.seg[CS].limit) raiseException(vm, kVecGP, 0, true);
}

void switchThroughTaskGate(Machine::Impl& vm, uint32_t gate_lo, const TaskSwitchCause& why) {
  CpuState& c = vm.cpu;
  uint16_t sel = uint16_t(gate_lo >> 16);
  if ((sel & 4) || (sel | 7u) > c.gdtr.limit || (sel & 0xfffc) == 0) fail(vm, kVecGP, sel, why.ext);
  uint32_t lo, hi;
  readDescriptor(vm, sel, &lo, &hi);
  uint32_t type = (hi >> 8) & 0x1f;  // S bit and type: an available TSS has S = 0
  if (type != 0x09 && type != 0x01) fail(vm, kVecGP, sel, why.ext);
  if (!(hi & 0x8000)) fail(vm, kVecNP, sel, why.ext);
  switchTask(vm, sel, lo, hi, why);
}

void returnFromNestedTask(Machine::Impl& vm, uint32_t return_eip) {
  CpuState& c = vm.cpu;
  uint16_t link = uint16_t(readLinear(vm, c.tr.base, 2, false));
  if ((link & 4) || (link | 7u) > c.gdtr.limit || (link & 0xfffc) == 0) fail(vm, kVecTS, link, 0);
  uint32_t lo, hi;
  readDescriptor(vm, link, &lo, &hi, kVecTS);
  uint32_t type = (hi >> 8) & 0x1f;
  if (type != 0x0b && type != 0x03) fail(vm, kVecTS, link, 0);  // must be busy
  if (!(hi & 0x8000)) fail(vm, kVecNP, link, 0);
  switchTask(vm, link, lo, hi, TaskSwitchCause{TaskSwitchReason::Iret, return_eip});
}

}  // namespace btvm
