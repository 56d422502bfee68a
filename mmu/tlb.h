// Soft TLB entry layout: shared by mmu/ (which fills and flushes it) and by the one access path in
// dbt/ (which probes it inline). Direct-mapped, one array per privilege class (supervisor, user).
#pragma once
#include <cstdint>

namespace btvm {

// 1024 entries per class: with 256, Linux's kernel working set missed ~55 M times per boot on
// conflicts. The inline probe extracts the index with RORX + SHRX (no flags), any width works.
constexpr int kTlbBits = 10;
constexpr uint32_t kTlbSize = 1u << kTlbBits;  // index = bits 12..21 of the linear address
constexpr uint32_t kTlbInvalidTag = 0xffffffffu; // never equals a page number (< 2^20)

// A tag holds the linear page number (linear >> 12) for which the access kind is allowed without a
// slow path. Write tags are left invalid for watched pages (code pages, guest page tables, MMIO), so
// every write to them reaches the VMM.
struct TlbEntry {
  uint32_t tag_read;
  uint32_t tag_write;
  uint64_t addend;  // host address = addend + linear address
};
static_assert(sizeof(TlbEntry) == 16, "the inline probe scales the index by 16");

struct SoftTlb {
  TlbEntry entry[2][kTlbSize];  // [0] supervisor (CPL 0-2), [1] user (CPL 3)
};

// A page just became watched (translated code, or a guest page table): writes through entries
// filled before must take the slow path from now on.
inline void dropWriteTags(SoftTlb& tlb, const uint8_t* host_page) {
  for (auto& arr : tlb.entry)
    for (auto& e : arr)
      if (e.tag_write != kTlbInvalidTag && e.addend + (uint64_t(e.tag_write) << 12) == reinterpret_cast<uint64_t>(host_page))
        e.tag_write = kTlbInvalidTag;
}

}  // namespace btvm
