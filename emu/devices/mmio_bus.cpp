#include "emu/devices/mmio_bus.h"

namespace btvm {

size_t MmioBus::add(uint64_t base, uint32_t length, Read r, Write w) {
  ranges_.push_back(Range{base, length, true, std::move(r), std::move(w)});
  return ranges_.size() - 1;
}

void MmioBus::move(size_t handle, uint64_t base, bool enabled) {
  ranges_[handle].base = base;
  ranges_[handle].enabled = enabled;
}

const MmioBus::Range* MmioBus::find(uint64_t addr, unsigned size) const {
  for (const Range& r : ranges_)
    if (r.enabled && addr >= r.base && addr + size <= r.base + r.length) return &r;
  return nullptr;
}

bool MmioBus::read(uint64_t addr, unsigned size, uint32_t* value) const {
  const Range* r = find(addr, size);
  if (!r) {
    *value = size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
    return false;
  }
  *value = r->read ? r->read(uint32_t(addr - r->base), size) : 0;
  return true;
}

bool MmioBus::write(uint64_t addr, unsigned size, uint32_t value) const {
  const Range* r = find(addr, size);
  if (!r) return false;
  if (r->write) r->write(uint32_t(addr - r->base), size, value);
  return true;
}

}  // namespace btvm
