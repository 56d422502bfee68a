// The host MMU as the shadow page table (--mmu host; DESIGN.md "One access path", mechanism 2).
//
// Every address space the MMU knows (a shadow context, mmu/shadow.h, or "paging off") owns a
// *space*: two reservations of 4 GiB of host address space plus a guard page (PROT_NONE,
// MAP_NORESERVE), each between larger guards (kLowGuardBytes, kHighGuardBytes), one per view: [0] what supervisor code may touch, [1] what user code may.
// Guest linear page L of a view is host page base + L. Pages are mapped there, one at a time, onto
// the memory file that backs guest RAM (PhysMemory shareable) when the soft TLB takes the same
// translation (Mmu::fill), with the rights that fill gave the soft TLB: writable only where its
// write tag opened (the guest allows the write at that privilege, D is already set, the page is
// not watched: no page table, translated code, ROM window). MMIO and addresses outside RAM are
// never mapped. Translated code addresses a flat segment's byte at L as [base + L] (a 32-bit
// zero-extended L, or an unwrapped sum of one register and a small displacement that stays in
// the guards, so nothing outside the reservation is reachable); whatever is not mapped
// faults, and dbt/host_fault.h sends the access to its soft slow path, which walks, raises #PF,
// emulates watched writes and MMIO, and maps the page for next time.
//
// So a mapping is a cached soft-TLB fill that survives CR3 switches. It is dropped whenever the
// soft TLB entry could not have survived either: its shadow entry dropped (a guest page-table
// write, INVLPG; the shadow is exact), its context forgotten, the page watched or evicted
// (--host-mem), or a flush of everything (CR0.WP, PAM, A20, paging format, gdb watchpoints).
// Reservations are never returned to the host while the machine lives (a forgotten context's is
// cleared and reused), so CpuState::host_base always points into one.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "emu/cpu/cpu_state.h"
#include "mmu/phys_memory.h"

namespace btvm {

struct HostMmuStats {
  uint64_t spaces_reserved = 0;  // reservations of 2 x 4 GiB made
  uint64_t pages_mapped = 0;     // mmap calls for guest pages
  uint64_t pages_unmapped = 0;   // single pages dropped (shadow drops, watches, evictions)
  uint64_t spaces_cleared = 0;   // whole spaces dropped at once
  uint64_t budget_resets = 0;    // everything dropped to stay below vm.max_map_count
  uint64_t map_failures = 0;     // mmap refused (the slow path answered instead)
  // System calls that change mappings (each costs microseconds in a sandbox: bench/results/mmu.md)
  uint64_t mmap_calls = 0;       // a guest page mapped or mapped over (memfd, MAP_FIXED)
  uint64_t unmap_calls = 0;      // PROT_NONE mmaps: one page, a run of pages, or a whole space
  uint64_t mprotect_calls = 0;   // a mapped page's rights changed in place
  uint64_t pages_remapped = 0;   // mapped over in place by a page-table write (no unmap, no refault)
  uint64_t pages_churning = 0;   // linear pages left to the soft TLB (translationChanged)
};

// What a page may be mapped as in one view.
enum class HostProt : uint8_t { None, Read, ReadWrite };

class HostMmu {
 public:
  // Reserves the space for "paging off" and selects it. `mem` must be shareable (memFd() >= 0).
  // map_budget: pages mapped at once before every space is cleared (0: from vm.max_map_count).
  HostMmu(PhysMemory& mem, CpuState& cpu, uint64_t map_budget = 0);
  ~HostMmu();
  HostMmu(const HostMmu&) = delete;
  HostMmu& operator=(const HostMmu&) = delete;

  // 4 GiB of linear addresses and one guard page: the largest access (8 bytes) that starts at
  // 0xffffffff ends in the guard, never past the reservation. That much is mapped and cleared.
  static constexpr uint64_t kGuardBytes = 4096;
  static constexpr uint64_t kReserveBytes = (1ull << 32) + kGuardBytes;
  // Around it, never mapped: without GS (dbt/emit_access.cpp, folds) translated code addresses
  // [base + reg * scale + disp] without wrapping the guest's sum to 32 bits, |disp| < 2^28, so a
  // sum below 0 or past 2^32 - 1 lands up to 2 GiB below the view or 32 GiB + 2^28 past its
  // start, in PROT_NONE, and takes the slow path, which wraps.
  static constexpr uint64_t kLowGuardBytes = 1ull << 31;
  static constexpr uint64_t kHighGuardBytes = (7ull << 32) + (1ull << 31) + kGuardBytes;
  static constexpr uint64_t kViewBytes = kLowGuardBytes + (1ull << 32) + kHighGuardBytes;

  // Makes the space of `id` current (a shadow context's address, or nullptr for paging off),
  // reserving it on first use, and points CpuState::host_base at its views.
  void select(const void* id);
  // No address space selected (paging on, shadow contexts just dropped): host_base points at a
  // space that is never mapped, so every access faults to the slow path, which selects one.
  void selectNone();
  // The soft TLB just took linear page `vpn` -> RAM page `ppn` for this privilege class; map it
  // in the current space's view, writable or read-only.
  void map(uint32_t vpn, uint64_t ppn, bool user, bool writable);
  // Maps `count` linear pages from `vpn` onto the RAM pages from `ppn` in one system call, in
  // the current space's view (none of them mapped there yet; the caller has checked that each
  // may be mapped so). False, and nothing mapped, if it cannot (the map budget, a failure).
  bool mapRun(uint32_t vpn, uint64_t ppn, uint32_t count, bool user, bool writable);
  // A shadow entry of space `id` was dropped: unmap that linear page in both views.
  void unmap(const void* id, uint32_t vpn);
  // A page-table write changed the translation of linear page `vpn` of space `id`: make its
  // mapping in `view` (0 supervisor, 1 user) RAM page `ppn` with rights `prot`, in one system
  // call (mmap over it, mprotect when only the rights change, PROT_NONE when it goes). Only
  // views where the page is mapped are changed (mmu/host_mmu_update.cpp).
  void remap(const void* id, uint32_t vpn, int view, uint64_t ppn, HostProt prot);
  bool mappedIn(const void* id, uint32_t vpn, int view) const;
  // Linear pages [first, first + count) of space `id` go in both views: one PROT_NONE mmap per
  // view over the mapped pages' span (a directory entry's 4 MiB in one call).
  void unmapRange(const void* id, uint32_t first, uint32_t count);
  // Between these, single pages that go are only noted, and go at endBatch in runs of
  // adjacent pages, one PROT_NONE mmap per run (a REP STOS over live PTEs). Any mapping made
  // in between makes the noted ones go first. Nothing may touch guest memory through the
  // spaces before endBatch (callers: Mmu::tableWriteEnd, which runs no guest code).
  void beginBatch() { batching_ = true; }
  void endBatch();
  // A page-table write changed the translation of `vpn` in space `id`. A page whose
  // translation keeps changing (kChurnLimit times since the space was last switched to, so
  // without another address space running in between) is left to the soft TLB there: it is
  // never mapped again there, so its PTE changes cost no system call, and the sites that touch
  // it fault without a mapping and are sent to the soft TLB (dbt/host_fault.h) after a few.
  void translationChanged(const void* id, uint32_t vpn);
  static constexpr uint8_t kChurnLimit = 4;
  // The space of `id` is gone (its shadow context forgotten): clear it for reuse. nullptr:
  // clear the "paging off" space (the A20 gate moved).
  void forget(const void* id);
  // RAM page at `paddr` became watched or leaves host memory: unmap it wherever it is mapped.
  void dropPhys(uint64_t paddr);
  void clearAll();  // every space, every page

  // Whether the page of the last map() call is mapped so that an access of that kind runs
  // without a fault (the fault handler's heuristic: dbt/host_fault.h). Clears the record.
  bool takeLastMapped(bool write) {
    uint32_t m = last_map_;
    last_map_ = 0;
    return (m & kValidBit) && (!write || (m & kWritableBit));
  }
  // Where the current space's views start (what host_base holds).
  uint8_t* base(bool user) const { return current_->base[user ? 1 : 0]; }
  uint64_t pagesMapped() const { return mapped_total_; }
  // True if linear page `vpn` is mapped in the current space's view (tests).
  bool mapped(uint32_t vpn, bool user) const { return current_->mapped[user ? 1 : 0].count(vpn) != 0; }

  HostMmuStats stats;

 private:
  struct Space {
    uint8_t* base[2] = {nullptr, nullptr};
    std::unordered_map<uint32_t, uint32_t> mapped[2];  // vpn -> ppn | kWritableBit
    std::unordered_map<uint32_t, uint8_t> churn;       // vpn -> translation changes (to kChurnLimit)
  };
  bool churning(const Space* s, uint32_t vpn) const {
    auto it = s->churn.find(vpn);
    return it != s->churn.end() && it->second >= kChurnLimit;
  }
  struct Where {
    Space* space;
    uint32_t vpn;
    uint8_t view;
    bool operator==(const Where&) const = default;
  };
  Space* takeSpace();
  void clearSpace(Space* s);
  void unmapOne(Space* s, int view, uint32_t vpn);
  // Mapped page `vpn` of view `view` becomes `ppn`, writable or not, in one system call (false:
  // it failed and the page is unmapped now).
  bool replaceOne(Space* s, int view, uint32_t vpn, uint64_t ppn, bool writable);
  void forgetWhere(uint32_t ppn, const Where& w);
  bool mmapPage(uint8_t* at, uint64_t ppn, bool writable);

  static constexpr uint32_t kWritableBit = 1u << 31;  // ppn < 2^24 (36-bit physical addresses)
  static constexpr uint32_t kValidBit = 1u << 30;
  PhysMemory& mem_;
  CpuState& cpu_;
  uint32_t last_map_ = 0;  // what the last map() left mapped (| kValidBit), for lastMapped()
  std::vector<Space*> all_;   // every reservation made (freed in the destructor only)
  std::vector<Space*> free_;  // cleared, not in use
  std::unordered_map<const void*, Space*> by_id_;
  Space* current_ = nullptr;
  Space* limbo_ = nullptr;    // never mapped: current while no address space is selected
  std::unordered_map<uint32_t, std::vector<Where>> where_;  // RAM page -> its mappings
  uint64_t mapped_total_ = 0;
  uint64_t map_budget_ = 0;  // pages mapped at once, from vm.max_map_count
  bool disabled_ = false;    // mmap failed even after a reset: the slow path answers everything
  bool batching_ = false;
  struct Gone {
    Space* space;
    uint8_t view;
    uint32_t vpn;
  };
  std::vector<Gone> gone_;   // unmapped in the books, still mapped in the host (batch)
  void flushGone();
};

}  // namespace btvm
