// The I/O-port bus. Devices register port ranges; an access to a port
// nobody owns reads all-ones and is otherwise ignored (and counted), as on a PC.
// Devices that keep time read btvm's clock through a NowFn (ns since power-on).
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

namespace btvm {

// btvm's clock: ns since power-on. Virtual by default (1 ns per guest instruction plus the time
// skipped while the guest idles in HLT, so every run of a guest sees the same times); with
// --clock host, the host's monotonic time since start.
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

}  // namespace btvm
