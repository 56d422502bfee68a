// PAE paging (SDM Vol. 3A 4.4) as a P6 does it: CR3 bits 31:5 point at four PDPTEs, which are
// loaded into registers at the moments the SDM lists (4.4.1) and read from there, never from
// memory, by the walk; then 64-bit PDEs (PS=1: a 2 MiB page, whatever CR4.PSE says) and PTEs.
// Physical addresses are 36 bits wide; a P6 has neither execute-disable nor PAT, so bit 63 and
// the PAT bits are reserved like the bits above MAXPHYADDR. A reserved bit in a present entry
// is a #PF with P and RSVD set (4.7), found before any access-rights check.
#include "mmu/mmu.h"

#include <algorithm>

namespace btvm {

namespace {

constexpr uint64_t kP = 1, kRW = 2, kUS = 4, kA = 0x20, kD = 0x40, kPS = 0x80, kG = 0x100;
constexpr uint32_t kCr4PGE = 1u << 7;
constexpr uint32_t kCr0WP = 1u << 16;
constexpr uint32_t kErrP = 1, kErrW = 2, kErrU = 4, kErrRsvd = 8;

constexpr uint64_t kAboveMaxPhys = ~((uint64_t(1) << Mmu::kMaxPhysAddrBits) - 1);  // 63:36
constexpr uint64_t kAddr4K = ~kAboveMaxPhys & ~uint64_t(0xfff);
constexpr uint64_t kAddr2M = ~kAboveMaxPhys & ~uint64_t(0x1fffff);
// CPUID.1:EDX.PAT = 0 on a Pentium II, so the PAT bits are reserved (SDM tables 4-9 and 4-11):
// bit 7 of a PTE, bit 12 of a 2 MiB PDE. Were PAT ever offered, these two go.
constexpr uint64_t kPatPte = 0x80, kPatBigPde = 0x1000;
constexpr uint64_t kRsvdPdpte = kAboveMaxPhys | 0x1e6;  // and bits 2:1, 8:5 (table 4-8)
constexpr uint64_t kRsvdPde = kAboveMaxPhys;            // a PDE that references a page table
constexpr uint64_t kRsvdBigPde = kAboveMaxPhys | 0x1fe000 | kPatBigPde;  // and bits 20:13
constexpr uint64_t kRsvdPte = kAboveMaxPhys | kPatPte;

// Entries are 8-byte aligned, so both halves are in one page. Outside RAM both read all-ones,
// which has reserved bits set: a table "above RAM" faults rather than mapping anything.
uint64_t read64(PhysMemory& m, uint64_t a) { return m.read32(a) | uint64_t(m.read32(a + 4)) << 32; }

}  // namespace

bool Mmu::loadPdptes(uint32_t cr3) {
  uint64_t pdpt = cr3 & 0xffffffe0u & a20_mask_;
  uint64_t e[4];
  for (int i = 0; i < 4; ++i) {
    e[i] = read64(mem_, pdpt + 8 * i);
    if ((e[i] & kP) && (e[i] & kRsvdPdpte)) return false;
  }
  std::copy(e, e + 4, cpu_.pdpte);
  return true;
}

// Rights combine over the PDE and the PTE (PAE PDPTEs have no R/W or U/S). A is set in the PDE
// and the PTE (or the 2 MiB PDE) of a successful translation, D in the last one on a write.
// A and D live in the low half of the 64-bit entry, so one 32-bit store of the re-read low half
// sets them without touching the high half: atomic as far as a single guest CPU can tell.
bool Mmu::walkPae(uint32_t linear, bool write, bool user, uint64_t* phys, uint32_t* pf_error) {
  ++stats.page_walks;
  uint32_t err = (write ? kErrW : 0u) | (user ? kErrU : 0u);
  uint64_t pdpte = cpu_.pdpte[linear >> 30];
  if (!(pdpte & kP)) { *pf_error = err; return false; }  // reserved bits were checked at load
  uint64_t pde_addr = ((pdpte & kAddr4K) + ((linear >> 21) & 0x1ff) * 8) & a20_mask_;
  uint64_t pde = read64(mem_, pde_addr);
  if (!(pde & kP)) { *pf_error = err; return false; }
  bool big = pde & kPS;
  if (pde & (big ? kRsvdBigPde : kRsvdPde)) { *pf_error = err | kErrP | kErrRsvd; return false; }
  uint64_t pte = pde, pte_addr = 0;
  if (!big) {
    pte_addr = ((pde & kAddr4K) + ((linear >> 12) & 0x1ff) * 8) & a20_mask_;
    pte = read64(mem_, pte_addr);
    if (!(pte & kP)) { *pf_error = err; return false; }
    if (pte & kRsvdPte) { *pf_error = err | kErrP | kErrRsvd; return false; }
  }
  bool rw = (pde & kRW) && (pte & kRW);
  bool us = (pde & kUS) && (pte & kUS);
  if (user && !us) { *pf_error = err | kErrP; return false; }
  if (write && !rw && (user || (cpu_.cr0 & kCr0WP))) { *pf_error = err | kErrP; return false; }
  if (!(pde & kA)) mem_.write32(pde_addr, uint32_t(pde | kA));
  bool dirty;
  if (big) {
    if (write && !(pde & kD)) mem_.write32(pde_addr, uint32_t(pde | kA | kD));
    dirty = write || (pde & kD);
    *phys = (pde & kAddr2M) | (linear & 0x1fffffu);
  } else {
    uint64_t npte = pte | kA | (write ? kD : 0);
    if (npte != pte) mem_.write32(pte_addr, uint32_t(npte));
    dirty = npte & kD;
    *phys = (pte & kAddr4K) | (linear & 0xfffu);
  }
  *phys &= a20_mask_;
  ShadowEntry e{uint32_t(*phys >> 12), rw, us, dirty, (cpu_.cr4 & kCr4PGE) && (pte & kG)};
  remember(linear, e, user, pde_addr & ~uint64_t(kPageMask), big ? ~0ull : pte_addr & ~uint64_t(kPageMask));
  return true;
}

// walkPae's answer for a walk that would write nothing (Mmu::peek, mmu/table_update.cpp): the
// PDPTEs of address space `k`, every level present with A set and no reserved bit, else false.
bool Mmu::peekPae(const ShadowKey& k, uint32_t vpn, ShadowEntry* e, uint64_t* pd_page, uint64_t* pt_page) const {
  uint32_t linear = vpn << 12;
  uint64_t pdpte = k.pdpte[linear >> 30];
  if (!(pdpte & kP)) return false;
  uint64_t pde_addr = ((pdpte & kAddr4K) + ((linear >> 21) & 0x1ff) * 8) & a20_mask_;
  uint64_t pde = read64(mem_, pde_addr);
  bool big = pde & kPS;
  if (!(pde & kP) || !(pde & kA) || (pde & (big ? kRsvdBigPde : kRsvdPde))) return false;
  uint64_t pte = pde, pte_addr = 0;
  if (!big) {
    pte_addr = ((pde & kAddr4K) + ((linear >> 12) & 0x1ff) * 8) & a20_mask_;
    pte = read64(mem_, pte_addr);
    if (!(pte & kP) || !(pte & kA) || (pte & kRsvdPte)) return false;
  }
  uint64_t phys = big ? (pde & kAddr2M) | (linear & 0x1fffffu) : (pte & kAddr4K);
  *e = ShadowEntry{uint32_t((phys & a20_mask_) >> 12), (pde & kRW) && (pte & kRW), (pde & kUS) && (pte & kUS),
                   (pte & kD) != 0, (cpu_.cr4 & kCr4PGE) && (pte & kG)};
  *pd_page = pde_addr & ~uint64_t(kPageMask);
  *pt_page = big ? ~0ull : pte_addr & ~uint64_t(kPageMask);
  return true;
}

}  // namespace btvm
