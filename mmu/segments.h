// Segmentation rules of IA-32 protected mode as pure functions: parsing a descriptor, the checks
// a segment-register load makes, and the limit/rights check of every access. Reading the
// descriptor tables is the caller's job (it goes through the MMU like any other access).
#pragma once
#include <cstdint>

#include "emu/cpu/cpu_state.h"

namespace btvm {

namespace attr {  // Segment::attr: bits 8..23 of a descriptor's high dword, shifted down by 8
constexpr uint32_t kAccessed = 1u << 0, kRW = 1u << 1, kDC = 1u << 2, kCode = 1u << 3,
                   kS = 1u << 4, kP = 1u << 7, kDB = 1u << 14, kG = 1u << 15;
inline uint32_t dpl(uint32_t a) { return (a >> 5) & 3; }
inline uint32_t type(uint32_t a) { return a & 0xf; }
}  // namespace attr

// A fault to raise: vector 0xff means none.
struct SegFault {
  uint8_t vector = 0xff;
  uint32_t error = 0;
  bool ok() const { return vector == 0xff; }
};
constexpr uint8_t kVecGP = 13, kVecNP = 11, kVecSS = 12, kVecTS = 10;

Segment descriptorToSegment(uint16_t selector, uint32_t lo, uint32_t hi);

// Checks for MOV/POP/LxS into DS, ES, FS or GS (SDM Vol. 2, MOV: protected-mode exceptions).
SegFault checkDataSegmentLoad(uint16_t sel, const Segment& d, uint8_t cpl);
// Checks for loading SS.
SegFault checkStackSegmentLoad(uint16_t sel, const Segment& d, uint8_t cpl);
// Checks for a far JMP/CALL to a code segment (no gates) at the given CPL.
SegFault checkCodeSegmentTransfer(uint16_t sel, const Segment& d, uint8_t cpl);

// True when [off, off+size) is inside the segment and the access kind is allowed.
bool segmentAccessOk(const Segment& s, uint32_t off, uint32_t size, bool write);
// Only the limit (expand-up or expand-down, as the cached attributes say): real mode checks
// nothing else, so a write through CS works and whatever protected mode left cached stays usable.
bool segmentLimitOk(const Segment& s, uint32_t off, uint32_t size);

// A segment register loaded in real mode: base = selector << 4; the cached limit and attributes
// stay as they were (so a 4 GiB limit set in protected mode survives: "unreal mode"). A register
// left unusable by protected mode (a null selector) gets a real-mode data segment's limit and
// attributes back.
void loadRealModeSegment(Segment& s, uint16_t selector);

// A segment the translator may access without any check: base 0, 4 GiB expand-up limit,
// writable data (or readable code for reads).
bool segmentIsFlat(const Segment& s, bool for_write);

}  // namespace btvm
