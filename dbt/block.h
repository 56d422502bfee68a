// A translation block and the key that finds it. The guest EIP alone is not enough: the same bytes
// translate differently under another CS base, CPL, set of flat segments, page mapping, code size
// (CS.D) or stack size (SS.B), and helpers behave otherwise in real and v8086 mode, so all of
// those are part of the key.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace btvm {

struct BlockKey {
  uint32_t eip;
  uint32_t cs_base;
  uint64_t phys;     // guest physical address of the first byte
  uint32_t flags;    // BlockFlags bits
  bool operator==(const BlockKey&) const = default;
};

namespace block_flag {
constexpr uint32_t kCplMask = 3;            // bits 0..1: CPL
constexpr uint32_t kFlatShift = 2;          // bits 2..7: segment i is flat for reads (ES..GS)
constexpr uint32_t kFlatWriteShift = 8;     // bits 8..13: segment i is flat for writes
constexpr uint32_t kCountTlb = 1u << 14;    // --stats: count soft-TLB hits inline
constexpr uint32_t kPaging = 1u << 15;      // CR0.PG
// bits 16..21 / 22..27: segment i is "based" for reads / writes: all a flat segment is (4 GiB
// expand-up limit, right kind) except that its base is not 0 (Linux's per-CPU FS, user TLS GS).
// The probe adds the base, read from CpuState at run time.
constexpr uint32_t kBasedShift = 16;
constexpr uint32_t kBasedWriteShift = 22;
// Virtual clock and RDTSC allowed (CR4.TSD clear or CPL 0): translate mode reads the TSC inline.
constexpr uint32_t kInlineTsc = 1u << 28;
// Segment registers are loaded real-mode style (base = selector << 4, no descriptors): real
// mode (CR0.PE = 0, always CPL 0) or, with CPL 3, virtual-8086 mode (EFLAGS.VM = 1). Every bit
// is taken, and the pair (this bit, CPL) tells the three apart from protected mode.
constexpr uint32_t kRealMode = 1u << 29;
constexpr uint32_t kCode16 = 1u << 30;      // CS.D = 0: 16-bit operands and addresses by default
constexpr uint32_t kStack16 = 1u << 31;     // SS.B = 0: the stack pointer is SP, wrapping at 64 KiB
}  // namespace block_flag

struct BlockKeyHash {
  size_t operator()(const BlockKey& k) const {
    uint64_t h = k.phys * 0x9e3779b97f4a7c15ull;
    h ^= (uint64_t(k.eip) << 32 | k.flags) * 0xc2b2ae3d27d4eb4full;
    h ^= k.cs_base;
    return size_t(h ^ (h >> 29));
  }
};

// The two forms of a chainable jump: JMP rel32 (E9) and Jcc rel32 (0F 8x); rel32 is last.
constexpr size_t kJmpRel32Len = 5, kJccRel32Len = 6;
inline size_t chainJumpLen(const uint8_t* jump) { return jump[0] == 0x0f ? kJccRel32Len : kJmpRel32Len; }

struct Block {
  BlockKey key;
  uint64_t phys_end;          // one past the last guest byte (may be on the next page)
  uint64_t phys_page2;        // second physical page when an instruction crosses a page, else ~0
  uint8_t* code;              // entry point (checks the instruction budget first)
  uint32_t code_size;
  uint32_t guest_insns;
  uint32_t guest_bytes;
  bool cached;                // false for one-off blocks (single-step, SMC retry)
  bool valid = true;
  struct Exit {
    uint8_t* jump;            // JMP rel32 or Jcc rel32 that chaining patches (chainJumpLen)
    uint8_t* unchained;       // where it jumps when not chained: the exit path to the dispatcher
    uint32_t target_eip;
    Block* chained = nullptr;
    // Exits to another linear page under paging: chaining sends `jump` through a check of the
    // target page's current mapping (emitPageCheck); null for exits within the page.
    uint8_t* check = nullptr;
    uint8_t* check_imm = nullptr;   // the 8-byte immediate: minus the expected TLB addend
    uint8_t* check_jump = nullptr;  // JMP rel32 to the target when the check passes
  };
  std::vector<Exit> exits;
  std::vector<uint8_t*> incoming;  // chain jumps of other blocks that enter this one
};

}  // namespace btvm
