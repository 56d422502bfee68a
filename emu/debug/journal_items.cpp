// What a recording is made with (the header items of emu/debug/journal.h): everything that,
// changed, makes the guest another guest, so that a replay of it is refused at once.
#include <fmt/core.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "emu/debug/journal.h"
#include "emu/machine.h"

namespace btvm {

namespace {

// FNV-1a of a file's bytes with its size, or "" without a file, "unreadable" if it cannot be read.
std::string fileId(const std::string& path) {
  if (path.empty()) return {};
  // Not a device or a FIFO: reading one could block or never end (the loader refuses them).
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return "not a regular file";
  std::ifstream f(path, std::ios::binary);
  if (!f) return "unreadable";
  uint64_t h = 0xcbf29ce484222325ull, n = 0;
  for (std::istreambuf_iterator<char> it(f), end; it != end; ++it, ++n) h = (h ^ uint8_t(*it)) * 0x100000001b3ull;
  return fmt::format("{} bytes, fnv {:016x}", n, h);
}

// -initrd: a Linux initrd, or Multiboot modules "FILE ARGS,FILE2" (",," a comma): each file by
// content, the text as given.
std::string initrdId(const std::string& spec) {
  if (spec.empty()) return {};
  std::string out = spec;
  size_t start = 0;
  while (start <= spec.size()) {
    size_t comma = spec.find(',', start);
    while (comma != std::string::npos && comma + 1 < spec.size() && spec[comma + 1] == ',')
      comma = spec.find(',', comma + 2);
    std::string mod = spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    std::string file = mod.substr(0, mod.find(' '));
    out += fmt::format("; {}: {}", file, fileId(file));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace

std::vector<JournalItem> describeRun(const MachineConfig& cfg, const std::string& kernel, const std::string& bios,
                                     bool reboot) {
  return {
      {"kernel", fileId(kernel)},
      {"-bios", fileId(bios)},
      {"-initrd", initrdId(cfg.initrd)},
      {"-append", cfg.append},
      {"-m", fmt::format("{}", cfg.ram_bytes)},
      {"--mode", modeName(cfg.mode)},
      {"--clock", cfg.host_clock ? "host" : "virtual"},
      {"--max-insns", fmt::format("{}", cfg.max_insns)},
      {"-no-reboot", reboot ? "no" : "yes"},
      {"--no-cpuid-apic", cfg.cpuid_apic ? "no" : "yes"},
      {"-debugcon", cfg.debugcon_fd == -1 ? "none" : fmt::format("port {:#x}", cfg.debugcon_port)},
      // Taken over by the replay: a console at a terminal makes the dispatcher look at the
      // keys between slices of instructions, and the slices decide where input comes in.
      {"interactive", cfg.serial_interactive ? "yes" : "no", false},
  };
}

}  // namespace btvm
