// Translated code's own stack (dbt/call_stack.h): where it starts, its guard, and the probe the
// fault handler recognises (any other instruction faulting in the guard is a host bug).
#include <doctest/doctest.h>

#include <sys/mman.h>

#include <cstring>

#include "dbt/call_stack.h"

using namespace btvm;

TEST_CASE("call stack: an aligned base with the usable stack and headroom below it, then the guard") {
  uint64_t base = callStackBase();
  CHECK(base % 16 == 0);
  // The base slot and everything down to the deepest probe is writable.
  auto* top = reinterpret_cast<volatile uint8_t*>(base);
  top[0] = 1;
  top[8] = 0;  // the sentinel's key slot stays 0
  auto* deepest = reinterpret_cast<volatile uint8_t*>(base - kCallStackDepth - kCallStackHeadroom + 16);
  deepest[0] = 1;
  CHECK(!inCallStackGuard(base));
  CHECK(!inCallStackGuard(base - kCallStackDepth - kCallStackHeadroom + 16));
  // Below that, the guard: a probe from a stack 16 bytes too deep lands in it.
  CHECK(inCallStackGuard(base - kCallStackDepth - kCallStackHeadroom - 16));
  CHECK(inCallStackGuard(base - kCallStackDepth - kCallStackHeadroom - kCallStackGuard + 16));
  CHECK(!inCallStackGuard(base - kCallStackDepth - kCallStackHeadroom - kCallStackGuard - 16));
  // The guard is reserved (msync fails with ENOMEM on unmapped pages), so no other mapping can
  // take its place.
  uint64_t guard_page = (base - kCallStackDepth - kCallStackHeadroom - 16) & ~uint64_t(4095);
  CHECK(msync(reinterpret_cast<void*>(guard_page), 4096, MS_ASYNC) == 0);
}

TEST_CASE("call stack: the probe is recognised by its bytes and displacement only") {
  // mov r11, [rsp - kCallStackHeadroom]
  uint8_t probe[8] = {0x4c, 0x8b, 0x9c, 0x24};
  int32_t disp = -int32_t(kCallStackHeadroom);
  std::memcpy(probe + 4, &disp, 4);
  CHECK(isCallStackProbe(probe));
  uint8_t other[8];
  std::memcpy(other, probe, 8);
  other[2] = 0x84;  // mov r8, [rsp + disp32]
  CHECK(!isCallStackProbe(other));
  std::memcpy(other, probe, 8);
  disp = -8;  // another displacement: not a probe
  std::memcpy(other + 4, &disp, 4);
  CHECK(!isCallStackProbe(other));
}

TEST_CASE("call stack: an entry resumes where the last one left, unless that is not known") {
  uint64_t base = callStackBase();
  int a = 0, b = 0;  // two CpuStates, by address
  uint64_t deep = base - 16 * 100;
  callStackResume(&a, base, true);                 // a runs
  CHECK(callStackResume(&a, deep, true) == deep);  // and again: its pending CALLs are there
  CHECK(callStackResume(&a, deep, false) == base);  // its last run left by longjmp: unknown depth
  CHECK(callStackResume(&b, deep, true) == base);  // b: the stack holds a's CALLs, not b's
  CHECK(callStackResume(&a, deep, true) == base);  // and now b's, not a's
  CHECK(callStackResume(&a, deep, true) == deep);
  dropPendingCalls();                               // the flow generations wrapped round
  CHECK(callStackResume(&a, deep, true) == base);
  // A CpuState reset or restored since: 0, a misaligned or an out-of-range value.
  CHECK(callStackResume(&a, 0, true) == base);
  CHECK(callStackResume(&a, deep + 8, true) == base);
  CHECK(callStackResume(&a, base + 16, true) == base);
  CHECK(callStackResume(&a, base - kCallStackDepth - kCallStackHeadroom - 16, true) == base);
}
