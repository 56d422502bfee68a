// The MMU's face: "translate this guest linear address for this access at this privilege" and
// "these guest pages changed". Owns the soft TLB's contents (its layout is in tlb.h because the
// translator probes it inline) and the guest page walk.
#pragma once
#include <functional>
#include <cstdint>
#include <utility>

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

  // No cached translation may outlive these: the soft TLB, and under --mmu host the host
  // mappings of every address space too.
  void flushAll();
  void flushPage(uint32_t linear); // the soft TLB only (INVLPG drops the host mapping too)
  // A RAM page leaves host memory (--host-mem): no host pointer to it may stay cached.
  void physPageGone(uint64_t paddr);

  // --mmu host (mmu/host_mmu.h): fills also map pages in the host MMU's spaces, whose bases
  // follow the address space (CpuState::host_base). Call once, before the guest runs.
  void attachHost(HostMmu* host);
  HostMmu* host() const { return host_; }
  // Linear pages that must never be mapped (gdb watchpoints, the guest's data breakpoints: every
  // access there takes the slow path). fill() is told for its own page; mapping around it asks
  // this. Setting one later flushes every mapping (the caller's duty, as for fill's page).
  void setLinearWatch(std::function<bool(uint32_t linear)> watched) { linear_watched_ = std::move(watched); }

  // PAE paging (mmu/pae.cpp). MOV to CR3 with PAE paging on, and MOV to CR0/CR4 that leaves it on
  // and changes CR0.PG/CD/NW or CR4.PAE/PGE/PSE, load the PDPTE registers from the PDPT at `cr3`
  // (the value being written) before the register changes. Returns false, loading nothing, when a
  // present PDPTE has a reserved bit set: the instruction then raises #GP(0) and changes nothing.
  bool loadPdptes(uint32_t cr3);
  // 36: the P6's physical address width (CPUID must agree). Bits above it are reserved in PAE
  // entries; so is bit 63 (no execute-disable on a P6).
  static constexpr unsigned kMaxPhysAddrBits = 36;

  // Changes of the guest's paging state (from MOV to CRn and INVLPG).
  void cr3Written();               // selects the shadow tables cached for the new CR3
  // MOV to CR3 or a task switch's CR3: as cr3Written, but soft-TLB entries of global pages
  // (G with CR4.PGE) stay, as they stay in a real TLB. Chained jumps between pages of kernel
  // code check the soft TLB (emitPageCheck), so they then survive process switches.
  void cr3Loaded();
  void pagingModeChanged();        // CR4.PAE/PSE changed: every shadow table is stale
  void invlpg(uint32_t linear);
  // The A20 gate (port 0x92, the i8042's output port). Closed, physical address bit 20 reads 0
  // for every access, page-table reads included. Drops every cached translation when it changes.
  void setA20(bool enabled);
  bool a20() const { return a20_mask_ & (1u << 20); }
  // A guest write to [paddr, paddr+len) of a page-table page (PhysMemory::isTablePage), made
  // already: drops every entry derived from the bytes written.
  void tableWritten(uint64_t paddr, uint32_t len);
  // The same, in place (mmu/table_update.cpp): Begin before the write (it keeps the entries'
  // old contents; [paddr, paddr+len) within one page), End after it. A write that
  // changes no translation drops nothing; a changed PTE is re-derived and its host mappings
  // changed in one system call; a directory entry drops its span in one.
  void tableWriteBegin(uint64_t paddr, uint32_t len);
  void tableWriteEnd();
  // Demand paging: the last true #PF's page has a translation now (the guest's handler wrote
  // its PTE, with A set) in the address space where it faulted. Returns its linear address and
  // privilege once; the caller then calls prefill (unless the page is watched by linear
  // address), so that the retried access finds the page mapped instead of faulting again.
  bool takeDemandRetry(uint32_t* linear, bool* user);
  void prefill(uint32_t linear, bool user);

  MmuStats stats;
  const ShadowStats& shadowStats() const { return shadow_.stats; }

 private:
  bool walk(uint32_t linear, bool write, bool user, uint64_t* phys, uint32_t* pf_error);
  bool walkPae(uint32_t linear, bool write, bool user, uint64_t* phys, uint32_t* pf_error);
  void selectSpace();            // makes the shadow context the current address space's
  void selectHostSpace();        // the host MMU follows (paging off: its own space)
  void flushSoft(bool keep_global = false);  // the soft TLB only
  ShadowKey currentKey() const;  // the address space CR3 (and in PAE mode the PDPTEs) select
  // The translation the guest's tables give linear page `vpn` in address space `k`, for a walk
  // that would write nothing (every level present with A set; D as the last level has it), or
  // false. Reads only (mmu/table_update.cpp).
  bool peek(const ShadowKey& k, uint32_t vpn, ShadowEntry* e, uint64_t* pd_page, uint64_t* pt_page) const;
  bool peekPae(const ShadowKey& k, uint32_t vpn, ShadowEntry* e, uint64_t* pd_page, uint64_t* pt_page) const;
  void updateInPlace(const void* id, uint32_t vpn);  // a PTE changed: re-derive entry and mappings
  void readEntries(uint8_t* out);  // the current table write's entries (tw_), as they are now
  HostProt hostProt(const ShadowEntry& e, int view) const;
  bool invlpgKeeps(uint32_t vpn);  // the entry still matches the guest's tables
  void notePageFault(uint32_t linear, bool user);
  // After a successful walk: remember it and watch the table pages it read.
  void remember(uint32_t linear, const ShadowEntry& e, bool user, uint64_t pd_page, uint64_t pt_page);

  CpuState& cpu_;
  PhysMemory& mem_;
  ShadowTables shadow_;
  // The address space selectSpace last switched the shadow tables to.
  bool space_valid_ = false, space_pae_ = false;
  uint32_t space_cr3_ = 0;
  uint64_t space_pdpte_[4] = {};
  // The last successful translate found the page writable at that privilege with D already set:
  // a read fill may then open the write tag too (the first write needs no walk). Global: the
  // fill is kept across CR3 loads. Large: from a 4 MiB / 2 MiB page (a fill maps around it).
  bool last_writable_ = false, writable_user_ = false, last_global_ = false, last_large_ = false;
  uint32_t writable_vpn_ = 0;
  void noteTranslation(uint32_t linear, bool user, bool w, bool global, bool large) {
    last_writable_ = w;
    last_global_ = global;
    last_large_ = large;
    writable_vpn_ = linear >> 12;
    writable_user_ = user;
  }
  // The last translation was of linear page `vpn` for this privilege (what noteTranslation
  // keeps holds for it).
  bool lastTranslated(uint32_t vpn, bool user) const { return writable_vpn_ == vpn && writable_user_ == user; }
  // Indices (user class + kTlbSize) of the TLB entries filled since the last flush, non-global
  // and global ones apart (a CR3 load clears only the first list).
  static constexpr uint32_t kFilledMax = 512;
  struct FilledList {
    uint16_t index[kFilledMax];
    uint32_t count = kFilledMax + 1;  // unknown contents: the first flush clears everything
    void add(uint16_t i) {
      if (count < kFilledMax) index[count] = i;
      if (count <= kFilledMax) ++count;
    }
  };
  FilledList filled_, filled_global_;
  uint64_t a20_mask_ = ~0ull;  // ~(1 << 20) while the A20 gate is closed
  HostMmu* host_ = nullptr;
  std::function<bool(uint32_t)> linear_watched_;
  // Paging off under --mmu host: a fill maps the eligible RAM pages around its own in the same
  // aligned group of kAroundPages too, in runs (mmu/mmu.cpp).
  static constexpr uint32_t kAroundPages = 32;
  void mapAroundIdentity(uint32_t vpn, bool user);
  // Paging on: the same for a translation from a large page (physically contiguous, one PDE
  // for all): each page mapped around gets its shadow entry, as a walk would give it.
  void mapAroundLarge(uint32_t vpn, bool user);
  // The loop both share: each other page of `vpn`'s group that is not mapped in the view nor
  // under a linear watch is offered to `page(v, &ppn)`, which says where it may be
  // mapped and how (HostProt::None: not at all); runs of consecutive frames with the same
  // rights are mapped with one call each.
  template <typename F>
  void mapGroup(uint32_t vpn, bool user, F page);
  // The entries a table write touches (tableWriteBegin), 8-byte aligned, as they were.
  struct TableWrite {
    uint64_t page = 0;
    uint32_t start = 0, n = 0;
    uint32_t fallback_len = 0;  // a write too long to keep: tableWritten at the end
    uint8_t before[kPageSize], after[kPageSize];  // a whole page: REP STOS over a table
  } tw_;
  // The last true #PF (demand paging: takeDemandRetry).
  struct PendingFault {
    bool valid = false, ready = false, user = false;
    uint32_t vpn = 0;
    const void* ctx = nullptr;
  } pf_;
};

}  // namespace btvm
