// The memory-mapped device bus: physical ranges outside RAM that devices answer (the local
// APIC at 0xfee00000, the I/O APIC at 0xfec00000). Accesses arrive with their own size (1, 2
// or 4 bytes) and an offset into the range; an address no device claims reads all-ones and
// drops writes, as RAM's unassigned bus does. A range can move or vanish (the local APIC
// follows IA32_APIC_BASE).
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

namespace btvm {

class MmioBus {
 public:
  using Read = std::function<uint32_t(uint32_t offset, unsigned size)>;
  using Write = std::function<void(uint32_t offset, unsigned size, uint32_t value)>;
  // Returns a handle for move().
  size_t add(uint64_t base, uint32_t length, Read r, Write w);
  // Puts range `handle` at `base`; `enabled` false takes it off the bus.
  void move(size_t handle, uint64_t base, bool enabled);
  // False when no device claims [addr, addr + size): the read gives all-ones.
  bool read(uint64_t addr, unsigned size, uint32_t* value) const;
  bool write(uint64_t addr, unsigned size, uint32_t value) const;

 private:
  struct Range {
    uint64_t base;
    uint32_t length;
    bool enabled;
    Read read;
    Write write;
  };
  const Range* find(uint64_t addr, unsigned size) const;
  std::vector<Range> ranges_;
};

}  // namespace btvm
