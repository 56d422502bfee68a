// Guest memory as the VMM's C++ code reaches it: through segmentation and paging, with the faults
// the hardware would raise (they longjmp to the dispatcher). Writes that hit translated code
// invalidate it and make the current instruction the last of its block.
#pragma once
#include <cstdint>

#include "emu/vm.h"

namespace btvm {

// Linear accesses. `user` selects the privilege of the access (descriptor-table and TSS accesses
// are supervisor accesses whatever the CPL).
uint32_t readLinear(Machine::Impl& vm, uint32_t linear, unsigned size, bool user);
void writeLinear(Machine::Impl& vm, uint32_t linear, unsigned size, uint32_t value, bool user);

// Segmented accesses at the current CPL: limit and rights checked (#GP(0), or #SS(0) for SS).
uint32_t readSeg(Machine::Impl& vm, int seg, uint32_t off, unsigned size);
void writeSeg(Machine::Impl& vm, int seg, uint32_t off, unsigned size, uint32_t value);
// Checks a whole range first, for instructions that must not fault half-way (far pointers...).
void checkSeg(Machine::Impl& vm, int seg, uint32_t off, unsigned size, bool write);
// The same and every page of the range too, for accesses wider than 4 bytes (x87 operands).
void probeSeg(Machine::Impl& vm, int seg, uint32_t off, unsigned size, bool write);

// Stack helpers on SS:ESP at the current CPL (32- or 16-bit slots).
void push(Machine::Impl& vm, unsigned size, uint32_t value);
uint32_t pop(Machine::Impl& vm, unsigned size);

// Physical write by the VMM that keeps translated code coherent.
void writePhys(Machine::Impl& vm, uint64_t paddr, const uint8_t* data, uint32_t len);

}  // namespace btvm
