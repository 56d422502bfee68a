#include "mmu/mmu.h"

namespace btvm {

namespace {
constexpr uint32_t kPteP = 1, kPteRW = 2, kPteUS = 4, kPteA = 0x20, kPteD = 0x40, kPtePS = 0x80;
constexpr uint32_t kCr0WP = 1u << 16, kCr0PG = 1u << 31, kCr4PSE = 1u << 4;
}  // namespace

Mmu::Mmu(CpuState& cpu, PhysMemory& mem) : cpu_(cpu), mem_(mem) { flushAll(); }

// Two-level walk (SDM Vol. 3A 4.3). Rights combine over both levels: the access is allowed only if
// both entries allow it. Accessed bits are set on every level walked, the dirty bit on writes.
bool Mmu::translate(uint32_t linear, Access kind, bool user, uint64_t* phys, uint32_t* pf_error) {
  if (!(cpu_.cr0 & kCr0PG)) {
    *phys = linear;
    return true;
  }
  ++stats.page_walks;
  bool write = kind == Access::Write;
  uint32_t err_base = (write ? 2u : 0u) | (user ? 4u : 0u);
  uint64_t pde_addr = (cpu_.cr3 & 0xfffff000u) + ((linear >> 22) << 2);
  uint32_t pde = mem_.read32(pde_addr);
  if (!(pde & kPteP)) { *pf_error = err_base; return false; }
  bool big = (pde & kPtePS) && (cpu_.cr4 & kCr4PSE);
  uint32_t pte = pde;
  uint64_t pte_addr = 0;
  if (!big) {
    pte_addr = (pde & 0xfffff000u) + (((linear >> 12) & 0x3ff) << 2);
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
  if (big) {
    if (write && !(pde & kPteD)) mem_.write32(pde_addr, pde | kPteA | kPteD);
    *phys = (pde & 0xffc00000u) | (linear & 0x003fffffu);
  } else {
    uint32_t npte = pte | kPteA | (write ? kPteD : 0);
    if (npte != pte) mem_.write32(pte_addr, npte);
    *phys = (pte & 0xfffff000u) | (linear & 0xfffu);
  }
  return true;
}

void Mmu::fill(uint32_t linear, uint64_t phys, Access kind, bool user) {
  uint64_t page = phys & ~uint64_t(kPageMask);
  if (!mem_.contains(page, kPageSize)) return;  // outside RAM: always the slow path
  TlbEntry& e = cpu_.tlb.entry[user ? 1 : 0][(linear >> 12) & (kTlbSize - 1)];
  uint32_t vpn = linear >> 12;
  if (e.tag_read != vpn && e.tag_write != vpn) e.tag_read = e.tag_write = kTlbInvalidTag;
  e.addend = reinterpret_cast<uint64_t>(mem_.base() + page) - (uint64_t(vpn) << 12);
  bool paging = cpu_.cr0 & kCr0PG;
  if (kind == Access::Write) {
    if (mem_.isCodePage(page)) return;
    e.tag_write = vpn;
    e.tag_read = vpn;
  } else {
    e.tag_read = vpn;
    // Without paging every RAM page is writable; with paging the write right is checked by a walk
    // on the first write (which also sets the dirty bit).
    if (!paging && !mem_.isCodePage(page)) e.tag_write = vpn;
  }
  ++stats.tlb_misses;
}

void Mmu::flushAll() {
  ++stats.tlb_flushes;
  for (auto& arr : cpu_.tlb.entry)
    for (auto& e : arr) e = TlbEntry{kTlbInvalidTag, kTlbInvalidTag, 0};
}

void Mmu::flushPage(uint32_t linear) {
  for (auto& arr : cpu_.tlb.entry) {
    TlbEntry& e = arr[(linear >> 12) & (kTlbSize - 1)];
    if (e.tag_read == (linear >> 12) || e.tag_write == (linear >> 12))
      e = TlbEntry{kTlbInvalidTag, kTlbInvalidTag, 0};
  }
}

}  // namespace btvm
