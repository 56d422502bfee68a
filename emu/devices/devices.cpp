#include "emu/devices/devices.h"

#include <unistd.h>

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

void Uart16550::attach(IoBus& bus, uint16_t base) {
  bus.add(base, 8, [this, base](uint16_t port, unsigned) { return read(port - base); },
          [this, base](uint16_t port, unsigned, uint32_t v) { write(port - base, uint8_t(v)); });
}

uint32_t Uart16550::read(unsigned reg) {
  bool dlab = lcr_ & 0x80;
  switch (reg) {
    case 0: return dlab ? dll_ : 0;      // RBR: nothing received
    case 1: return dlab ? dlm_ : ier_;
    case 2: return 0x01;                 // IIR: no interrupt pending
    case 3: return lcr_;
    case 4: return mcr_;
    case 5: return 0x60;                 // LSR: THR empty, transmitter empty
    case 6: return 0xb0;                 // MSR: CTS, DSR, DCD
    default: return scr_;
  }
}

void Uart16550::write(unsigned reg, uint8_t v) {
  bool dlab = lcr_ & 0x80;
  switch (reg) {
    case 0:
      if (dlab) { dll_ = v; break; }
      buffer_.push_back(char(v));
      ++written_;
      if (v == '\n' || buffer_.size() >= 4096) flush();
      break;
    case 1: if (dlab) dlm_ = v; else ier_ = v & 0x0f; break;
    case 3: lcr_ = v; break;
    case 4: mcr_ = v; break;
    case 7: scr_ = v; break;
    default: break;
  }
}

void Uart16550::flush() {
  size_t off = 0;
  while (off < buffer_.size()) {
    ssize_t n = ::write(fd_, buffer_.data() + off, buffer_.size() - off);
    if (n <= 0) break;
    off += size_t(n);
  }
  buffer_.clear();
}

}  // namespace btvm
