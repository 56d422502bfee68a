// Guest page-table writes under exact shadow tables, kept cheap (Mmu::tableWriteBegin/End,
// invlpg, prefill). The shadow never holds a translation the guest's tables no longer give, so:
// - a write that changes no translation (the same value, A or D being set, ignored bits)
//   drops nothing: no shadow entry, no soft-TLB entry, no host mapping goes;
// - a changed PTE is re-derived at once by a walk that writes nothing (`peek`: every level
//   present with A set, or the entry goes) and each host view where the page was mapped is
//   changed in one system call (HostMmu::remap) instead of an unmap and a later fault + mmap;
// - a changed directory entry drops its span (one system call per view);
// - INVLPG of an entry that still matches the guest's tables keeps it (and its mapping);
// - demand paging: when a write gives the page of the last true #PF a translation, the caller
//   maps it right away (prefill), so that the retried access does not fault again.
// A cleared A or D is a change (sameTranslation): the next access must set it again, so a
// translation is never kept or made where a walk would have to write the tables.
#include <algorithm>
#include <cstring>

#include "mmu/mmu.h"

namespace btvm {

namespace {
constexpr uint32_t kP = 1, kRW = 2, kUS = 4, kA = 0x20, kD = 0x40, kPS = 0x80, kG = 0x100;
constexpr uint32_t kCr0WP = 1u << 16, kCr0PG = 1u << 31, kCr4PSE = 1u << 4, kCr4PGE = 1u << 7;
}  // namespace

bool Mmu::peek(const ShadowKey& k, uint32_t vpn, ShadowEntry* e, uint64_t* pd_page, uint64_t* pt_page) const {
  if (k.pae) return peekPae(k, vpn, e, pd_page, pt_page);
  uint32_t linear = vpn << 12;
  uint64_t pde_addr = ((k.cr3 & 0xfffff000u) + ((linear >> 22) << 2)) & a20_mask_;
  uint32_t pde = mem_.read32(pde_addr);
  if (!(pde & kP) || !(pde & kA)) return false;
  bool big = (pde & kPS) && (cpu_.cr4 & kCr4PSE);
  uint32_t pte = pde;
  uint64_t pte_addr = 0;
  if (big) {
    if (pde & 0x003fe000u) return false;  // reserved bits of a 4 MiB PDE: the walk faults
  } else {
    pte_addr = ((pde & 0xfffff000u) + (((linear >> 12) & 0x3ff) << 2)) & a20_mask_;
    pte = mem_.read32(pte_addr);
    if (!(pte & kP) || !(pte & kA)) return false;
  }
  uint64_t phys = big ? (pde & 0xffc00000u) | (linear & 0x003fffffu) : (pte & 0xfffff000u);
  *e = ShadowEntry{uint32_t((phys & a20_mask_) >> 12), (pde & kRW) && (pte & kRW), (pde & kUS) && (pte & kUS),
                   (pte & kD) != 0, (cpu_.cr4 & kCr4PGE) && (pte & kG)};
  *pd_page = pde_addr & ~uint64_t(kPageMask);
  *pt_page = big ? ~0ull : pte_addr & ~uint64_t(kPageMask);
  return true;
}

// What a view may map of entry `e` (as Mmu::fill decides it): the user view nothing of a
// supervisor page; writable only with the right (CR0.WP for the supervisor), D set, and the
// page not watched. Makes the page resident (--host-mem) if it maps it.
HostProt Mmu::hostProt(const ShadowEntry& e, int view) const {
  uint64_t page = uint64_t(e.phys_page) << 12;
  if (!mem_.contains(page, kPageSize) || (view == 1 && !e.user)) return HostProt::None;
  bool may_write = view == 1 ? e.writable : e.writable || !(cpu_.cr0 & kCr0WP);
  mem_.host(page);
  return may_write && e.dirty && !mem_.isWatched(page) ? HostProt::ReadWrite : HostProt::Read;
}

// The bytes of the entries a table write touches, [tw_.start, tw_.start + tw_.n) of its page.
void Mmu::readEntries(uint8_t* out) {
  uint64_t at = tw_.page + tw_.start;
  if (mem_.contains(at, tw_.n)) {
    std::memcpy(out, mem_.host(at), tw_.n);
    return;
  }
  for (uint32_t i = 0; i < tw_.n; ++i) out[i] = mem_.read8(at + i);
}

void Mmu::tableWriteBegin(uint64_t paddr, uint32_t len) {
  uint32_t off = uint32_t(paddr & kPageMask);
  tw_.page = paddr & ~uint64_t(kPageMask);
  tw_.start = off & ~7u;
  uint32_t end = std::min<uint32_t>((off + len + 7) & ~7u, kPageSize);
  tw_.n = end - tw_.start;
  if (tw_.n > sizeof tw_.before) {  // longer than any one store: drop what it covers afterwards
    tw_.n = 0;
    tw_.start = off;
    tw_.fallback_len = len;
    return;
  }
  tw_.fallback_len = 0;
  readEntries(tw_.before);
}

void Mmu::tableWriteEnd() {
  uint64_t before = shadow_.stats.invalidated + shadow_.stats.updated;
  auto flood_check = [&] {
    bool changed = shadow_.stats.invalidated + shadow_.stats.updated != before;
    shadow_.noteTableWrite(tw_.page, changed);
    return changed;
  };
  if (tw_.fallback_len) {
    tableWritten(tw_.page + tw_.start, std::exchange(tw_.fallback_len, 0));
    flood_check();
    return;
  }
  if (tw_.n == 0) return;
  uint8_t* after = tw_.after;
  readEntries(after);
  if (host_) host_->beginBatch();  // pages that go, go in runs
  shadow_.tableUpdated(
      tw_.page, tw_.start, tw_.n, tw_.before, after, [this](const void* id, uint32_t vpn) { updateInPlace(id, vpn); },
      [this](uint32_t vpn) { flushPage(vpn << 12); });
  if (!flood_check()) ++shadow_.stats.writes_kept;
  if (host_) host_->endBatch();
  tw_.n = 0;
  // Demand paging: did this write give the faulting page a translation?
  if (pf_.valid && !pf_.ready && host_ && (cpu_.cr0 & kCr0PG) && pf_.ctx == shadow_.currentId()) {
    ShadowEntry e;
    uint64_t pd, pt;
    if (const ShadowKey* k = shadow_.keyOf(pf_.ctx); k && peek(*k, pf_.vpn, &e, &pd, &pt)) pf_.ready = true;
  }
}

void Mmu::updateInPlace(const void* id, uint32_t vpn) {
  const ShadowKey* k = shadow_.keyOf(id);
  if (!k) return;
  ShadowEntry e;
  uint64_t pd, pt;
  if (host_) host_->translationChanged(id, vpn);
  if (!peek(*k, vpn, &e, &pd, &pt)) {
    shadow_.eraseIn(id, vpn);  // not present, or A cleared: the next access walks
  } else {
    shadow_.replaceIn(id, vpn, e, pd, pt);
    for (uint64_t page : shadow_.takeNewlyWatched())
      if (mem_.contains(page, kPageSize)) dropWriteTags(cpu_.tlb, mem_.base() + page);
    if (host_)
      for (int view = 0; view < 2; ++view)
        if (host_->mappedIn(id, vpn, view)) host_->remap(id, vpn, view, e.phys_page, hostProt(e, view));
  }
  if (id == shadow_.currentId()) flushPage(vpn << 12);  // the soft TLB refills from the shadow
}

bool Mmu::invlpgKeeps(uint32_t vpn) {
  if (!(cpu_.cr0 & kCr0PG)) return false;
  selectSpace();
  const ShadowEntry* cur = shadow_.find(vpn);
  ShadowEntry e;
  uint64_t pd, pt;
  if (!cur || !peek(currentKey(), vpn, &e, &pd, &pt)) return false;
  return e.phys_page == cur->phys_page && e.writable == cur->writable && e.user == cur->user && e.dirty == cur->dirty;
}

void Mmu::notePageFault(uint32_t linear, bool user) {
  pf_ = PendingFault{true, false, user, linear >> 12, shadow_.currentId()};
}

bool Mmu::takeDemandRetry(uint32_t* linear, bool* user) {
  if (!pf_.ready) return false;
  *linear = pf_.vpn << 12;
  *user = pf_.user;
  pf_.ready = false;
  return true;
}

// As the retried access's walk and fill would do it, minus the table writes it does not need.
void Mmu::prefill(uint32_t linear, bool user) {
  const void* ctx = pf_.ctx;
  pf_.valid = false;
  if (!(cpu_.cr0 & kCr0PG)) return;
  selectSpace();
  if (shadow_.currentId() != ctx) return;
  ShadowEntry e;
  uint64_t pd, pt;
  if (!peek(currentKey(), linear >> 12, &e, &pd, &pt) || (user && !e.user)) return;
  uint64_t phys = uint64_t(e.phys_page) << 12;
  if (!mem_.contains(phys, kPageSize)) return;
  remember(linear, e, user, pd, pt);
  fill(linear, phys, Access::Read, user);
  ++shadow_.stats.prefilled;
}

}  // namespace btvm
