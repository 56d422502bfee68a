// The machine's insides, shared by the files of emu/ (never included outside emu/).
#pragma once
#include <algorithm>
#include <csetjmp>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "dbt/dbt.h"
#include "dbt/helper_info.h"
#include <time.h>

#include "emu/console.h"
#include "emu/debug/journal_serial.h"
#include "emu/cpu/cpu_model.h"
#include "emu/cpu/debug_state.h"
#include "emu/devices/debugcon.h"
#include "emu/devices/devices.h"
#include "emu/devices/mmio_bus.h"
#include "emu/devices/pc_platform.h"
#include "emu/machine.h"
#include "mmu/mmu.h"
#include "patcher/trace.h"

namespace btvm {

using HelperResultCode = uint64_t;  // HelperResult (helpers.h): kNext or kEipSet

// Why the dispatcher regained control through longjmp.
enum JumpReason : int {
  kJumpNone = 0,
  kJumpException = 1,  // deliver vm.pending through the IDT
  kJumpContinue = 2,   // state is complete (eip set): continue at the dispatcher
  kJumpRetrySingle = 3, // a write hit translated code: re-run this instruction alone
  kJumpStop = 4,       // the run is over: vm.result says how
};

struct PendingException {
  uint8_t vector;
  uint32_t error;
  bool has_error;
  bool software;      // INT n / INT3 / INTO: gate DPL checked, no RF
  bool trap;          // the saved EIP is return_eip (traps); faults save CpuState::eip
  uint32_t return_eip;
  bool external = false;  // a device interrupt taken through the PIC (no instruction caused it)
  bool rf = false;        // push EFLAGS with RF = 1 (#DB of general detect, a fault)
};

struct VmStats {
  uint64_t exceptions[256] = {};
  uint64_t exits_block_end = 0, exits_budget = 0, exits_indirect_miss = 0, exits_helper = 0,
           exits_exception = 0, exits_smc = 0;
  uint64_t dispatcher_lookups = 0, jcache_misses = 0;
  uint64_t helper_exits_continued = 0;  // block-ending helpers that went on in translated code
  std::map<std::string, uint64_t> unimplemented_ud;  // #UD raised because btvm lacks it
  uint64_t unassigned_io = 0;
  // Accesses to physical memory that nothing backs (no RAM, ROM or device), by 64 KiB region:
  // reads, writes. They read all-ones and drop writes, as on a PC.
  struct Unassigned { uint64_t reads = 0, writes = 0; };
  std::map<uint32_t, Unassigned> unassigned_mem;
  // The region counted last (map nodes do not move): a REP STOS into nothing costs no lookup.
  uint32_t unassigned_last_region = UINT32_MAX;
  Unassigned* unassigned_last = nullptr;
  uint64_t sensitive[2][5] = {};  // [0 privileged, 1 sensitive][Handling]
  uint64_t traps = 0;             // full exits to the VMM (--mode trap/patch)
  uint64_t trap_ns = 0;           // time the dispatcher spent emulating them
};

// The virtual state a traced instruction may read or change, captured before it runs.
struct TraceSnapshot {
  uint32_t regs[8], eflags, cr0, cr3, cr4;
  uint16_t sel[6], ldtr, tr;
  uint8_t cpl;
  TableReg gdtr, idtr;
};

struct OpenTraceEvent {
  bool open = false;
  HelperId helper;
  Handling how;
  uint32_t eip;
  uint32_t cs_base;  // CS as the instruction ran: where its bytes are and how they decode
  bool code16;
  TraceSnapshot before;
  std::vector<std::pair<uint32_t, uint32_t>> writes;  // (linear, value) stored by the helper
  std::vector<unsigned> write_sizes;
};

// A write that the slow path redirected into a bounce buffer (page-crossing or outside RAM),
// performed by mem_commit after the instruction's store.
struct BouncedWrite {
  bool pending = false;
  bool mmio = false;  // phys[0] is a device register: one write of len[0] bytes on the MMIO bus
  uint64_t phys[2];
  uint32_t len[2];
  alignas(8) uint8_t data[16];
};

class GdbStub;
class SnapshotHistory;

// What modeFlags (emu/block_key.cpp) computed last, and the state it read: the dispatcher and
// every block-ending helper ask for the flags, which rarely change between two asks.
struct ModeFlagsMemo {
  bool valid = false;
  uint32_t flags = 0;
  uint32_t cr0 = 0, cr4 = 0, vm_flag = 0;
  uint8_t cpl = 0;
  uint32_t base[6] = {}, limit[6] = {}, attr[6] = {};
  bool seg_valid[6] = {};
};

struct Machine::Impl {
  explicit Impl(const MachineConfig& c);

  MachineConfig config;
  std::unique_ptr<CpuState> cpu_owner;
  CpuState& cpu;
  PhysMemory mem;
  Mmu mmu;
  std::unique_ptr<HostMmu> host_mmu;  // --mmu host only (mmu/host_mmu.h)
  IoBus io;
  MmioBus mmio;  // device registers outside RAM (local APIC, I/O APIC)
  HostConsole console;  // the host end of COM1 (before platform, which holds a pointer to it)
  std::unique_ptr<JournalSerial> journal_serial;  // --record/--replay: COM1's input journaled
  SerialInput& serial;  // what the UART and the dispatcher ask for input: one of the two above
  PcPlatform platform;
  CpuModel model;
  std::unique_ptr<Dbt> dbt;
  std::unique_ptr<GdbStub> gdb;  // null without -s/-gdb: every hook is one null test
  std::unique_ptr<SnapshotHistory> history;  // --snapshot-every (emu/debug/snapshot.h), else null
  // Translated code stops exactly at the next device event (virtual clock with --record,
  // --replay or --snapshot-every): see the dispatcher.
  bool exact_budget = false;

  std::jmp_buf jmp;
  bool jmp_armed = false;
  PendingException pending{};
  int delivering = -1;        // vector being delivered, for double/triple fault escalation
  bool single_insn_next = false;
  bool in_single_insn = false;
  bool in_translated = false;  // translated code is running (a longjmp leaves it mid-block)
  RunResult result{};
  uint64_t executed = 0;
  BouncedWrite bounce;
  VmStats stats;

  // Virtualization modes and traces.
  std::unique_ptr<TraceWriter> trace;
  uint64_t trace_seq = 0;
  OpenTraceEvent trace_event;
  bool in_trap = false;        // the dispatcher is emulating a trapped instruction
  int depriv_saved_cpl = -1;   // --mode trap: the virtual CPL while a helper runs at real CPL 3
  bool probing_deprivileged = false;  // a fault now is the VMM's trap, not a guest event
  int64_t budget_start = 0;    // CpuState::icount_budget when translated code was entered

  // External interrupts and the clock.
  uint64_t host_start_ns = 0;  // --clock host: host monotonic time at power-on
  uint64_t idle_ns = 0;        // virtual time skipped while the guest sat in HLT
  uint64_t idle_wakeups = 0;   // HLTs ended by a device interrupt
  bool flush_code = false;     // the A20 gate moved: drop every translation at the dispatcher
  bool shadow_pending = false; // STI / MOV SS / POP SS: no interrupt before the next instruction
  uint32_t shadow_eip = 0;     // ... which starts here
  bool nmi_pending = false;    // an NMI was raised (APIC) and not yet delivered
  bool nmi_blocked = false;    // an NMI handler runs: further NMIs wait for its IRET
  GuestDebugState debug;       // DR7's breakpoints decoded, debug traps due (emu/cpu/debug_regs.h)
  ModeFlagsMemo mode_memo;
  std::unique_ptr<DebugCon> debugcon;
};

inline Machine::Impl& vmOf(CpuState* cpu) { return *static_cast<Machine::Impl*>(cpu->vm); }

// Ends the current instruction and returns to the dispatcher (never returns).
[[noreturn]] void raiseException(Machine::Impl& vm, uint8_t vector, uint32_t error, bool has_error);
[[noreturn]] void raiseSoftwareInterrupt(Machine::Impl& vm, uint8_t vector, uint32_t next_eip);
[[noreturn]] void leaveToDispatcher(Machine::Impl& vm, JumpReason why);
[[noreturn]] void stopRun(Machine::Impl& vm, ExitKind kind, int status, std::string message);

// Traces (trace_events.cpp): around a privileged or sensitive helper, and when it faults.
void traceBegin(Machine::Impl& vm, HelperId h, Handling how);
void traceEnd(Machine::Impl& vm, const char* fault = nullptr);
// Privilege class of a helper's instruction: cls::kPrivileged, cls::kSensitive or 0.
uint16_t helperClass(HelperId h);
// The helper as a deprivileged kernel meets it on real hardware (deprivileged.cpp).
HelperResultCode runDeprivileged(Machine::Impl& vm, HelperId h, const hinfo::Info& i, uint32_t arg);
// Runs helper `h` as `how` (trace, statistics, exit after SMC); helpers.cpp.
uint64_t runHelper(Machine::Impl& vm, HelperId h, const hinfo::Info& i, uint32_t arg, Handling how);

// Guest instructions retired before the current one (exact inside blocks too): RDTSC's clock.
inline uint64_t retiredInsns(const Machine::Impl& vm) {
  return vm.executed + uint64_t(vm.budget_start - vm.cpu.icount_budget) - vm.cpu.insns_after - 1;
}

inline uint64_t hostMonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

// btvm's clock (ns since power-on). Virtual: 1 ns per instruction retired plus the time idled
// in HLT. Host (--clock host): the host's monotonic time, so guest timers run at wall speed.
inline uint64_t nowNs(const Machine::Impl& vm) {
  if (vm.config.host_clock) {
    uint64_t t = hostMonotonicNs() - vm.host_start_ns;
    return vm.config.journal ? vm.config.journal->clock(t) : t;  // --record/--replay
  }
  return (vm.in_translated ? retiredInsns(vm) : vm.executed) + vm.idle_ns;
}

// --record/--replay (emu/debug/journal_hooks.cpp): the RTC's epoch at power-on (the host's date
// under --clock host, journaled), and the journal hooked to this machine's count and stop.
int64_t rtcEpoch(const MachineConfig& c);
void attachJournal(Machine::Impl& vm);
inline bool replaying(const Machine::Impl& vm) { return vm.config.journal && vm.config.journal->replaying(); }

// Makes translated code leave to the dispatcher at the next block boundary (an interrupt may
// have become deliverable). The budget and its start move together, so the count stays exact.
inline void requestDispatcher(Machine::Impl& vm) {
  int64_t b = vm.cpu.icount_budget;
  if (b <= 0) return;
  vm.cpu.icount_budget = 0;
  vm.budget_start -= b;
  vm.cpu.tsc_base -= uint64_t(b);
}

// Time to the next device event, in the budget's units (0: due now; INT64_MAX: none). The
// dispatcher stops translated code there; deviceRegisterWritten checks the budget against it.
inline int64_t insnsToNextEvent(const Machine::Impl& vm) {
  uint64_t next = vm.platform.nextEventNs(), now = nowNs(vm);
  if (next == PcPlatform::kNever) return INT64_MAX;
  return next > now ? int64_t(std::min<uint64_t>(next - now, uint64_t(INT64_MAX))) : 0;
}

// A device register was written from translated code (MMIO): an interrupt may now be
// deliverable, or a timer's next event may have moved before the end of the budget that the
// dispatcher set from the old one. Leave at the next block boundary only then: Linux rewrites
// HPET comparators some 150,000 times in a boot, and each needless dispatcher visit costs more
// than the write.
inline void deviceRegisterWritten(Machine::Impl& vm) {
  if (!(vm.cpu.eflags & flag::IF)) return;  // the dispatcher sets no event deadline then
  if (vm.platform.interruptPending()) return requestDispatcher(vm);
  if (insnsToNextEvent(vm) < vm.cpu.icount_budget) requestDispatcher(vm);
}

// CpuState::tsc_base for inline RDTSC: retiredInsns + idle_ns + the TSC offset, less what the
// budget register and the instruction's position supply at run time.
inline void refreshTscBase(Machine::Impl& vm) {
  vm.cpu.tsc_base = vm.model.tsc(vm.executed + uint64_t(vm.budget_start) + vm.idle_ns);
}

// STI (from IF=0), MOV SS and POP SS hold off interrupts until the next instruction has run.
inline void inhibitInterrupts(Machine::Impl& vm, uint32_t next_eip) {
  vm.shadow_pending = true;
  vm.shadow_eip = next_eip;
}

// Takes an external interrupt if the guest has IF=1, the PIC has one and no shadow holds it off
// (interrupts.cpp). Returns true if one was delivered.
bool takeExternalInterrupt(Machine::Impl& vm);

// Delivers vm.pending through the IDT (interrupts.cpp); escalates to #DF and triple fault.
void deliverPending(Machine::Impl& vm);

// Current EFLAGS with IOPL etc. (CpuState::eflags is complete whenever the VMM runs).
inline uint32_t eflagsOf(const CpuState& c) { return c.eflags | flag::kFixed1; }

// The dispatcher hooks for translated code (guest_access.cpp, helpers_*.cpp).
DbtHooks makeDbtHooks();

}  // namespace btvm
