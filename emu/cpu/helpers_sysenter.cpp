// SYSENTER and SYSEXIT (the Pentium II's fast system calls, CPUID SEP): flat ring-0 and ring-3
// segments derived from IA32_SYSENTER_CS, no descriptor-table reads, as the Intel SDM's
// pseudocode for the two instructions gives them.
#include "emu/cpu/descriptors.h"
#include "emu/cpu/helpers.h"
#include "mmu/segments.h"

namespace btvm {

namespace {

constexpr uint32_t kMsrSysenterCs = 0x174, kMsrSysenterEsp = 0x175, kMsrSysenterEip = 0x176;

uint32_t msr(Machine::Impl& vm, uint32_t index) {
  uint64_t v = 0;
  vm.model.rdmsr(index, 0, &v);
  return uint32_t(v);
}

// Both fault with #GP(0) in real mode and while IA32_SYSENTER_CS selects the null descriptor.
uint16_t sysenterCs(Machine::Impl& vm) {
  uint16_t cs = uint16_t(msr(vm, kMsrSysenterCs));
  if (!(vm.cpu.cr0 & 1) || (cs & 0xfffc) == 0) raiseException(vm, kVecGP, 0, true);
  return cs;
}

// CS as the instructions load it: base 0, 4 GiB, execute/read accessed, 32-bit, at `cpl`; SS
// read/write at the same level in the next GDT slot.
void enterFlat(Machine::Impl& vm, uint16_t cs_sel, uint16_t ss_sel, uint8_t cpl) {
  CpuState& c = vm.cpu;
  setCs(vm, cs_sel, flatSegment(cs_sel, true, cpl), cpl);
  c.seg[SS] = flatSegment(uint16_t((ss_sel & ~3u) | cpl), false, cpl);
}

HelperResult hSysenter(Machine::Impl& vm, const hinfo::Info&, uint32_t) {
  uint16_t cs = sysenterCs(vm);
  CpuState& c = vm.cpu;
  c.eflags &= ~(flag::VM | flag::IF | flag::RF);
  enterFlat(vm, cs & 0xfffc, uint16_t(cs + 8), 0);
  c.regs[ESP] = msr(vm, kMsrSysenterEsp);
  c.eip = msr(vm, kMsrSysenterEip);
  return kEipSet;
}

HelperResult hSysexit(Machine::Impl& vm, const hinfo::Info&, uint32_t) {
  uint16_t cs = sysenterCs(vm);
  CpuState& c = vm.cpu;
  if (c.cpl != 0) raiseException(vm, kVecGP, 0, true);
  enterFlat(vm, uint16_t(cs + 16), uint16_t(cs + 24), 3);
  c.regs[ESP] = c.regs[ECX];
  c.eip = c.regs[EDX];
  return kEipSet;
}

}  // namespace

void registerSysenterHelpers(Helper* t) {
  t[size_t(HelperId::Sysenter)] = hSysenter;
  t[size_t(HelperId::Sysexit)] = hSysexit;
}

}  // namespace btvm
