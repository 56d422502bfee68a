// The helper table translated code calls, and the wrapper that every helper runs in.
#include "emu/cpu/helpers.h"
#include "emu/helper_exit.h"

#include <capstone/capstone.h>
#include <fmt/core.h>

#include "emu/cpu/guest_access.h"
#include "emu/cpu/v86.h"
#include "mmu/segments.h"

#include <chrono>
#include <csetjmp>
#include <cstring>

namespace btvm {

uint32_t getReg(const CpuState& c, int num, unsigned size) {
  if (size == 1) return num < 4 ? c.regs[num] & 0xff : (c.regs[num - 4] >> 8) & 0xff;
  if (size == 2) return c.regs[num] & 0xffff;
  return c.regs[num];
}

void setReg(CpuState& c, int num, unsigned size, uint32_t v) {
  if (size == 1) {
    if (num < 4) c.regs[num] = (c.regs[num] & ~0xffu) | (v & 0xff);
    else c.regs[num - 4] = (c.regs[num - 4] & ~0xff00u) | ((v & 0xff) << 8);
  } else if (size == 2) {
    c.regs[num] = (c.regs[num] & ~0xffffu) | (v & 0xffff);
  } else {
    c.regs[num] = v;
  }
}

uint32_t readRm(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg, int reg, unsigned size) {
  return i.rm_is_mem ? readSeg(vm, i.seg, arg, size) : getReg(vm.cpu, reg, size);
}

void writeRm(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg, int reg, unsigned size, uint32_t v) {
  if (i.rm_is_mem) writeSeg(vm, i.seg, arg, size, v);
  else setReg(vm.cpu, reg, size, v);
}

void requireProtectedMode(Machine::Impl& vm) {
  if (realStyleSegments(vm.cpu)) raiseException(vm, 6, 0, false);
}

uint32_t szpFlags(uint32_t v, unsigned size) {
  uint32_t mask = size == 1 ? 0xff : size == 2 ? 0xffff : 0xffffffffu;
  v &= mask;
  uint32_t f = 0;
  if (v == 0) f |= flag::ZF;
  if (v & ((mask >> 1) + 1)) f |= flag::SF;
  if (!__builtin_parity(v & 0xff)) f |= flag::PF;
  return f;
}

namespace {

Helper gTable[size_t(HelperId::Count)];

uint16_t gClass[size_t(HelperId::Count)];

// The row class of each helper's instruction, from the table (privileged wins over sensitive).
void buildHelperClasses() {
  unsigned n;
  const InsnRow* rows = insnTable(&n);
  for (unsigned k = 0; k < n; ++k)
    if (rows[k].emit == Emit::Helper)
      gClass[size_t(rows[k].helper)] |= rows[k].cls & (cls::kPrivileged | cls::kSensitive);
}

Handling inlineHandling(HelperId h) { return gClass[size_t(h)] ? Handling::Translated : Handling::None; }

template <HelperId H>
uint64_t wrapped(CpuState* cpu, uint64_t arg, uint64_t info) {
  return runHelper(vmOf(cpu), H, hinfo::unpack(info), uint32_t(arg), inlineHandling(H));
}

template <HelperId H>
uint64_t wrappedDeprivileged(CpuState* cpu, uint64_t arg, uint64_t info) {
  return runHelper(vmOf(cpu), H, hinfo::unpack(info), uint32_t(arg), Handling::Missed);
}

template <size_t... N>
void fillWrappers(HelperFn* out, HelperFn* depriv, std::index_sequence<N...>) {
  ((out[N] = &wrapped<HelperId(N)>), ...);
  ((depriv[N] = &wrappedDeprivileged<HelperId(N)>), ...);
}

uint64_t raiseUd(CpuState* cpu, uint64_t capstone_id, uint64_t) {
  Machine::Impl& vm = vmOf(cpu);
  if (capstone_id != 0) {
    static csh names = [] {
      csh h;
      cs_open(CS_ARCH_X86, CS_MODE_32, &h);
      return h;
    }();
    const char* n = cs_insn_name(names, unsigned(capstone_id));
    ++vm.stats.unimplemented_ud[n ? n : "(unknown)"];
    if (vm.config.log.unimp)
      fmt::print(stderr, "btvm: #UD for {}, which btvm does not implement (eip {:#010x})\n", n ? n : "(unknown)",
                 vm.cpu.eip);
  }
  raiseException(vm, 6, 0, false);
}

HelperResult missing(Machine::Impl& vm, const hinfo::Info&, uint32_t) { raiseException(vm, 6, 0, false); }

// --mode trap: a sensitive instruction runs as real hardware runs it at CPL 3. If that faults
// (#GP, #NP, #SS, #TS), the fault is what a trap-and-emulate VMM receives: it emulates the
// instruction against the virtual state, so that instance counts as trapped, not missed.
HelperResultCode runMissed(Machine::Impl& vm, HelperId h, const hinfo::Info& i, uint32_t arg, Handling* how) {
  CpuState& c = vm.cpu;
  struct Arch {
    uint32_t regs[8], eip, eflags;
    Segment seg[6];
    uint8_t cpl;
  } saved;
  std::memcpy(saved.regs, c.regs, sizeof saved.regs);
  saved.eip = c.eip;
  saved.eflags = c.eflags;
  std::memcpy(saved.seg, c.seg, sizeof saved.seg);
  saved.cpl = c.cpl;
  std::jmp_buf outer;
  std::memcpy(outer, vm.jmp, sizeof outer);
  vm.probing_deprivileged = true;
  if (setjmp(vm.jmp) == 0) {
    HelperResultCode r = runDeprivileged(vm, h, i, arg);
    std::memcpy(vm.jmp, outer, sizeof outer);
    vm.probing_deprivileged = false;
    return r;
  }
  std::memcpy(vm.jmp, outer, sizeof outer);
  // A helper that committed state this probe cannot restore (a task switch) clears the flag:
  // a fault after that belongs to the guest, as on the real CPU.
  bool committed = !vm.probing_deprivileged;
  vm.probing_deprivileged = false;
  uint8_t v = vm.pending.vector;
  if (committed || vm.pending.software || !(v == kVecGP || v == kVecNP || v == kVecSS || v == kVecTS))
    leaveToDispatcher(vm, kJumpException);  // a real guest event (INT n through a DPL-3 gate, #PF...)
  std::memcpy(c.regs, saved.regs, sizeof saved.regs);
  c.eip = saved.eip;
  c.eflags = saved.eflags;
  std::memcpy(c.seg, saved.seg, sizeof saved.seg);
  c.cpl = saved.cpl;
  *how = Handling::Trapped;
  if (vm.trace_event.open) vm.trace_event.how = Handling::Trapped;
  ++vm.stats.traps;
  auto t0 = std::chrono::steady_clock::now();
  HelperResultCode r = gTable[size_t(h)](vm, i, arg);
  vm.stats.trap_ns += uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::steady_clock::now() - t0).count());
  return r;
}

}  // namespace

Helper helperFunction(HelperId h) { return gTable[size_t(h)]; }
uint16_t helperClass(HelperId h) { return gClass[size_t(h)]; }

// Every helper call from translated code or from a trap exit runs here. A helper whose memory
// writes hit translated code finishes its instruction and then leaves the block, so the rest of
// the block (maybe stale) does not run.
uint64_t runHelper(Machine::Impl& vm, HelperId h, const hinfo::Info& i, uint32_t arg, Handling how) {
  CpuState* cpu = &vm.cpu;
  // --mode trap has no deprivileged semantics for real mode (a VMM would run it in virtual-8086
  // mode; btvm's deprivileged layer models only the guest kernel at CPL 3): there every
  // instruction is emulated as if it trapped. Guest v8086 code runs in hardware v8086 mode at
  // IOPL 0 under such a VMM: only SGDT, SIDT and SMSW do not trap there (emu/cpu/v86.h).
  if (how == Handling::Missed && inRealMode(*cpu)) how = Handling::Trapped;
  if (how == Handling::Missed && inV86Mode(*cpu) && !v86RunsUntrapped(h)) how = Handling::Trapped;
  if (how != Handling::None && vm.trace) traceBegin(vm, h, how);
  bool if_before = cpu->eflags & flag::IF;
  HelperResultCode r = how == Handling::Missed ? runMissed(vm, h, i, arg, &how) : gTable[size_t(h)](vm, i, arg);
  // IF just rose, or a port access may have raised or unmasked a line (a read too: reading the
  // UART's LSR takes host input): if the PIC now has an interrupt for the guest, leave
  // translated code at the next block boundary to take it; with exact device events
  // (vm.exact_budget) right after this instruction, whatever the blocks look like, so that a
  // re-run from a snapshot takes it at the same one.
  bool port = h == HelperId::Out || h == HelperId::Outs || h == HelperId::In || h == HelperId::Ins;
  // With exact device events a port access also ends the block after it in any case: it may
  // have moved a device's next event (PIT, RTC, UART), which the budget must then follow.
  if (vm.exact_budget && port) cpu->exit_after_insn = true;
  else if ((cpu->eflags & flag::IF) && (!if_before || port) && vm.platform.interruptPending()) {
    if (vm.exact_budget) cpu->exit_after_insn = true;
    else requestDispatcher(vm);
  }
  if (how != Handling::None) {
    bool priv = gClass[size_t(h)] & cls::kPrivileged;
    ++vm.stats.sensitive[priv ? 0 : 1][size_t(how)];  // after: a missed one may have trapped
    if (vm.trace) traceEnd(vm);
  }
  if (cpu->exit_after_insn) {
    cpu->exit_after_insn = false;
    if (r == kNext) cpu->eip += i.length;
    leaveToDispatcher(vm, kJumpContinue);
  }
  if (i.ends_block) return reinterpret_cast<uint64_t>(continueAfterHelper(vm, r, i));
  return r;
}

void installAccessHooks(DbtHooks& h);
bool codePhys(CpuState* cpu, uint32_t linear, bool raise, uint64_t* phys);

DbtHooks makeDbtHooks() {
  buildHelperClasses();
  for (auto& h : gTable) h = missing;
  registerArithHelpers(gTable);
  registerStringHelpers(gTable);
  registerSystemHelpers(gTable);
  registerSegmentHelpers(gTable);
  registerFpuHelpers(gTable);
  registerSysenterHelpers(gTable);
  DbtHooks hooks{};
  installAccessHooks(hooks);
  hooks.raise_ud = raiseUd;
  hooks.code_phys = codePhys;
  fillWrappers(hooks.helpers, hooks.deprivileged, std::make_index_sequence<size_t(HelperId::Count)>());
  return hooks;
}

}  // namespace btvm
