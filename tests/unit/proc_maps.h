// The host mapping that holds an address, as /proc/self/maps lists it: unit tests of the host
// MMU check protections and bounds there rather than trusting the code under test.
#pragma once
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

namespace btvm::test {

struct Region {
  uint64_t start = 0, end = 0;
  std::string perms;  // "r--p", "rw-s", "---p"; empty: not mapped
};

inline Region regionOf(const void* p) {
  auto a = reinterpret_cast<uint64_t>(p);
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    std::istringstream in(line);
    std::string range, perms;
    in >> range >> perms;
    uint64_t s = std::stoull(range.substr(0, range.find('-')), nullptr, 16);
    uint64_t e = std::stoull(range.substr(range.find('-') + 1), nullptr, 16);
    if (a >= s && a < e) return Region{s, e, perms};
  }
  return Region{};
}

}  // namespace btvm::test
