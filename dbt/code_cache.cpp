#include "dbt/code_cache.h"

#include <sys/mman.h>

#include <new>

namespace btvm {

CodeCache::CodeCache(size_t bytes) : size_(bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  base_ = static_cast<uint8_t*>(p);
}

CodeCache::~CodeCache() { munmap(base_, size_); }

uint8_t* CodeCache::allocate(size_t bytes) {
  size_t start = size_t(next() - base_);
  if (start + bytes > size_) return nullptr;
  used_ = start + bytes;
  return base_ + start;
}

}  // namespace btvm
