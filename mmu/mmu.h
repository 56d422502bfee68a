// The MMU's face: "translate this guest linear address for this access at this privilege" and
// "these guest pages changed". Owns the soft TLB's contents (its layout is in tlb.h because the
// translator probes it inline) and the guest page walk.
#pragma once
#include <cstdint>

#include "emu/cpu/cpu_state.h"
#include "mmu/phys_memory.h"
#include "mmu/shadow.h"

namespace btvm {

enum class Access : uint8_t { Read, Write, Exec };

struct MmuStats {
  uint64_t tlb_misses = 0;     // soft-TLB fills by the slow path
  uint64_t tlb_flushes = 0;
  uint64_t page_walks = 0;     // walks of the guest's page tables
  uint64_t hidden_faults = 0;  // slow-path misses the VMM resolved without the guest seeing them
  uint64_t true_faults = 0;    // #PF delivered to the guest
};

class Mmu {
 public:
  // shadow_capacity: guest address spaces whose shadow tables are kept (0: only the current one).
  Mmu(CpuState& cpu, PhysMemory& mem, unsigned shadow_capacity = 8);

  // Linear -> physical for an access by code running at `user` privilege. On a page fault returns
  // false and sets *pf_error to the #PF error code (the caller sets CR2 and raises the fault).
  bool translate(uint32_t linear, Access kind, bool user, uint64_t* phys, uint32_t* pf_error);

  // After a successful translate: lets the inline probe answer this page directly next time, when
  // the page is plain RAM (writes: and holds no translated code).
  void fill(uint32_t linear, uint64_t phys, Access kind, bool user);

  void flushAll();                 // the soft TLB only
  void flushPage(uint32_t linear); // the soft TLB only

  // Changes of the guest's paging state (from MOV to CRn and INVLPG).
  void cr3Written();               // selects the shadow tables cached for the new CR3
  void pagingModeChanged();        // CR0.PG/WP or CR4 changed: every shadow table is stale
  void invlpg(uint32_t linear);
  // A guest write to [paddr, paddr+len) of a page-table page (PhysMemory::isTablePage).
  void tableWritten(uint64_t paddr, uint32_t len);

  MmuStats stats;
  const ShadowStats& shadowStats() const { return shadow_.stats; }

 private:
  bool walk(uint32_t linear, bool write, bool user, uint64_t* phys, uint32_t* pf_error);

  CpuState& cpu_;
  PhysMemory& mem_;
  ShadowTables shadow_;
};

}  // namespace btvm
