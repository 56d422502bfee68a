#include "emu/devices/debugcon.h"

#include <cerrno>

#include <unistd.h>

#include "emu/devices/devices.h"

namespace btvm {

void DebugCon::attach(IoBus& bus, uint16_t port) {
  bus.add(port, 1, [](uint16_t, unsigned) -> uint32_t { return kReadback; },
          [this](uint16_t, unsigned size, uint32_t v) {
            // A word or dword write puts out its low byte only, as QEMU's 1-byte-wide port.
            (void)size;
            write(uint8_t(v));
          });
}

void DebugCon::write(uint8_t byte) const {
  if (fd_ < 0) return;
  if (before_write) before_write();
  while (::write(fd_, &byte, 1) < 0 && errno == EINTR) {}
}

}  // namespace btvm
