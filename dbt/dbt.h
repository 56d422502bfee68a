// The translator's face: find or build the block for a key, run translated code, chain blocks,
// and forget blocks whose guest bytes changed. The machine (emu/) owns the loop around it.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "dbt/budget.h"
#include "dbt/call_stack.h"
#include "dbt/block.h"
#include "dbt/runtime.h"
#include "emu/cpu/cpu_state.h"
#include "mmu/phys_memory.h"
#include "patcher/insn_table.h"
#include "patcher/modes.h"

namespace btvm {

// What translated code calls back into; provided by the machine.
struct DbtHooks {
  HelperFn mem_slow;      // (linear, memInfo) -> host pointer, flat segment: TLB miss path
  HelperFn mem_slow_seg;  // (offset, memInfo) -> host pointer, with segment checks
  HelperFn mem_commit;    // (0, memInfo): flush a bounced write after the instruction's store
  HelperFn raise_ud;      // (Capstone ID or 0 for undecodable, 0): #UD at state.eip
  HelperFn helpers[size_t(HelperId::Count)];
  HelperFn deprivileged[size_t(HelperId::Count)];  // --mode trap: what real hardware does
  // Physical address of the code page holding `linear`; raises the fetch fault (longjmp) when
  // `raise` is set, else returns false.
  bool (*code_phys)(CpuState* cpu, uint32_t linear, bool raise, uint64_t* phys);
};

struct DbtConfig {
  size_t code_cache_bytes = 64u << 20;
  bool log_in_asm = false;
  bool log_out_asm = false;
  uint32_t max_block_insns = 64;
  VirtMode mode = VirtMode::Translate;
  bool host_mmu = false;  // --mmu host: flat accesses go through the host MMU (dbt/host_fault.h)
  // Time the phases of each translation (DbtStats' *_ns): four clock reads per block, about
  // 20 ns each, so only --stats and the benchmarks ask for them.
  bool time_phases = false;
};

struct DbtStats {
  uint64_t blocks = 0, guest_insns = 0, guest_bytes = 0, code_bytes = 0;
  uint64_t decode_ns = 0, emit_ns = 0, install_ns = 0;  // 0 unless DbtConfig::time_phases
  uint64_t chains = 0, jcache_fills = 0, cache_flushes = 0, invalidated = 0, one_off_blocks = 0;
  std::map<std::string, uint64_t> unimplemented;  // mnemonic -> times translated as #UD
};

class Dbt {
 public:
  Dbt(CpuState& cpu, PhysMemory& mem, const DbtHooks& hooks, const DbtConfig& config);
  ~Dbt();

  Block* find(const BlockKey& key);
  // Builds a block of at most `max_insns` instructions (0: the configured maximum). A cached block
  // is registered for lookup, chaining and invalidation; a one-off block is used once.
  Block* translate(const BlockKey& key, uint32_t cs_limit, uint32_t max_insns, bool cached);
  // Runs translated code from `b` until it leaves; state is then in the CpuState.
  void run(const Block* b) {
    cpu_.budget_base = budgetBase();  // CpuState may have been reset since
    cpu_.call_rsp = callStackResume(&cpu_, cpu_.call_rsp, !running_);
    running_ = true;  // stays set when a helper leaves by longjmp
    stubs_.enter(&cpu_, b->code);
    running_ = false;
  }

  // Patches the exit that left last (cpu.last_exit) to jump straight to `target`.
  void chainLastExit(Block* target);
  void fillJumpCache(uint32_t eip, const Block* b);
  // Jump cache, return stack and inline caches (dbt/emit_predict.cpp): translated code is about
  // to run in this mode (a block key's flags and CS base); a flush starts a new epoch for all.
  void enterMode(uint32_t flags, uint32_t cs_base);
  void flushJumpCache();
  // The way on from a helper that ends its block (emu/helper_exit.h): the host code of the
  // jump-cache entry for `eip` in the current mode and epoch, or null; and the stub that leaves
  // to the dispatcher instead (as an unchained exit does, so that it fills the jump cache).
  const void* jumpCacheCode(uint32_t eip) const;
  const void* dispatcherExit() const { return stubs_.jcache_miss; }

  // Forgets every block with guest bytes in [paddr, paddr+len). Returns true if any.
  bool invalidate(uint64_t paddr, uint32_t len);
  // --mmu host: the block holding fault site `site` (host code) is forgotten and translated
  // again with the accesses of the instruction at `eip` (the site's) through the soft-TLB
  // probe (dbt/host_fault.h, kSoftAfter).
  void sendToSoftTlb(const uint8_t* site, uint32_t eip);
  void flushAll();

  bool codeCacheFull() const;
  const DbtStats& stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  CpuState& cpu_;
  RuntimeStubs stubs_;
  bool running_ = false;
};

}  // namespace btvm
