// libFuzzer target: the input is guest code. It runs at a fixed address in a fresh machine (the
// layout of fuzz_case.h: exception stubs that halt, identity paging with 4 MiB pages allowed and a
// few absent or read-only pages, CPL 0, registers pointing into RAM) for at most kMaxInsns guest
// instructions. Any RunResult is fine; an exception out of btvm, a crash, a hang or a sanitizer
// report is a bug.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "emu/machine.h"
#include "tests/fuzz/fuzz_case.h"

namespace {
constexpr uint64_t kMaxInsns = 2000;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fuzz;
  Rng rng(0x5eed);  // the same environment for every input: only the code varies
  CaseSpec spec;
  spec.ram_bytes = 4u << 20;
  spec.paging = true;
  spec.pse = true;
  const uint32_t regs[8] = {kData + 0x100, kData + 0x8000, 0, kData + 0xf000, kData + 0x8000, kData + 0x4000,
                            kData + 0x2000, kData + 0x3000};
  for (int i = 0; i < 8; ++i) spec.regs[i] = regs[i];
  spec.eflags = 0x2;
  try {
    btvm::MachineConfig cfg;
    cfg.ram_bytes = spec.ram_bytes;
    cfg.max_insns = kMaxInsns;
    cfg.code_cache_bytes = 1u << 20;
    btvm::Machine m(cfg);
    buildCase(m, spec, data, size, rng);
    btvm::RunResult r = m.run();
    std::string problem = checkResult(m, r, kMaxInsns);
    if (!problem.empty()) {
      std::fprintf(stderr, "fuzz_translate: %s\n", problem.c_str());
      std::abort();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_translate: exception out of btvm: %s\n", e.what());
    std::abort();
  }
  return 0;
}
