#include "emu/debug/debug_memory.h"

#include "emu/cpu/guest_access.h"

namespace btvm {

namespace {

constexpr uint32_t kPresent = 1, kPageSizeBit = 0x80;
constexpr uint32_t kCr0Pg = 0x80000000u, kCr4Pse = 0x10, kCr4Pae = 0x20;
// Bits 12..35 of a PAE entry: the P6's 36-bit physical addresses.
constexpr uint64_t kPaeFrame = 0xffffff000ull;

uint64_t read64(PhysMemory& m, uint64_t paddr) {
  return uint64_t(m.read32(paddr)) | uint64_t(m.read32(paddr + 4)) << 32;
}

}  // namespace

std::optional<uint64_t> debugTranslate(Machine::Impl& vm, uint32_t linear) {
  const CpuState& c = vm.cpu;
  PhysMemory& m = vm.mem;
  if (!(c.cr0 & kCr0Pg)) return linear;
  if (c.cr4 & kCr4Pae) {
    uint64_t pdpte = c.pdpte[linear >> 30];
    if (!(pdpte & kPresent)) return std::nullopt;
    uint64_t pde = read64(m, (pdpte & kPaeFrame) + ((linear >> 21) & 0x1ff) * 8);
    if (!(pde & kPresent)) return std::nullopt;
    if (pde & kPageSizeBit) return (pde & kPaeFrame & ~0x1fffffull) | (linear & 0x1fffff);
    uint64_t pte = read64(m, (pde & kPaeFrame) + ((linear >> 12) & 0x1ff) * 8);
    if (!(pte & kPresent)) return std::nullopt;
    return (pte & kPaeFrame) | (linear & 0xfff);
  }
  uint32_t pde = m.read32((c.cr3 & ~0xfffu) + (linear >> 22) * 4);
  if (!(pde & kPresent)) return std::nullopt;
  if ((pde & kPageSizeBit) && (c.cr4 & kCr4Pse)) {
    // PSE-36: PDE bits 13..16 are physical address bits 32..35.
    return uint64_t(pde & 0xffc00000u) | uint64_t((pde >> 13) & 0xf) << 32 | (linear & 0x3fffff);
  }
  uint32_t pte = m.read32((pde & ~0xfffu) + ((linear >> 12) & 0x3ff) * 4);
  if (!(pte & kPresent)) return std::nullopt;
  return uint64_t(pte & ~0xfffu) | (linear & 0xfff);
}

uint32_t debugRead(Machine::Impl& vm, uint32_t linear, uint8_t* out, uint32_t len) {
  uint32_t done = 0;
  while (done < len) {
    uint32_t a = linear + done;
    auto phys = debugTranslate(vm, a);
    if (!phys) break;
    uint32_t n = std::min(len - done, kPageSize - (a & kPageMask));
    for (uint32_t i = 0; i < n; ++i) out[done + i] = vm.mem.read8(*phys + i);
    done += n;
  }
  return done;
}

uint32_t debugWrite(Machine::Impl& vm, uint32_t linear, const uint8_t* in, uint32_t len) {
  uint32_t done = 0;
  bool exit_after = vm.cpu.exit_after_insn;
  while (done < len) {
    uint32_t a = linear + done;
    auto phys = debugTranslate(vm, a);
    if (!phys) break;
    uint32_t n = std::min(len - done, kPageSize - (a & kPageMask));
    writePhys(vm, *phys, in + done, n);  // drops translated code and shadow entries it overwrites
    done += n;
  }
  // writePhys asks a running instruction to end its block; no instruction is running here.
  vm.cpu.exit_after_insn = exit_after;
  return done;
}

}  // namespace btvm
