// Guest memory as a debugger sees it: linear addresses translated through the guest's page
// tables without any effect on the guest (no accessed or dirty bits set, no TLB or shadow fill,
// no #PF). Writes keep translated code and shadow page tables coherent, as the guest's own
// writes do.
#pragma once
#include <cstdint>
#include <optional>

#include "emu/vm.h"

namespace btvm {

// Physical address of `linear` by the current CR0/CR3/CR4 (and PDPTE registers), or nothing
// when the page is not present.
std::optional<uint64_t> debugTranslate(Machine::Impl& vm, uint32_t linear);

// Copies up to `len` bytes; returns how many were done before the first unmapped page.
uint32_t debugRead(Machine::Impl& vm, uint32_t linear, uint8_t* out, uint32_t len);
uint32_t debugWrite(Machine::Impl& vm, uint32_t linear, const uint8_t* in, uint32_t len);

}  // namespace btvm
