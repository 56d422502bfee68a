// QEMU's isa-debugcon: a write-only byte port (0xe9 unless moved) whose bytes go straight to a
// host file descriptor, one write() per byte so nothing is lost whatever ends the run. Reading the
// port gives the "readback" value 0xe9 (Bochs's and QEMU's way to tell a debug console is there).
#pragma once
#include <cstdint>
#include <functional>

namespace btvm {

class IoBus;

class DebugCon {
 public:
  static constexpr uint16_t kDefaultPort = 0xe9;
  static constexpr uint8_t kReadback = 0xe9;
  explicit DebugCon(int fd) : fd_(fd) {}
  void attach(IoBus& bus, uint16_t port);
  void write(uint8_t byte) const;
  std::function<void()> before_write;  // runs before each byte goes out (may be empty)

 private:
  int fd_;  // -1: no host end (writes dropped, the port still reads back)
};

}  // namespace btvm
