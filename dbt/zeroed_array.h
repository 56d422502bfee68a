// Large tables that start all zero: calloc hands them out as untouched pages that the host zeroes
// on first touch, where new T[n]() would write every byte at once (a page fault per page at
// start-up: some 8 us each on this project's VM). T must be valid as all-zero bytes.
#pragma once
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>
#include <type_traits>

namespace btvm {

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};
template <class T>
using ZeroedArray = std::unique_ptr<T[], FreeDeleter>;

template <class T>
ZeroedArray<T> makeZeroedArray(size_t n) {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);
  void* p = std::calloc(n, sizeof(T));
  if (!p) throw std::bad_alloc();
  return ZeroedArray<T>(static_cast<T*>(p));
}

}  // namespace btvm
