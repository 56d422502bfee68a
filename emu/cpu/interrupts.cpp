// Exceptions and interrupts: raising them from anywhere in the VMM, and delivering them through
// the guest IDT (32-bit and 16-bit interrupt and trap gates, with a stack switch through the TSS
// when the privilege level changes; from v8086 mode to ring 0 only) or, in real mode, the IVT.
// Faults during delivery escalate to #DF, then triple fault.
#include <fmt/core.h>

#include "emu/cpu/descriptors.h"
#include "emu/cpu/guest_access.h"
#include "emu/cpu/task_switch.h"
#include "emu/cpu/tss.h"
#include "emu/cpu/v86.h"
#include "mmu/segments.h"

namespace btvm {

namespace {

constexpr uint8_t kVecDF = 8;

bool contributory(uint8_t v) { return v == 0 || (v >= 10 && v <= 13); }

std::string registerDump(const CpuState& c) {
  return fmt::format(
      "EAX={:08x} EBX={:08x} ECX={:08x} EDX={:08x} ESI={:08x} EDI={:08x} EBP={:08x} ESP={:08x}\n"
      "EIP={:08x} EFL={:08x} CPL={} CS={:04x} SS={:04x} DS={:04x} CR0={:08x} CR2={:08x} CR3={:08x}\n"
      "GDT={:08x}/{:x} IDT={:08x}/{:x}",
      c.regs[EAX], c.regs[EBX], c.regs[ECX], c.regs[EDX], c.regs[ESI], c.regs[EDI], c.regs[EBP],
      c.regs[ESP], c.eip, eflagsOf(c), c.cpl, c.seg[CS].selector, c.seg[SS].selector,
      c.seg[DS].selector, c.cr0, c.cr2, c.cr3, c.gdtr.base, c.gdtr.limit, c.idtr.base, c.idtr.limit);
}

// The frame's return address: the next instruction for traps and software interrupts, the
// faulting one for faults. Until the frame is written CpuState::eip stays at the instruction,
// so a fault in delivery (bad gate, stack fault) reports the INT n itself.
uint32_t returnEip(const CpuState& c, const PendingException& p) { return p.trap ? p.return_eip : c.eip; }

void delivered(Machine::Impl& vm) {
  vm.cpu.halted = false;
  vm.delivering = -1;
  // A delivery counts as a step of the instruction clock, so that --max-insns also ends a guest
  // caught in a loop of faults that never retires an instruction.
  ++vm.executed;
}

// Real mode (SDM vol. 3 20.1.4): the IVT at IDTR.base holds a CS:IP (4 bytes) per vector; the
// frame is FLAGS, CS, IP, 16 bits each whatever the operand size, and no error code; IF, TF,
// AC (and RF) are cleared. A vector beyond the IDTR limit is #GP (then #DF, then shutdown), a
// frame beyond the SS limit #SS.
void deliverRealMode(Machine::Impl& vm, const PendingException& p) {
  CpuState& c = vm.cpu;
  if (uint32_t(p.vector) * 4 + 3 > c.idtr.limit) raiseException(vm, kVecGP, 0, true);
  uint32_t vec = readLinear(vm, c.idtr.base + p.vector * 4, 4, false);
  uint32_t frame[3] = {eflagsOf(c) & 0xffff, c.seg[CS].selector, returnEip(c, p) & 0xffff};
  for (int i = 0; i < 3; ++i) {
    uint32_t off = stackOffset(c, -2 * (i + 1));
    if (!segmentLimitOk(c.seg[SS], off, 2)) raiseException(vm, kVecSS, 0, true);
    writeLinear(vm, c.seg[SS].base + off, 2, frame[i], false);
  }
  addToStackPointer(c, -6);
  loadRealModeSegment(c.seg[CS], uint16_t(vec >> 16));
  c.eip = vec & 0xffff;
  c.eflags &= ~(flag::IF | flag::TF | flag::AC | flag::RF);
  delivered(vm);
}

}  // namespace

void leaveToDispatcher(Machine::Impl& vm, JumpReason why) {
  if (vm.depriv_saved_cpl >= 0) {  // a deprivileged helper faulted: the guest's CPL is virtual
    vm.cpu.cpl = uint8_t(vm.depriv_saved_cpl);
    vm.depriv_saved_cpl = -1;
  }
  if (vm.trace_event.open && !vm.probing_deprivileged) traceEnd(vm, why == kJumpStop ? "run ended" : "left the instruction");
  std::longjmp(vm.jmp, why);
}

void stopRun(Machine::Impl& vm, ExitKind kind, int status, std::string message) {
  vm.result = RunResult{kind, status, std::move(message)};
  leaveToDispatcher(vm, kJumpStop);
}

void raiseException(Machine::Impl& vm, uint8_t vector, uint32_t error, bool has_error) {
  if (vm.delivering >= 0) {
    uint8_t first = uint8_t(vm.delivering);
    if (first == kVecDF) {
      // Built in its own statement: temporaries alive across stopRun's longjmp would leak.
      std::string msg = fmt::format("guest triple fault (vector {} while delivering #DF)\n{}", vector,
                                    registerDump(vm.cpu));
      stopRun(vm, ExitKind::TripleFault, exit_status::kTripleFault, std::move(msg));
    }
    bool df = (contributory(first) && contributory(vector)) ||
              (first == 14 && (vector == 14 || contributory(vector)));
    if (df) {
      vector = kVecDF;
      error = 0;
      has_error = true;
    }
  }
  vm.pending = PendingException{vector, error, has_error, false, false, 0};
  if (vm.trace_event.open && !vm.probing_deprivileged) {
    static const char* const kNames[20] = {"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO",
                                           "#TS", "#NP", "#SS", "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XM"};
    std::string what = vector < 20 ? kNames[vector] : fmt::format("vector {}", vector);
    if (vm.depriv_saved_cpl >= 0) {
      vm.cpu.cpl = uint8_t(vm.depriv_saved_cpl);
      vm.depriv_saved_cpl = -1;
    }
    traceEnd(vm, (has_error ? fmt::format("fault {}({:04x})", what, error) : "fault " + what).c_str());
  }
  leaveToDispatcher(vm, kJumpException);
}

void raiseSoftwareInterrupt(Machine::Impl& vm, uint8_t vector, uint32_t next_eip) {
  vm.pending = PendingException{vector, 0, false, true, true, next_eip};
  if (vm.trace_event.open) traceEnd(vm, fmt::format("interrupt {:#04x}", vector).c_str());
  leaveToDispatcher(vm, kJumpException);
}

void deliverPending(Machine::Impl& vm) {
  CpuState& c = vm.cpu;
  PendingException p = vm.pending;
  ++vm.stats.exceptions[p.vector];
  if (vm.config.log.intr)
    fmt::print(stderr, "int: vector={} error={:#x} eip={:08x} cpl={}{}\n", p.vector, p.error, c.eip, c.cpl,
               p.software ? " (software)" : p.external ? " (external)" : "");
  vm.delivering = p.vector;
  uint32_t ext = p.software ? 0 : 1;
  uint32_t gate_err = uint32_t(p.vector) * 8 + 2 + ext;
  if (inRealMode(c)) {
    deliverRealMode(vm, p);
    return;
  }
  if (uint32_t(p.vector) * 8 + 7 > c.idtr.limit) raiseException(vm, kVecGP, gate_err, true);
  uint32_t lo = readLinear(vm, c.idtr.base + p.vector * 8, 4, false);
  uint32_t hi = readLinear(vm, c.idtr.base + p.vector * 8 + 4, 4, false);
  uint32_t type = (hi >> 8) & 0x1f;  // S bit and type
  bool gate32 = type == 0x0e || type == 0x0f;
  bool trap_gate = type == 0x0f || type == 0x07;
  if (!(type == 0x0e || type == 0x0f || type == 0x06 || type == 0x07 || type == 0x05))
    raiseException(vm, kVecGP, gate_err, true);
  uint32_t gate_dpl = (hi >> 13) & 3;
  if (p.software && gate_dpl < c.cpl) raiseException(vm, kVecGP, gate_err, true);
  if (!(hi & 0x8000)) raiseException(vm, kVecNP, gate_err, true);
  if (type == 0x05) {  // a task gate: the handler is a task of its own (task_switch.h)
    switchThroughTaskGate(vm, lo, TaskSwitchCause{TaskSwitchReason::Interrupt, returnEip(c, p), ext, p.has_error, p.error});
    delivered(vm);
    return;
  }
  uint16_t sel = uint16_t(lo >> 16);
  uint32_t offset = (lo & 0xffff) | (gate32 ? (hi & 0xffff0000u) : 0);
  if ((sel & 0xfffc) == 0) raiseException(vm, kVecGP, ext, true);
  uint32_t dlo, dhi;
  readDescriptor(vm, sel, &dlo, &dhi);
  Segment cs = descriptorToSegment(sel, dlo, dhi);
  uint32_t sel_err = (sel & 0xfffc) + ext;
  if (!(cs.attr & attr::kS) || !(cs.attr & attr::kCode) || attr::dpl(cs.attr) > c.cpl)
    raiseException(vm, kVecGP, sel_err, true);
  if (!(cs.attr & attr::kP)) raiseException(vm, kVecNP, sel_err, true);
  uint8_t new_cpl = (cs.attr & attr::kDC) ? c.cpl : uint8_t(attr::dpl(cs.attr));
  bool from_v86 = inV86Mode(c);  // to ring 0 only; the frame also holds GS, FS, DS, ES
  if (from_v86) checkV86Handler(vm, cs, sel_err);

  unsigned slot = gate32 ? 4 : 2;
  uint32_t old_eflags = eflagsOf(c);
  uint32_t frame[10];
  int n = 0;
  Segment ss = c.seg[SS];
  uint32_t esp = c.regs[ESP];
  if (new_cpl < c.cpl) {
    InnerStack in = innerStack(vm, new_cpl, ext);  // from the TSS, 32- or 16-bit (tss.h)
    Segment nss = in.ss;
    uint32_t new_esp = in.esp;
    if (from_v86) n = v86SegmentSlots(c, frame);
    frame[n++] = c.seg[SS].selector;
    frame[n++] = c.regs[ESP];
    ss = nss;
    esp = new_esp;
  }
  // Faults save EFLAGS with RF set, so the faulting instruction restarts without re-triggering an
  // instruction breakpoint (SDM 17.3.1.1); traps, aborts and software interrupts do not. #DB
  // says itself (p.rf): general detect sets it, an instruction breakpoint pushes RF as it is (0).
  // EFLAGS.RF itself is 1 between iterations of a REP string instruction (leaveMidRepeat).
  bool is_fault = !p.software && !p.external && (p.vector == 0 || (p.vector >= 5 && p.vector <= 7) ||
                                  (p.vector >= 10 && p.vector <= 14) || p.vector == 16 || p.vector == 17);
  if (is_fault || p.rf) old_eflags |= flag::RF;
  frame[n++] = old_eflags;
  frame[n++] = c.seg[CS].selector;
  frame[n++] = returnEip(c, p);
  if (p.has_error) frame[n++] = p.error;
  // Write the frame before changing any register, so a fault here leaves the old state intact.
  // A 16-bit stack segment (SS.B = 0) takes the frame below SP, wrapping, and keeps ESP[31:16].
  uint32_t m = stackMask(ss);
  for (int i = 0; i < n; ++i) {
    uint32_t off = (esp - slot * (i + 1)) & m;
    if (!segmentAccessOk(ss, off, slot, true)) raiseException(vm, kVecSS, 0, true);
    writeLinear(vm, ss.base + off, slot, frame[i], new_cpl == 3);
  }
  if (new_cpl < c.cpl) c.seg[SS] = ss;
  c.regs[ESP] = (esp & ~m) | ((esp - slot * n) & m);
  setCs(vm, sel, cs, new_cpl);
  if (from_v86) nullDataSegments(c);
  c.eip = offset;
  c.eflags &= ~(flag::TF | flag::NT | flag::RF | flag::VM);
  if (!trap_gate) c.eflags &= ~flag::IF;
  delivered(vm);
}

bool takeExternalInterrupt(Machine::Impl& vm) {
  CpuState& c = vm.cpu;
  bool shadow = vm.shadow_pending && c.eip == vm.shadow_eip;
  vm.shadow_pending = false;
  if (vm.nmi_pending && !vm.nmi_blocked) {
    // NMI: not masked by IF; further NMIs wait until the handler's IRET (SDM 6.7.1).
    vm.nmi_pending = false;
    vm.nmi_blocked = true;
    vm.pending = PendingException{2, 0, false, false, true, c.eip, true};
    if (c.halted) ++vm.idle_wakeups;
    deliverPending(vm);
    vm.delivering = -1;
    return true;
  }
  if (!(c.eflags & flag::IF)) return false;
  if (!vm.platform.interruptPending()) return false;
  if (shadow) {  // one instruction first (the HLT of "sti; hlt"), then the interrupt
    vm.single_insn_next = true;
    return false;
  }
  // The INTA cycle; the frame saves the EIP of the next instruction (after HLT if halted), and
  // a fault while delivering is reported on its own (an external event has no instruction).
  uint8_t vector = vm.platform.acknowledge();
  vm.pending = PendingException{vector, 0, false, false, true, c.eip, true};
  if (c.halted) ++vm.idle_wakeups;
  deliverPending(vm);
  vm.delivering = -1;
  return true;
}

std::string dumpRegisters(const CpuState& c) { return registerDump(c); }

}  // namespace btvm
