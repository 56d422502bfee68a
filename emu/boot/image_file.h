// Files a loader reads (kernels, initrds, ROMs): whole, from regular files only, with one-line
// errors naming the file and the problem.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace btvm {

// An image btvm cannot load; the message is one line naming the problem.
struct ImageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The whole file. `what` names it in errors ("kernel image", "initrd"). Refuses directories,
// FIFOs and devices (a FIFO with no writer must not hang btvm), empty files and files larger
// than any guest RAM.
std::vector<uint8_t> readImageFile(const std::string& path, const char* what);

}  // namespace btvm
