#include "emu/helper_exit.h"

#include "emu/block_key.h"
#include "emu/cpu/debug_regs.h"
#include "emu/cpu/helpers.h"

namespace btvm {

namespace {

// What the dispatcher's loop does before the next block that translated code cannot do itself.
// Everything else the loop looks at reaches translated code through the budget: an interrupt
// that became deliverable (requestDispatcher), the instruction limit and the next device event
// (cut below). The interrupt shadow of STI, MOV SS and POP SS (vm.shadow_pending) needs no
// visit: an interrupt deliverable now left a zero budget; one that becomes due later reaches
// the dispatcher at a block entry, which is at the shadowed instruction (and then the shadow
// holds it off, as it should) only when that block does not fit in the budget.
bool dispatcherMustLook(const Machine::Impl& vm) {
  const CpuState& c = vm.cpu;
  const GuestDebugState& d = vm.debug;
  return vm.exact_budget            // --record/--replay/--snapshot-every: blocks cut at events
         || vm.gdb                  // breakpoints and steps are checked at every block
         || vm.config.log.exec      // -d exec traces every block start
         || vm.in_single_insn || vm.single_insn_next || vm.flush_code
         || c.halted                // HLT: the dispatcher sleeps until an interrupt
         || (c.eflags & flag::TF)   // single-step traps: one instruction per block
         || vm.nmi_pending          // IRET unblocked a waiting NMI
         || d.exec_mask || d.pending || d.shadow || d.step_armed
         || c.icount_budget <= 0;   // out of budget, or a deliverable interrupt waits
}

// With IF set the dispatcher stops translated code at the next device event; the helper may have
// set IF (STI, POPF, IRET) or moved the event (a timer's MSR): cut the budget to it as
// requestDispatcher cuts it to 0, keeping the count and the TSC exact.
void cutBudgetToNextEvent(Machine::Impl& vm) {
  CpuState& c = vm.cpu;
  if (!(c.eflags & flag::IF)) return;
  int64_t next = std::max<int64_t>(insnsToNextEvent(vm), 0);
  if (next >= c.icount_budget) return;
  int64_t cut = c.icount_budget - next;
  c.icount_budget = next;
  vm.budget_start -= cut;
  c.tsc_base -= uint64_t(cut);
}

}  // namespace

const void* continueAfterHelper(Machine::Impl& vm, HelperResultCode r, const hinfo::Info& i) {
  CpuState& c = vm.cpu;
  if (r == kNext) c.eip = nextEip(c, i);
  const void* out = vm.dbt->dispatcherExit();
  if (dispatcherMustLook(vm)) return out;
  cutBudgetToNextEvent(vm);
  if (c.icount_budget <= 0) return out;
  BlockKey key;
  if (!currentBlockKey(vm, false, &key)) return out;  // the fetch faults: the dispatcher raises it
  vm.dbt->enterMode(key.flags, key.cs_base);
  const void* code = vm.dbt->jumpCacheCode(key.eip);
  if (!code) {
    Block* b = vm.dbt->find(key);
    if (!b) return out;  // not translated yet: the dispatcher translates it
    vm.dbt->fillJumpCache(key.eip, b);
    code = b->code;
  }
  // What the dispatcher does as an instruction starts: RF (set by IRET from a fault's frame)
  // clears; with no instruction breakpoint enabled that is all it does here.
  checkInstructionBreakpoint(vm);
  ++vm.stats.helper_exits_continued;
  return code;
}

}  // namespace btvm
