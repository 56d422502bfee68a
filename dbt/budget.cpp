#include "dbt/budget.h"

#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>

namespace btvm {

namespace {
uint64_t mapRegion() {
  void* p = mmap(nullptr, size_t(kBudgetGuard + kMaxBudget), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  if (p == MAP_FAILED) {
    std::perror("btvm: cannot reserve the instruction budget's region");
    std::exit(1);
  }
  auto base = reinterpret_cast<uint8_t*>(p) + kBudgetGuard;
  if (mprotect(base, size_t(kMaxBudget), PROT_READ) != 0) {
    std::perror("btvm: cannot map the instruction budget's region");
    std::exit(1);
  }
  // All of it at once, as the shared zero page (read faults, done by the kernel in one call):
  // faulting in a page per 4096 instructions cost a guest's first 67 million instructions 4096
  // page faults, some 30 ms on this project's VM. A kernel without MADV_POPULATE_READ (before
  // 5.14) leaves them to fault in as before.
  constexpr int kMadvPopulateRead = 22;  // MADV_POPULATE_READ, <linux/mman.h>
  madvise(base, size_t(kMaxBudget), kMadvPopulateRead);
  return reinterpret_cast<uint64_t>(base);
}
}  // namespace

uint64_t budgetBase() {
  static const uint64_t base = mapRegion();
  return base;
}

bool inBudgetGuard(uint64_t addr) {
  uint64_t base = budgetBase();
  return addr < base && addr >= base - uint64_t(kBudgetGuard);
}

}  // namespace btvm
