#include "emu/devices/devices.h"

namespace btvm {

void IoBus::add(uint16_t first, uint16_t count, Read r, Write w) {
  ranges_.push_back(Range{first, count, std::move(r), std::move(w)});
}

bool IoBus::read(uint16_t port, unsigned size, uint32_t* value) const {
  for (const Range& r : ranges_)
    if (port >= r.first && port < r.first + r.count) {
      *value = r.read ? r.read(port, size) : 0xffffffffu;
      return true;
    }
  *value = size == 1 ? 0xff : size == 2 ? 0xffff : 0xffffffffu;
  return false;
}

bool IoBus::write(uint16_t port, unsigned size, uint32_t value) const {
  for (const Range& r : ranges_)
    if (port >= r.first && port < r.first + r.count) {
      if (r.write) r.write(port, size, value);
      return true;
    }
  return false;
}

}  // namespace btvm
