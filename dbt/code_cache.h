// The code cache: one RWX host mapping, bump-allocated. The runtime stubs live at its start and
// survive a flush; blocks fill the rest. When it is full the dispatcher flushes every block and
// translation starts again from empty, which keeps every chain jump within rel32 reach.
#pragma once
#include <cstddef>
#include <cstdint>

namespace btvm {

class CodeCache {
 public:
  explicit CodeCache(size_t bytes);
  ~CodeCache();
  CodeCache(const CodeCache&) = delete;
  CodeCache& operator=(const CodeCache&) = delete;

  // nullptr when `bytes` does not fit: the caller flushes and retries.
  uint8_t* allocate(size_t bytes);
  // Where the next allocation will start: code assembled for this address needs no relocation.
  uint8_t* next() const { return base_ + ((used_ + 15) & ~size_t(15)); }
  void sealStubs() { stub_end_ = used_; }  // everything allocated so far survives flush()
  void flush() { used_ = stub_end_; }
  uint8_t* base() const { return base_; }
  size_t used() const { return used_; }
  size_t capacity() const { return size_; }
  bool contains(const void* p) const {
    auto* b = static_cast<const uint8_t*>(p);
    return b >= base_ && b < base_ + size_;
  }

 private:
  uint8_t* map_;     // the whole mapping; base_ is its first 2 MiB boundary
  size_t map_size_;
  uint8_t* base_;
  size_t size_;
  size_t used_ = 0;
  size_t stub_end_ = 0;
};

}  // namespace btvm
