// The guest's debug registers and debug exceptions (see debug_regs.h).
#include "emu/cpu/debug_regs.h"

#include "emu/debug/gdbstub.h"

namespace btvm {

namespace {

constexpr uint8_t kVecDB = 1;
constexpr uint32_t kCr4DE = 1u << 3;

// DR7.LENn: 1, 2 or 4 bytes; 10b is undefined on a P6 and 8 bytes on later processors (as
// QEMU takes it).
uint32_t breakpointLength(uint32_t dr7, int n) {
  static constexpr uint32_t kLen[4] = {1, 2, 8, 4};
  return kLen[(dr7 >> (18 + 4 * n)) & 3];
}

// DR0-DR3 and DR7 decoded into what the access paths and the dispatcher test.
GuestDebugState decode(const CpuState& c, const GuestDebugState& old) {
  GuestDebugState d = old;
  d.exec_mask = d.data_mask = d.io_mask = 0;
  uint32_t dr7v = c.dr[7];
  for (int n = 0; n < 4; ++n) {
    d.exec_addr[n] = 0;
    d.data[n] = WatchRange{};
    if (!((dr7v >> (2 * n)) & 3)) continue;  // neither Ln nor Gn
    uint32_t rw = (dr7v >> (16 + 4 * n)) & 3;
    // The address is aligned down to the length: its low bits are ignored (SDM 17.2.5).
    uint32_t len = breakpointLength(dr7v, n);
    WatchRange r{c.dr[n] & ~(len - 1), len, true, true};
    switch (rw) {
      case 0:  // instruction execution (LEN is ignored)
        d.exec_mask |= uint8_t(1u << n);
        d.exec_addr[n] = c.dr[n];
        break;
      case 1:  // data writes
        r.reads = false;
        d.data_mask |= uint8_t(1u << n);
        d.data[n] = r;
        break;
      case 2:  // I/O reads and writes with CR4.DE; undefined without it: no breakpoint
        if (c.cr4 & kCr4DE) {
          d.io_mask |= uint8_t(1u << n);
          d.data[n] = r;
        }
        break;
      default:  // data reads and writes
        d.data_mask |= uint8_t(1u << n);
        d.data[n] = r;
        break;
    }
  }
  return d;
}

bool sameExec(const GuestDebugState& a, const GuestDebugState& b) {
  if (a.exec_mask != b.exec_mask) return false;
  for (int n = 0; n < 4; ++n)
    if ((a.exec_mask >> n & 1) && a.exec_addr[n] != b.exec_addr[n]) return false;
  return true;
}

bool sameData(const GuestDebugState& a, const GuestDebugState& b) {
  if (a.data_mask != b.data_mask) return false;
  for (int n = 0; n < 4; ++n) {
    const WatchRange &x = a.data[n], &y = b.data[n];
    if ((a.data_mask >> n & 1) && (x.addr != y.addr || x.len != y.len || x.reads != y.reads)) return false;
  }
  return true;
}

// Re-decodes the breakpoints. New instruction breakpoints drop every translation (a block may
// run or be chained past the address) once the current instruction is done; new data
// breakpoints drop the soft TLB, whose entries would let accesses bypass the slow path.
void refreshBreakpoints(Machine::Impl& vm) {
  GuestDebugState d = decode(vm.cpu, vm.debug);
  if (!sameExec(d, vm.debug)) {
    vm.flush_code = true;
    vm.cpu.exit_after_insn = true;
  }
  if (!sameData(d, vm.debug)) vm.mmu.flushAll();
  vm.debug = d;
}

// Entering the #DB handler clears DR7.GD, so the handler may use the debug registers
// (SDM 17.2.4).
void enterDebugHandler(Machine::Impl& vm) { vm.cpu.dr[7] &= ~dr7::GD; }

// B0-B3 report the breakpoints of this exception alone (the SDM lets a #DB clear them; QEMU
// and KVM do); BD, BS and BT are never cleared by the processor.
void reportInDr6(CpuState& c, uint32_t bits) {
  c.dr[6] = (c.dr[6] & ~dr6::kBreakpoints) | bits | dr6::kFixed1;
}

// A fault-class #DB raised at the current instruction (instruction breakpoint, general detect).
[[noreturn]] void raiseDebugFault(Machine::Impl& vm, uint32_t dr6_bits, bool rf) {
  reportInDr6(vm.cpu, dr6_bits);
  enterDebugHandler(vm);
  vm.pending = PendingException{kVecDB, 0, false, false, false, 0};
  vm.pending.rf = rf;
  if (vm.trace_event.open && !vm.probing_deprivileged) traceEnd(vm, "fault #DB");
  leaveToDispatcher(vm, kJumpException);
}

// MOV DR with DR7.GD set: a fault with DR6.BD; like every fault but an instruction breakpoint
// it pushes RF = 1 (SDM 17.3.1.1).
void generalDetect(Machine::Impl& vm) {
  if (vm.cpu.dr[7] & dr7::GD) raiseDebugFault(vm, dr6::BD, true);
}

int aliasOf(Machine::Impl& vm, int n) {
  if (n == 4 || n == 5) {
    if (vm.cpu.cr4 & kCr4DE) raiseException(vm, 6, 0, false);  // reserved with debug extensions
    return n + 2;
  }
  return n;
}


}  // namespace

void writeDebugRegister(Machine::Impl& vm, int n, uint32_t value) {
  n = aliasOf(vm, n);
  generalDetect(vm);
  CpuState& c = vm.cpu;
  switch (n) {
    case 6:
      c.dr[6] = (value & (dr6::kBreakpoints | dr6::BD | dr6::BS | dr6::BT)) | dr6::kFixed1;
      return;
    case 7:
      c.dr[7] = (value & ~dr7::kReserved0) | dr7::kFixed1;
      break;
    default:
      c.dr[n] = value;
      break;
  }
  refreshBreakpoints(vm);
}

uint32_t readDebugRegister(Machine::Impl& vm, int n) {
  n = aliasOf(vm, n);
  generalDetect(vm);
  return vm.cpu.dr[n];
}

void debugCr4Written(Machine::Impl& vm) { refreshBreakpoints(vm); }

bool linearPageWatched(const Machine::Impl& vm, uint32_t linear) {
  if (vm.gdb && vm.gdb->watchesPage(linear)) return true;
  for (int n = 0; n < 4; ++n)
    if ((vm.debug.data_mask >> n & 1) && vm.debug.data[n].onPage(linear)) return true;
  return false;
}

bool noteWatchedAccess(Machine::Impl& vm, uint32_t linear, unsigned size, bool write, bool record) {
  bool hit = vm.gdb && vm.gdb->watching() && vm.gdb->accessHits(linear, size, write, record);
  uint32_t bits = 0;
  for (int n = 0; n < 4; ++n)
    if ((vm.debug.data_mask >> n & 1) && vm.debug.data[n].hits(linear, size, write)) bits |= 1u << n;
  if (record) vm.debug.pending |= bits;
  return hit || bits;
}

void noteIoAccess(Machine::Impl& vm, uint16_t port, unsigned size) {
  if (!vm.debug.io_mask) return;
  uint32_t bits = 0;
  for (int n = 0; n < 4; ++n)
    if ((vm.debug.io_mask >> n & 1) && vm.debug.data[n].hits(port, size, true)) bits |= 1u << n;
  if (!bits) return;
  vm.debug.pending |= bits;
  vm.cpu.exit_after_insn = true;  // the trap follows this instruction (or REP iteration)
}

bool breakpointIn(const Machine::Impl& vm, uint32_t linear, uint32_t len) {
  if (vm.gdb && vm.gdb->breakpointIn(linear, len)) return true;
  for (int n = 0; n < 4; ++n)
    if ((vm.debug.exec_mask >> n & 1) && vm.debug.exec_addr[n] - linear < len) return true;
  return false;
}

void checkInstructionBreakpoint(Machine::Impl& vm) {
  CpuState& c = vm.cpu;
  GuestDebugState& d = vm.debug;
  // RF is cleared at the start of every instruction, after the breakpoint check (SDM 17.3.1.1).
  bool rf = c.eflags & flag::RF;
  c.eflags &= ~flag::RF;
  d.rf_taken = rf;
  d.rf_eip = c.eip;
  bool shadowed = d.shadow && d.shadow_eip == c.eip;
  d.shadow = false;
  if (!d.exec_mask || rf || shadowed) return;
  uint32_t linear = c.seg[CS].base + c.eip, bits = 0;
  for (int n = 0; n < 4; ++n)
    if ((d.exec_mask >> n & 1) && d.exec_addr[n] == linear) bits |= 1u << n;
  // The one fault that pushes RF as it is (0 here): the handler sets it in the frame to go on.
  if (bits) raiseDebugFault(vm, bits, false);
}

bool deliverDebugTrap(Machine::Impl& vm) {
  CpuState& c = vm.cpu;
  GuestDebugState& d = vm.debug;
  bool shadowed = d.shadow && d.shadow_eip == c.eip;
  if (!shadowed) d.shadow = false;
  if (!d.pending) return false;
  if (shadowed) {  // one more instruction first; its traps join these
    vm.single_insn_next = true;
    return false;
  }
  reportInDr6(c, d.pending);
  enterDebugHandler(vm);
  vm.pending = PendingException{kVecDB, 0, false, false, true, c.eip};
  d.pending = 0;
  deliverPending(vm);
  vm.delivering = -1;
  return true;
}

void armSingleStep(Machine::Impl& vm, bool armed) { vm.debug.step_armed = armed; }

void finishSingleStep(Machine::Impl& vm) {
  if (vm.debug.step_armed) vm.debug.pending |= dr6::BS;
  vm.debug.step_armed = false;
}

void debugAfterJump(Machine::Impl& vm, int why) {
  if (why == kJumpException) {
    // The instruction did not complete: no trap for it (SDM 17.3.1.4, and data breakpoints).
    vm.debug.pending = 0;
    vm.debug.step_armed = false;
  } else if (why == kJumpContinue) {
    finishSingleStep(vm);
  } else {
    vm.debug.step_armed = false;  // re-run alone (kJumpRetrySingle) or the end of the run
    if (why == kJumpRetrySingle && vm.debug.rf_taken && vm.debug.rf_eip == vm.cpu.eip) vm.cpu.eflags |= flag::RF;
  }
}

void inhibitDebugTraps(Machine::Impl& vm, uint32_t next_eip) {
  vm.debug.shadow = true;
  vm.debug.shadow_eip = next_eip;
}

void leaveMidRepeat(Machine::Impl& vm) {
  // The instruction is not done: a trap or an interrupt taken now pushes RF = 1 (SDM 17.3.1.1),
  // and its resumption is no new start, so no instruction breakpoint fires on it.
  vm.cpu.eflags |= flag::RF;
  leaveToDispatcher(vm, kJumpContinue);
}

void raiseIcebp(Machine::Impl& vm, uint32_t next_eip) {
  enterDebugHandler(vm);
  vm.pending = PendingException{kVecDB, 0, false, false, true, next_eip};
  leaveToDispatcher(vm, kJumpException);
}

}  // namespace btvm
