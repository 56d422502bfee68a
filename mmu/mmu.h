// The MMU's face: "translate this guest linear address for this access at this privilege" and
// "these guest pages changed". Owns the soft TLB's contents (its layout is in tlb.h because the
// translator probes it inline) and the guest page walk.
#pragma once
#include <cstdint>

#include "emu/cpu_state.h"
#include "mmu/phys_memory.h"

namespace btvm {

enum class Access : uint8_t { Read, Write, Exec };

struct MmuStats {
  uint64_t tlb_misses = 0;   // slow-path translations (a fill follows when the page is plain RAM)
  uint64_t tlb_flushes = 0;
  uint64_t page_walks = 0;
};

class Mmu {
 public:
  Mmu(CpuState& cpu, PhysMemory& mem);

  // Linear -> physical for an access by code running at `user` privilege. On a page fault returns
  // false and sets *pf_error to the #PF error code (the caller sets CR2 and raises the fault).
  bool translate(uint32_t linear, Access kind, bool user, uint64_t* phys, uint32_t* pf_error);

  // After a successful translate: lets the inline probe answer this page directly next time, when
  // the page is plain RAM (writes: and holds no translated code).
  void fill(uint32_t linear, uint64_t phys, Access kind, bool user);

  void flushAll();                 // CR3 reload, CR0/CR4 paging changes, new code page
  void flushPage(uint32_t linear); // INVLPG

  MmuStats stats;

 private:
  CpuState& cpu_;
  PhysMemory& mem_;
};

}  // namespace btvm
