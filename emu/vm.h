// The machine's insides, shared by the files of emu/ (never included outside emu/).
#pragma once
#include <csetjmp>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "dbt/dbt.h"
#include "emu/devices.h"
#include "emu/machine.h"
#include "mmu/mmu.h"

namespace btvm {

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
};

struct VmStats {
  uint64_t exceptions[256] = {};
  uint64_t exits_block_end = 0, exits_budget = 0, exits_indirect_miss = 0, exits_helper = 0,
           exits_exception = 0, exits_smc = 0;
  uint64_t dispatcher_lookups = 0, jcache_misses = 0;
  std::map<std::string, uint64_t> unimplemented_ud;  // #UD raised because btvm lacks it
  uint64_t unassigned_io = 0;
};

// A write that the slow path redirected into a bounce buffer (page-crossing or outside RAM),
// performed by mem_commit after the instruction's store.
struct BouncedWrite {
  bool pending = false;
  uint64_t phys[2];
  uint32_t len[2];
  alignas(8) uint8_t data[16];
};

struct Machine::Impl {
  explicit Impl(const MachineConfig& c);

  MachineConfig config;
  std::unique_ptr<CpuState> cpu_owner;
  CpuState& cpu;
  PhysMemory mem;
  Mmu mmu;
  IoBus io;
  Uart16550 uart;
  std::unique_ptr<Dbt> dbt;

  std::jmp_buf jmp;
  bool jmp_armed = false;
  PendingException pending{};
  int delivering = -1;        // vector being delivered, for double/triple fault escalation
  bool single_insn_next = false;
  bool in_single_insn = false;
  RunResult result{};
  uint64_t executed = 0;
  BouncedWrite bounce;
  VmStats stats;
};

inline Machine::Impl& vmOf(CpuState* cpu) { return *static_cast<Machine::Impl*>(cpu->vm); }

// Ends the current instruction and returns to the dispatcher (never returns).
[[noreturn]] void raiseException(Machine::Impl& vm, uint8_t vector, uint32_t error, bool has_error);
[[noreturn]] void raiseSoftwareInterrupt(Machine::Impl& vm, uint8_t vector, uint32_t next_eip);
[[noreturn]] void leaveToDispatcher(Machine::Impl& vm, JumpReason why);
[[noreturn]] void stopRun(Machine::Impl& vm, ExitKind kind, int status, std::string message);

// Delivers vm.pending through the IDT (interrupts.cpp); escalates to #DF and triple fault.
void deliverPending(Machine::Impl& vm);

// Current EFLAGS with IOPL etc. (CpuState::eflags is complete whenever the VMM runs).
inline uint32_t eflagsOf(const CpuState& c) { return c.eflags | flag::kFixed1; }

// The dispatcher hooks for translated code (guest_access.cpp, helpers_*.cpp).
DbtHooks makeDbtHooks();

}  // namespace btvm
