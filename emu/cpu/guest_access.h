// Guest memory as the VMM's C++ code reaches it: through segmentation and paging, with the faults
// the hardware would raise (they longjmp to the dispatcher). Writes that hit translated code
// invalidate it and make the current instruction the last of its block.
#pragma once
#include <cstdint>

#include "emu/vm.h"
#include "mmu/segments.h"

namespace btvm {

// Linear accesses. `user` selects the privilege of the access (descriptor-table and TSS accesses
// are supervisor accesses whatever the CPL).
uint32_t readLinear(Machine::Impl& vm, uint32_t linear, unsigned size, bool user);
void writeLinear(Machine::Impl& vm, uint32_t linear, unsigned size, uint32_t value, bool user);
// With paging, an access within one page whose soft-TLB tag allows it: the host bytes, as
// translated code would reach them (a write tag exists only for plain unwatched RAM: no code,
// no page table, no ROM window, no device). Else null: translate the full way. Data
// breakpoints and watchpoints are the caller's to check.
uint8_t* tlbHost(Machine::Impl& vm, uint32_t linear, unsigned size, bool write, bool user);

// Whether an access through segment register `seg` is allowed: limit and rights in protected
// mode, the limit alone in real mode.
bool segmentAllows(const CpuState& c, int seg, uint32_t off, uint32_t size, bool write);

// Segmented accesses at the current CPL: limit and rights checked (#GP(0), or #SS(0) for SS).
uint32_t readSeg(Machine::Impl& vm, int seg, uint32_t off, unsigned size);
void writeSeg(Machine::Impl& vm, int seg, uint32_t off, unsigned size, uint32_t value);
// Checks a whole range first, for instructions that must not fault half-way (far pointers...).
void checkSeg(Machine::Impl& vm, int seg, uint32_t off, unsigned size, bool write);
// The same and every page of the range too, for accesses wider than 4 bytes (x87 operands).
void probeSeg(Machine::Impl& vm, int seg, uint32_t off, unsigned size, bool write);

// The stack pointer as SS's B bit makes it: ESP (B=1), or SP (B=0: offsets wrap at 64 KiB and
// ESP[31:16] never changes). stackOffset gives the SS offset `delta` bytes from it.
inline uint32_t stackMask(const Segment& ss) { return (ss.attr & attr::kDB) ? 0xffffffffu : 0xffffu; }
inline uint32_t stackOffset(const CpuState& c, int32_t delta) {
  return (c.regs[ESP] + uint32_t(delta)) & stackMask(c.seg[SS]);
}
inline void addToStackPointer(CpuState& c, int32_t delta) {
  uint32_t m = stackMask(c.seg[SS]);
  c.regs[ESP] = (c.regs[ESP] & ~m) | ((c.regs[ESP] + uint32_t(delta)) & m);
}

// Stack helpers on SS:ESP (SS:SP) at the current CPL (32- or 16-bit slots).
void push(Machine::Impl& vm, unsigned size, uint32_t value);
uint32_t pop(Machine::Impl& vm, unsigned size);

// Physical write by the VMM that keeps translated code coherent.
void writePhys(Machine::Impl& vm, uint64_t paddr, const uint8_t* data, uint32_t len);
// Bytes into RAM within one page (no MMIO, no SMC check): a page-table page's entries are
// compared before and after, and the MMU changes only what the write changed.
void writeRam(Machine::Impl& vm, uint64_t paddr, const uint8_t* data, uint32_t len);

}  // namespace btvm
