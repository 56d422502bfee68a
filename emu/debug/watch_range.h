// A watched range of linear addresses: what gdb's watchpoints (Z2-Z4) and the guest's own data
// breakpoints (DR0-DR3 with DR7.R/W = 01 or 11) have in common. Pages that hold one never get a
// soft-TLB entry, so every access to them reaches the slow path, which asks hits().
#pragma once
#include <cstdint>

namespace btvm {

struct WatchRange {
  uint32_t addr = 0;
  uint32_t len = 0;     // bytes, at least 1
  bool reads = false;   // an access that only reads hits
  bool writes = false;  // an access that writes (read-modify-write included) hits

  // The access [linear, linear + size) of this kind overlaps the range (64-bit sums: a range or
  // an access that ends at 4 GiB does not wrap to 0).
  bool hits(uint32_t linear, unsigned size, bool write) const {
    if (!(write ? writes : reads)) return false;
    return uint64_t(linear) < uint64_t(addr) + len && uint64_t(addr) < uint64_t(linear) + size;
  }
  // The range has a byte on the 4 KiB linear page that holds `linear`.
  bool onPage(uint32_t linear) const {
    uint32_t page = linear >> 12;
    return page >= (addr >> 12) && page <= uint32_t((uint64_t(addr) + len - 1) >> 12);
  }
};

}  // namespace btvm
