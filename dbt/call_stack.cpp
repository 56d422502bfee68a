#include "dbt/call_stack.h"

#include <sys/mman.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace btvm {

namespace {

constexpr uint64_t kUsable = kCallStackDepth + kCallStackHeadroom;
constexpr uint64_t kTotal = kCallStackGuard + kUsable;
// Below the thread's stack, past its 8 MiB default limit and the kernel's gap under it.
constexpr uint64_t kBelowThreadStack = uint64_t(24) << 20;

std::atomic<uint64_t> g_resets{0};
// The CpuState whose pending CALLs the stack holds (translated code runs on one thread).
const void* g_owner = nullptr;

uint8_t* mapRegion() {
  volatile char here = 0;
  auto sp = reinterpret_cast<uint64_t>(&here);
  auto hint = reinterpret_cast<void*>(((sp & ~uint64_t(0xfff)) - kBelowThreadStack - kTotal));
  void* p = mmap(hint, kTotal, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    std::perror("btvm: cannot reserve the translated code's stack");
    std::exit(1);
  }
  auto* lo = static_cast<uint8_t*>(p);
  if (mprotect(lo + kCallStackGuard, kUsable, PROT_READ | PROT_WRITE) != 0) {
    std::perror("btvm: cannot map the translated code's stack");
    std::exit(1);
  }
  return lo;
}

uint8_t* region() {
  static uint8_t* const lo = mapRegion();
  return lo;
}

}  // namespace

uint64_t callStackBase() { return reinterpret_cast<uint64_t>(region()) + kTotal - 16; }

uint64_t callStackResume(const void* cpu, uint64_t saved, bool left_by_epilogue) {
  uint64_t base = callStackBase();
  bool mine = g_owner == cpu;
  g_owner = cpu;
  // A CpuState reset or restored since holds 0 or an old value: only a depth the stack has.
  bool in_range = saved <= base && saved >= base - kCallStackDepth - kCallStackHeadroom && saved % 16 == 0;
  return mine && left_by_epilogue && in_range ? saved : base;
}

void dropPendingCalls() { g_owner = nullptr; }

bool inCallStackGuard(uint64_t addr) {
  auto lo = reinterpret_cast<uint64_t>(region());
  return addr >= lo && addr < lo + kCallStackGuard;
}

bool isCallStackProbe(const uint8_t* pc) {
  // 4C 8B 9C 24 disp32: mov r11, [rsp + disp32]
  static const uint8_t kOp[4] = {0x4c, 0x8b, 0x9c, 0x24};
  int32_t disp;
  std::memcpy(&disp, pc + 4, 4);
  return std::memcmp(pc, kOp, 4) == 0 && disp == -int32_t(kCallStackHeadroom);
}

uint64_t callStackResets() { return g_resets.load(std::memory_order_relaxed); }
void noteCallStackReset() { g_resets.fetch_add(1, std::memory_order_relaxed); }

}  // namespace btvm
