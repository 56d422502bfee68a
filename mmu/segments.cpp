#include "mmu/segments.h"

namespace btvm {

Segment descriptorToSegment(uint16_t selector, uint32_t lo, uint32_t hi) {
  Segment s{};
  s.selector = selector;
  s.base = (lo >> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000u);
  uint32_t limit = (lo & 0xffff) | (hi & 0x000f0000u);
  s.attr = (hi >> 8) & 0xf0ff;
  if (s.attr & attr::kG) limit = (limit << 12) | 0xfff;
  s.limit = limit;
  s.valid = true;
  return s;
}

static SegFault fault(uint8_t v, uint32_t e) { return SegFault{v, e}; }

SegFault checkDataSegmentLoad(uint16_t sel, const Segment& d, uint8_t cpl) {
  uint32_t err = sel & 0xfffc;
  uint32_t a = d.attr;
  if (!(a & attr::kS)) return fault(kVecGP, err);                          // system descriptor
  if ((a & attr::kCode) && !(a & attr::kRW)) return fault(kVecGP, err);    // execute-only code
  bool conforming_code = (a & attr::kCode) && (a & attr::kDC);
  if (!conforming_code) {
    uint32_t rpl = sel & 3;
    if (rpl > attr::dpl(a) || cpl > attr::dpl(a)) return fault(kVecGP, err);
  }
  if (!(a & attr::kP)) return fault(kVecNP, err);
  return {};
}

SegFault checkStackSegmentLoad(uint16_t sel, const Segment& d, uint8_t cpl) {
  uint32_t err = sel & 0xfffc;
  uint32_t a = d.attr;
  if ((sel & 3) != cpl || attr::dpl(a) != cpl) return fault(kVecGP, err);
  if (!(a & attr::kS) || (a & attr::kCode) || !(a & attr::kRW)) return fault(kVecGP, err);
  if (!(a & attr::kP)) return fault(kVecSS, err);
  return {};
}

SegFault checkCodeSegmentTransfer(uint16_t sel, const Segment& d, uint8_t cpl) {
  uint32_t err = sel & 0xfffc;
  uint32_t a = d.attr;
  if (!(a & attr::kS) || !(a & attr::kCode)) return fault(kVecGP, err);
  if (a & attr::kDC) {
    if (attr::dpl(a) > cpl) return fault(kVecGP, err);  // conforming: DPL <= CPL
  } else {
    if ((sel & 3) > cpl || attr::dpl(a) != cpl) return fault(kVecGP, err);
  }
  if (!(a & attr::kP)) return fault(kVecNP, err);
  return {};
}

bool segmentAccessOk(const Segment& s, uint32_t off, uint32_t size, bool write) {
  if (!s.valid) return false;
  uint32_t a = s.attr;
  if (write) {
    if ((a & attr::kCode) || !(a & attr::kRW)) return false;
  } else if ((a & attr::kCode) && !(a & attr::kRW)) {
    return false;
  }
  return segmentLimitOk(s, off, size);
}

bool segmentLimitOk(const Segment& s, uint32_t off, uint32_t size) {
  uint32_t a = s.attr;
  uint64_t last = uint64_t(off) + size - 1;
  bool expand_down = !(a & attr::kCode) && (a & attr::kDC);
  if (expand_down) {
    uint64_t upper = (a & attr::kDB) ? 0xffffffffull : 0xffffull;
    return off > s.limit && last <= upper;
  }
  return last <= s.limit;
}

void loadRealModeSegment(Segment& s, uint16_t selector) {
  if (!s.valid) {
    s.limit = 0xffff;
    s.attr = attr::kP | attr::kS | attr::kRW | attr::kAccessed;
  }
  s.selector = selector;
  s.base = uint32_t(selector) << 4;
  s.valid = true;
}

bool segmentIsFlat(const Segment& s, bool for_write) {
  return s.valid && s.base == 0 && s.limit == 0xffffffffu && segmentAccessOk(s, 0, 1, for_write) &&
         !(!(s.attr & attr::kCode) && (s.attr & attr::kDC));
}

}  // namespace btvm
