// The I/O-port bus and the first devices on it. Devices register port ranges; an access to a port
// nobody owns reads all-ones and is otherwise ignored (and counted), as on a PC.
// Devices that keep time read btvm's virtual clock through a NowFn (ns since power-on).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace btvm {

// btvm's virtual clock: ns since power-on, 1 ns per guest instruction plus the time skipped
// while the guest idles in HLT, so every run of a guest sees the same times.
using NowFn = std::function<uint64_t()>;

class IoBus {
 public:
  using Read = std::function<uint32_t(uint16_t port, unsigned size)>;
  using Write = std::function<void(uint16_t port, unsigned size, uint32_t value)>;
  void add(uint16_t first, uint16_t count, Read r, Write w);
  // Returns false when no device owns the port (the read gives all-ones).
  bool read(uint16_t port, unsigned size, uint32_t* value) const;
  bool write(uint16_t port, unsigned size, uint32_t value) const;

 private:
  struct Range {
    uint16_t first, count;
    Read read;
    Write write;
  };
  std::vector<Range> ranges_;
};

// 16550 UART: transmit goes to a host file descriptor; the line status always reports an empty
// transmitter, so guests that poll LSR bit 5 never wait. No receive yet.
class Uart16550 {
 public:
  explicit Uart16550(int out_fd = 1) : fd_(out_fd) {}
  void attach(IoBus& bus, uint16_t base);
  void flush();
  uint64_t bytesWritten() const { return written_; }

 private:
  uint32_t read(unsigned reg);
  void write(unsigned reg, uint8_t v);
  int fd_;
  uint8_t ier_ = 0, lcr_ = 0, mcr_ = 0, scr_ = 0, dll_ = 1, dlm_ = 0;
  std::string buffer_;
  uint64_t written_ = 0;
};

}  // namespace btvm
