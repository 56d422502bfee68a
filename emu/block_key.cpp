#include "emu/block_key.h"

#include "emu/cpu/debug_regs.h"
#include "mmu/segments.h"

namespace btvm {

bool codePhys(CpuState* cpu, uint32_t linear, bool raise, uint64_t* phys);

namespace {

uint32_t computeModeFlags(const Machine::Impl& vm) {
  const CpuState& c = vm.cpu;
  uint32_t f = c.cpl & block_flag::kCplMask;
  if (realStyleSegments(c)) f |= block_flag::kRealMode;  // with CPL 3: v8086 mode
  if (!(c.seg[CS].attr & attr::kDB)) f |= block_flag::kCode16;
  if (!(c.seg[SS].attr & attr::kDB)) f |= block_flag::kStack16;
  for (int s = 0; s < 6; ++s) {
    if (segmentIsFlat(c.seg[s], false)) f |= 1u << (block_flag::kFlatShift + s);
    if (segmentIsFlat(c.seg[s], true)) f |= 1u << (block_flag::kFlatWriteShift + s);
    if (c.seg[s].base != 0) {
      Segment at0 = c.seg[s];
      at0.base = 0;
      if (segmentIsFlat(at0, false)) f |= 1u << (block_flag::kBasedShift + s);
      if (segmentIsFlat(at0, true)) f |= 1u << (block_flag::kBasedWriteShift + s);
    }
  }
  if (c.cr0 & 0x80000000u) f |= block_flag::kPaging;
  if (vm.config.stats) f |= block_flag::kCountTlb;
  if (!vm.config.host_clock && (!(c.cr4 & 4) || c.cpl == 0)) f |= block_flag::kInlineTsc;  // CR4.TSD
  return f;
}

// The flags read CR0 (PE, PG), CR4 (TSD), EFLAGS.VM, the CPL and each segment's base, limit,
// attributes and validity; --stats and --clock are fixed for the run.
bool memoMatches(const ModeFlagsMemo& m, const CpuState& c) {
  if (!m.valid || m.cr0 != c.cr0 || m.cr4 != c.cr4 || m.cpl != c.cpl || m.vm_flag != (c.eflags & flag::VM)) return false;
  for (int s = 0; s < 6; ++s)
    if (m.base[s] != c.seg[s].base || m.limit[s] != c.seg[s].limit || m.attr[s] != c.seg[s].attr ||
        m.seg_valid[s] != c.seg[s].valid)
      return false;
  return true;
}

}  // namespace

uint32_t modeFlags(Machine::Impl& vm) {
  const CpuState& c = vm.cpu;
  ModeFlagsMemo& m = vm.mode_memo;
  if (memoMatches(m, c)) return m.flags;
  m.flags = computeModeFlags(vm);
  m.cr0 = c.cr0;
  m.cr4 = c.cr4;
  m.cpl = c.cpl;
  m.vm_flag = c.eflags & flag::VM;
  for (int s = 0; s < 6; ++s) {
    m.base[s] = c.seg[s].base;
    m.limit[s] = c.seg[s].limit;
    m.attr[s] = c.seg[s].attr;
    m.seg_valid[s] = c.seg[s].valid;
  }
  m.valid = true;
  return m.flags;
}

bool currentBlockKey(Machine::Impl& vm, bool raise, BlockKey* key) {
  CpuState& c = vm.cpu;
  if (c.eip > c.seg[CS].limit) {
    if (raise) raiseException(vm, kVecGP, 0, true);
    return false;
  }
  uint64_t phys;
  uint32_t linear = c.seg[CS].base + c.eip;
  if (!codePhys(&c, linear, raise, &phys)) return false;
  // Chains to another page check the soft-TLB entry of the target's page (Dbt::chainLastExit):
  // keep the code page's entry valid so that those checks pass after a flush.
  // Not for a watched page, whose data accesses must all take the slow path.
  if ((c.cr0 & 0x80000000u) && !linearPageWatched(vm, linear)) {
    bool user = c.cpl == 3;
    if (c.tlb.entry[user][(linear >> 12) & (kTlbSize - 1)].tag_read != linear >> 12)
      vm.mmu.fill(linear, phys, Access::Exec, user);
  }
  *key = BlockKey{c.eip, c.seg[CS].base, phys, modeFlags(vm)};
  return true;
}

}  // namespace btvm
