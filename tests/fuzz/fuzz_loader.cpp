// libFuzzer target: the input is a kernel image. It is written to a temporary file and loaded with
// Machine::loadMultiboot into a fresh 16 MiB machine (odd-sized inputs with themselves as modules). ImageError (a clean one-line refusal) and a
// successful load are fine; any other exception, a crash or a sanitizer report is a bug.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "emu/machine.h"
#include "emu/boot/multiboot.h"

namespace {

const std::string& tempPath() {
  static const std::string path = [] {
    char name[] = "/tmp/btvm-fuzz-loader-XXXXXX";
    int fd = mkstemp(name);
    if (fd < 0) {
      std::perror("mkstemp");
      std::abort();
    }
    close(fd);
    std::atexit([] { unlink(tempPath().c_str()); });
    return std::string(name);
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = tempPath();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(data, 1, size, f) != size || std::fclose(f) != 0) {
    std::perror("fuzz_loader: writing the temporary image");
    std::abort();
  }
  try {
    btvm::MachineConfig cfg;
    cfg.ram_bytes = 16u << 20;
    cfg.code_cache_bytes = 1u << 20;
    // Inputs of odd length also load themselves twice as Multiboot modules (placement above the
    // kernel, the module list, the RAM limit), with a ",," in the second one's arguments.
    if (size & 1) cfg.initrd = path + " first," + path + " a,,b";
    btvm::Machine m(cfg);
    try {
      m.loadMultiboot(path);
    } catch (const btvm::ImageError& e) {
      std::string msg = e.what();
      if (msg.empty() || msg.find('\n') != std::string::npos) {
        std::fprintf(stderr, "fuzz_loader: ImageError message is not one line: '%s'\n", msg.c_str());
        std::abort();
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_loader: exception other than ImageError: %s\n", e.what());
    std::abort();
  }
  return 0;
}
