#include "mmu/phys_memory.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <new>

namespace btvm {

PhysMemory::PhysMemory(uint64_t bytes) : size_(bytes), code_count_((bytes + kPageMask) >> 12, 0) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  ram_ = static_cast<uint8_t*>(p);
}

PhysMemory::~PhysMemory() { munmap(ram_, size_); }

uint32_t PhysMemory::read32(uint64_t paddr) const {
  if (contains(paddr, 4)) {
    uint32_t v;
    std::memcpy(&v, ram_ + paddr, 4);
    return v;
  }
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t(read8(paddr + i)) << (8 * i);
  return v;
}

void PhysMemory::write32(uint64_t paddr, uint32_t v) {
  if (contains(paddr, 4)) {
    std::memcpy(ram_ + paddr, &v, 4);
    return;
  }
  for (int i = 0; i < 4; ++i) write8(paddr + i, uint8_t(v >> (8 * i)));
}

void PhysMemory::clearCodePages() { std::fill(code_count_.begin(), code_count_.end(), 0); }

}  // namespace btvm
