#include "mmu/mmu.h"

#include <algorithm>

namespace btvm {

namespace {
constexpr uint32_t kPteP = 1, kPteRW = 2, kPteUS = 4, kPteA = 0x20, kPteD = 0x40, kPtePS = 0x80, kPteG = 0x100;
constexpr uint32_t kCr0WP = 1u << 16, kCr0PG = 1u << 31, kCr4PSE = 1u << 4, kCr4PAE = 1u << 5, kCr4PGE = 1u << 7;
}  // namespace

Mmu::Mmu(CpuState& cpu, PhysMemory& mem, unsigned shadow_capacity)
    : cpu_(cpu), mem_(mem), shadow_(mem, shadow_capacity) {
  flushAll();
}

void Mmu::attachHost(HostMmu* host) {
  host_ = host;
  shadow_.attachHost(host);
  // Pages that become watched (translated code, page tables) lose their host mappings, which
  // would let writes bypass the VMM.
  mem_.setWatchHook([host](uint64_t paddr) { host->dropPhys(paddr); });
  selectHostSpace();
}

void Mmu::selectHostSpace() {
  if (!host_) return;
  if (!(cpu_.cr0 & kCr0PG)) host_->select(nullptr);
  else if (const void* id = shadow_.currentId()) host_->select(id);
  else host_->selectNone();  // paging on, no context yet (after dropAll): fault until one is
}

void Mmu::physPageGone(uint64_t paddr) {
  flushSoft();
  if (host_) host_->dropPhys(paddr);
}

// With paging, the shadow table of the current address space answers first; a walk of the guest's
// tables fills it, and also runs whenever the answer would be a fault or a write must set D, so
// faults and A/D bits are exactly those of the guest's tables.
bool Mmu::translate(uint32_t linear, Access kind, bool user, uint64_t* phys, uint32_t* pf_error) {
  if (!(cpu_.cr0 & kCr0PG)) {
    *phys = linear & a20_mask_;
    return true;
  }
  bool write = kind == Access::Write;
  last_writable_ = false;
  // The soft TLB first: it holds only current translations (dropped with the shadow entries
  // they came from), so a tag that allows this access gives the page without a table lookup.
  // The VMM's own accesses (exception frames, descriptor reads, IRET's pops) hit it mostly.
  const TlbEntry& t = cpu_.tlb.entry[user ? 1 : 0][(linear >> 12) & (kTlbSize - 1)];
  if ((write ? t.tag_write : t.tag_read) == linear >> 12) {
    *phys = t.addend + linear - reinterpret_cast<uint64_t>(mem_.base());
    return true;
  }
  selectSpace();
  if (const ShadowEntry* e = shadow_.find(linear >> 12)) {
    bool may_write = e->writable || (!user && !(cpu_.cr0 & kCr0WP));
    bool denied = (user && !e->user) || (write && !may_write);
    if (!denied && (!write || e->dirty)) {
      ++shadow_.stats.hits;
      noteTranslation(linear, user, may_write && e->dirty, e->global, e->large);
      *phys = (uint64_t(e->phys_page) << 12) | (linear & kPageMask);
      return true;
    }
  }
  bool ok = (cpu_.cr4 & kCr4PAE) ? walkPae(linear, write, user, phys, pf_error) : walk(linear, write, user, phys, pf_error);
  if (!ok) notePageFault(linear, user);
  return ok;
}

// Every translate needs the shadow context of the current address space; switching (building a
// ShadowKey, searching the LRU) costs more than the lookup itself, so it is done only when CR3,
// CR4.PAE or the PDPTE registers differ from those of the last switch, or after dropAll.
void Mmu::selectSpace() {
  bool pae = cpu_.cr4 & kCr4PAE;
  if (space_valid_ && cpu_.cr3 == space_cr3_ && pae == space_pae_ &&
      (!pae || std::equal(cpu_.pdpte, cpu_.pdpte + 4, space_pdpte_)))
    return;
  shadow_.switchTo(currentKey());
  selectHostSpace();
  space_valid_ = true;
  space_cr3_ = cpu_.cr3;
  space_pae_ = pae;
  std::copy(cpu_.pdpte, cpu_.pdpte + 4, space_pdpte_);
}

ShadowKey Mmu::currentKey() const {
  ShadowKey k{cpu_.cr3, (cpu_.cr4 & kCr4PAE) != 0};
  if (k.pae) std::copy(cpu_.pdpte, cpu_.pdpte + 4, k.pdpte);
  return k;
}

void Mmu::remember(uint32_t linear, const ShadowEntry& e, bool user, uint64_t pd_page, uint64_t pt_page) {
  noteTranslation(linear, user, (e.writable || (!user && !(cpu_.cr0 & kCr0WP))) && e.dirty, e.global,
                  pt_page == ~0ull);
  shadow_.insert(linear >> 12, e, pd_page, pt_page);
  for (uint64_t page : shadow_.takeNewlyWatched())
    if (mem_.contains(page, kPageSize)) dropWriteTags(cpu_.tlb, mem_.base() + page);
}

// Two-level walk (SDM Vol. 3A 4.3). Rights combine over both levels: the access is allowed only if
// both entries allow it. Accessed bits are set on every level walked, the dirty bit on writes.
bool Mmu::walk(uint32_t linear, bool write, bool user, uint64_t* phys, uint32_t* pf_error) {
  ++stats.page_walks;
  uint32_t err_base = (write ? 2u : 0u) | (user ? 4u : 0u);
  uint64_t pde_addr = ((cpu_.cr3 & 0xfffff000u) + ((linear >> 22) << 2)) & a20_mask_;
  uint32_t pde = mem_.read32(pde_addr);
  if (!(pde & kPteP)) { *pf_error = err_base; return false; }
  bool big = (pde & kPtePS) && (cpu_.cr4 & kCr4PSE);
  uint32_t pte = pde;
  uint64_t pte_addr = 0;
  if (!big) {
    pte_addr = ((pde & 0xfffff000u) + (((linear >> 12) & 0x3ff) << 2)) & a20_mask_;
    pte = mem_.read32(pte_addr);
    if (!(pte & kPteP)) { *pf_error = err_base; return false; }
  } else if (pde & 0x003fe000u) {  // reserved bits 13..21 of a 4 MiB PDE (no PSE-36)
    *pf_error = err_base | 1u | 8u;
    return false;
  }
  bool rw = (pde & kPteRW) && (pte & kPteRW);
  bool us = (pde & kPteUS) && (pte & kPteUS);
  if (user && !us) { *pf_error = err_base | 1u; return false; }
  if (write && !rw && (user || (cpu_.cr0 & kCr0WP))) { *pf_error = err_base | 1u; return false; }
  if (!(pde & kPteA)) mem_.write32(pde_addr, pde | kPteA);
  bool dirty;
  if (big) {
    if (write && !(pde & kPteD)) mem_.write32(pde_addr, pde | kPteA | kPteD);
    dirty = write || (pde & kPteD);
    *phys = (pde & 0xffc00000u) | (linear & 0x003fffffu);
  } else {
    uint32_t npte = pte | kPteA | (write ? kPteD : 0);
    if (npte != pte) mem_.write32(pte_addr, npte);
    dirty = npte & kPteD;
    *phys = (pte & 0xfffff000u) | (linear & 0xfffu);
  }
  *phys &= a20_mask_;
  ShadowEntry e{uint32_t(*phys >> 12), rw, us, dirty, (cpu_.cr4 & kCr4PGE) && (pte & kPteG)};
  remember(linear, e, user, pde_addr & ~uint64_t(kPageMask), big ? ~0ull : pte_addr & ~uint64_t(kPageMask));
  return true;
}

// The soft TLB holds the current address space only (and global pages); host spaces are kept
// per address space.
void Mmu::cr3Written() {
  selectSpace();
  selectHostSpace();  // CR0.PG may have changed without another space
  flushSoft();
}

void Mmu::cr3Loaded() {
  selectSpace();
  selectHostSpace();
  flushSoft(true);
}

void Mmu::pagingModeChanged() {
  shadow_.dropAll();
  pf_ = PendingFault{};
  space_valid_ = false;
  if (host_) host_->forget(nullptr);  // A20 changes what "paging off" maps too
  selectHostSpace();
  flushSoft();
}

void Mmu::setA20(bool enabled) {
  uint64_t mask = enabled ? ~0ull : ~uint64_t(1u << 20);
  if (mask == a20_mask_) return;
  a20_mask_ = mask;
  pagingModeChanged();
}

// The shadow is exact: an entry that still matches the guest's tables (mmu/table_update.cpp)
// stays, with its host mapping; INVLPG of a page that has none costs no system call.
void Mmu::invlpg(uint32_t linear) {
  if (invlpgKeeps(linear >> 12)) ++shadow_.stats.invlpg_kept;
  else shadow_.invalidatePage(linear >> 12);
  flushPage(linear);
}

void Mmu::tableWritten(uint64_t paddr, uint32_t len) {
  shadow_.tableWritten(paddr, len, [this](uint32_t vpn) { flushPage(vpn << 12); });
}

void Mmu::fill(uint32_t linear, uint64_t phys, Access kind, bool user) {
  uint64_t page = phys & ~uint64_t(kPageMask);
  if (!mem_.contains(page, kPageSize)) return;  // outside RAM: always the slow path
  uint8_t* host = mem_.host(page);               // makes the real page resident
  selectHostSpace();  // cheap, and keeps the host space right whatever changed CR0.PG
  TlbEntry& e = cpu_.tlb.entry[user ? 1 : 0][(linear >> 12) & (kTlbSize - 1)];
  uint32_t vpn = linear >> 12;
  if (e.tag_read != vpn && e.tag_write != vpn) e.tag_read = e.tag_write = kTlbInvalidTag;
  e.addend = reinterpret_cast<uint64_t>(host) - (uint64_t(vpn) << 12);
  bool paging = cpu_.cr0 & kCr0PG;
  if (kind == Access::Write) {
    if (mem_.isWatched(page)) {
      if (host_) host_->map(vpn, page >> 12, user, false);
      return;
    }
    e.tag_write = vpn;
    e.tag_read = vpn;
  } else {
    e.tag_read = vpn;
    // Without paging every RAM page is writable. With paging a write needs the right and the D
    // bit: open the write tag now only if the translation just made found both (else the first
    // write walks, which sets D).
    bool writable = !paging || (kind == Access::Read && last_writable_ && writable_vpn_ == vpn && writable_user_ == user);
    if (writable && !mem_.isWatched(page)) e.tag_write = vpn;
  }
  if (host_) {
    host_->map(vpn, page >> 12, user, e.tag_write == vpn);
    if (!paging) mapAroundIdentity(vpn, user);
    else mapAroundLarge(vpn, user);
  }
  bool global = paging && last_global_ && lastTranslated(vpn, user);
  (global ? filled_global_ : filled_).add(uint16_t((user ? kTlbSize : 0) + (vpn & (kTlbSize - 1))));
  ++stats.tlb_misses;
}

template <typename F>
void Mmu::mapGroup(uint32_t vpn, bool user, F page) {
  const uint32_t first = vpn & ~(kAroundPages - 1);
  uint32_t run = 0;
  uint64_t run_ppn = 0;
  HostProt run_prot = HostProt::None;
  for (uint32_t v = first; v <= first + kAroundPages; ++v) {
    uint64_t ppn = 0;
    HostProt prot = HostProt::None;
    if (v < first + kAroundPages && v != vpn && !host_->mapped(v, user) &&
        !(linear_watched_ && linear_watched_(v << 12)))
      prot = page(v, &ppn);
    if (run && (prot != run_prot || ppn != run_ppn + run)) {
      host_->mapRun(v - run, run_ppn, run, user, run_prot == HostProt::ReadWrite);
      run = 0;
    }
    if (prot == HostProt::None) continue;
    if (!run) {
      run_ppn = ppn;
      run_prot = prot;
    }
    ++run;
  }
}

// Paging off, the view maps guest-physical pages onto themselves, and code that touches one
// page (a kernel decompressing itself, a loader copying) nearly always goes on to the next:
// each page a first touch maps on its own costs a host fault and a mapping call (some 20 us on
// a paravirtualized host). So a fill maps every RAM page of its aligned group that may be
// mapped writable (not watched, not watched by linear address, not mapped yet) in one call
// per run of them. Not with the A20 gate closed (linear and physical pages differ) nor under
// --host-mem (each mapped page is made resident).
void Mmu::mapAroundIdentity(uint32_t vpn, bool user) {
  if (a20_mask_ != ~0ull || mem_.capped()) return;
  mapGroup(vpn, user, [&](uint32_t v, uint64_t* ppn) {
    uint64_t page = uint64_t(v) << 12;
    *ppn = v;
    return mem_.contains(page, kPageSize) && !mem_.isWatched(page) ? HostProt::ReadWrite : HostProt::None;
  });
}

// With paging on, Linux maps its low memory with large pages, and each process's address space
// (a host space of its own) faults the kernel's pages in again. Pages around a large page's
// are mapped as above, each with the shadow entry a walk that writes nothing gives it (`peek`:
// A set; D and the rights are the large page's), so that every invalidation finds them.
void Mmu::mapAroundLarge(uint32_t vpn, bool user) {
  if (!last_large_ || !lastTranslated(vpn, user) || mem_.capped()) return;
  const ShadowKey key = currentKey();
  mapGroup(vpn, user, [&](uint32_t v, uint64_t* ppn) {
    ShadowEntry e;
    uint64_t pd, pt;
    if (shadow_.find(v) || !peek(key, v, &e, &pd, &pt) || pt != ~0ull) return HostProt::None;
    HostProt prot = hostProt(e, user ? 1 : 0);
    if (prot == HostProt::None) return prot;
    shadow_.insert(v, e, pd, pt);
    *ppn = e.phys_page;
    return prot;
  });
  for (uint64_t page : shadow_.takeNewlyWatched())
    if (mem_.contains(page, kPageSize)) dropWriteTags(cpu_.tlb, mem_.base() + page);
}

// Only fill() makes entries valid, so a flush clears just the entries filled since the last one
// (a CR3 switch usually follows a few hundred fills), or the whole TLB when a list overflowed.
void Mmu::flushAll() {
  flushSoft();
  if (host_) host_->clearAll();
}

void Mmu::flushSoft(bool keep_global) {
  ++stats.tlb_flushes;
  TlbEntry* all = &cpu_.tlb.entry[0][0];
  bool everything = filled_.count > kFilledMax || (!keep_global && filled_global_.count > kFilledMax);
  if (everything) {
    for (auto& arr : cpu_.tlb.entry)
      for (auto& e : arr) e = TlbEntry{kTlbInvalidTag, kTlbInvalidTag, 0};
    filled_global_.count = 0;
  } else {
    auto clear = [all](const FilledList& l) {
      for (uint32_t i = 0; i < l.count; ++i) all[l.index[i]] = TlbEntry{kTlbInvalidTag, kTlbInvalidTag, 0};
    };
    clear(filled_);
    if (!keep_global) {
      clear(filled_global_);
      filled_global_.count = 0;
    }
  }
  filled_.count = 0;
}

void Mmu::flushPage(uint32_t linear) {
  for (auto& arr : cpu_.tlb.entry) {
    TlbEntry& e = arr[(linear >> 12) & (kTlbSize - 1)];
    if (e.tag_read == (linear >> 12) || e.tag_write == (linear >> 12))
      e = TlbEntry{kTlbInvalidTag, kTlbInvalidTag, 0};
  }
}

}  // namespace btvm
