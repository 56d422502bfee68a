// The host bytes a register-only guest instruction was re-emitted as, by its guest bytes.
// Re-emitting one through AsmJit's encoder costs a few hundred host instructions; the same
// instruction (xor eax,eax; test eax,eax; mov ebp,esp ...) comes back again and again, and its
// host bytes depend on nothing but its own bytes and the code size (CS.D, which changes how the
// same bytes decode): no address, no label, no block state. A direct-mapped table: a new
// instruction replaces the one in its slot.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "dbt/zeroed_array.h"

namespace btvm {

class EncodingMemo {
 public:
  static constexpr size_t kMaxGuest = 15, kMaxHost = 32;
  EncodingMemo() : slots_(makeZeroedArray<Slot>(kSlots)) {}

  // The host bytes remembered for these guest bytes in this code size, or null (*len set).
  const uint8_t* find(const uint8_t* guest, size_t n, bool code16, size_t* len) const {
    const Slot& s = slots_[index(guest, n, code16)];
    if (s.guest_len != n || s.code16 != code16 || std::memcmp(s.guest, guest, n) != 0) return nullptr;
    *len = s.host_len;
    return s.host;
  }
  void remember(const uint8_t* guest, size_t n, bool code16, const uint8_t* host, size_t len) {
    if (n == 0 || n > kMaxGuest || len == 0 || len > kMaxHost) return;
    Slot& s = slots_[index(guest, n, code16)];
    std::memcpy(s.guest, guest, n);
    s.guest_len = uint8_t(n);
    s.code16 = code16;
    std::memcpy(s.host, host, len);
    s.host_len = uint8_t(len);
  }

 private:
  static constexpr size_t kSlots = 1u << 13;
  struct Slot {
    uint8_t guest[kMaxGuest];
    uint8_t guest_len;  // 0 (as allocated): empty (no instruction is 0 bytes)
    bool code16;
    uint8_t host_len;
    uint8_t host[kMaxHost];
  };
  static size_t index(const uint8_t* g, size_t n, bool code16) {
    uint64_t h = 0x9e3779b97f4a7c15ull * (n + (code16 ? 16 : 0));
    for (size_t i = 0; i < n; ++i) h = (h ^ g[i]) * 0x100000001b3ull;
    return size_t(h ^ (h >> 29)) & (kSlots - 1);
  }
  ZeroedArray<Slot> slots_;  // 400 KiB: pages untouched until used
};

}  // namespace btvm
