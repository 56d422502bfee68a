// System helpers: the interrupt flag, EFLAGS, descriptor-table registers, control and debug
// registers, TLB and cache control, MSRs and HLT. Privileged ones raise #GP(0) above CPL 0.
#include <fmt/core.h>

#include "emu/cpu/debug_regs.h"
#include "emu/cpu/descriptors.h"
#include "emu/cpu/guest_access.h"
#include "emu/cpu/helpers.h"
#include "emu/cpu/vme.h"
#include "mmu/segments.h"

namespace btvm {

namespace {

constexpr uint32_t kCr0PE = 1, kCr0TS = 8, kCr0WP = 1u << 16, kCr0NW = 1u << 29, kCr0CD = 1u << 30,
                   kCr0PG = 1u << 31;
constexpr uint32_t kCr4PSE = 1u << 4, kCr4PAE = 1u << 5, kCr4PGE = 1u << 7;

bool paePaging(uint32_t cr0, uint32_t cr4) { return (cr0 & kCr0PG) && (cr4 & kCr4PAE); }

// The PDPTE registers are loaded (SDM Vol. 3A 4.4.1) by MOV to CR3 while PAE paging is in use,
// and by MOV to CR0/CR4 after which PAE paging is in use when it changes CR0.PG/CD/NW or
// CR4.PAE/PGE/PSE, before the register changes: a present PDPTE with a reserved bit set makes
// the instruction raise #GP(0) and change nothing.
void loadPdptesOrFault(Machine::Impl& vm, uint32_t cr3) {
  if (!vm.mmu.loadPdptes(cr3)) raiseException(vm, kVecGP, 0, true);
}

void requireCpl0(Machine::Impl& vm) {
  if (vm.cpu.cpl != 0) raiseException(vm, kVecGP, 0, true);
}

uint32_t iopl(const CpuState& c) { return (c.eflags >> 12) & 3; }

HelperResult hCli(Machine::Impl& vm, const hinfo::Info&, uint32_t) {
  if (vm.cpu.cpl > iopl(vm.cpu)) {
    virtualCli(vm);  // VIF under CR4.VME/PVI, else #GP(0)
    return kNext;
  }
  vm.cpu.eflags &= ~flag::IF;
  return kNext;
}

HelperResult hSti(Machine::Impl& vm, const hinfo::Info& i, uint32_t) {
  if (vm.cpu.cpl > iopl(vm.cpu)) {
    virtualSti(vm);  // VIF under CR4.VME/PVI, else #GP(0)
    return kNext;
  }
  if (!(vm.cpu.eflags & flag::IF)) inhibitInterrupts(vm, nextEip(vm.cpu, i));
  vm.cpu.eflags |= flag::IF;
  return kNext;
}

HelperResult hPushf(Machine::Impl& vm, const hinfo::Info& i, uint32_t) {
  if (v86Pushf(vm, i.size)) return kNext;  // v8086 mode below IOPL 3: VME's FLAGS, or #GP(0)
  uint32_t f = eflagsOf(vm.cpu) & ~(flag::VM | flag::RF);
  push(vm, i.size, i.size == 2 ? f & 0xffff : f);
  return kNext;
}

// POPF: what may change depends on CPL and IOPL; the rest is silently kept (SDM, POPF).
HelperResult hPopf(Machine::Impl& vm, const hinfo::Info& i, uint32_t) {
  CpuState& c = vm.cpu;
  if (v86Popf(vm, i.size)) return kNext;  // v8086 mode below IOPL 3: VIF, or #GP(0)
  // (in v8086 mode at IOPL 3, CPL 3 = IOPL: IF may change, IOPL not; VM never does)
  uint32_t v = pop(vm, i.size);
  uint32_t mask = flag::kArith | flag::TF | flag::DF | flag::NT | flag::AC | flag::ID;
  if (c.cpl == 0) mask |= flag::IOPL | flag::IF;
  else if (c.cpl <= iopl(c)) mask |= flag::IF;
  if (i.size == 2) mask &= 0xffff;
  c.eflags = (c.eflags & ~mask) | (v & mask);
  c.eflags &= ~flag::RF;
  return kNext;
}

HelperResult hHlt(Machine::Impl& vm, const hinfo::Info& i, uint32_t) {
  requireCpl0(vm);
  vm.cpu.halted = true;
  vm.cpu.eip = nextEip(vm.cpu, i);
  return kEipSet;
}

void loadTableReg(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg, TableReg& r) {
  requireCpl0(vm);
  uint32_t limit = readSeg(vm, i.seg, arg, 2);
  uint32_t base = readSeg(vm, i.seg, arg + 2, 4);
  if (i.size == 2) base &= 0x00ffffff;
  r = TableReg{base, limit};
}

void storeTableReg(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg, const TableReg& r) {
  checkSeg(vm, i.seg, arg, 6, true);
  writeSeg(vm, i.seg, arg, 2, r.limit);
  writeSeg(vm, i.seg, arg + 2, 4, r.base);
}

HelperResult hLgdt(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg) { loadTableReg(vm, i, arg, vm.cpu.gdtr); return kNext; }
HelperResult hLidt(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg) { loadTableReg(vm, i, arg, vm.cpu.idtr); return kNext; }
HelperResult hSgdt(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg) { storeTableReg(vm, i, arg, vm.cpu.gdtr); return kNext; }
HelperResult hSidt(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg) { storeTableReg(vm, i, arg, vm.cpu.idtr); return kNext; }

// SLDT, STR, SMSW to a register write the whole register (P6 and later zero the upper half).
void storeSelectorLike(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg, uint32_t v) {
  if (i.rm_is_mem) writeSeg(vm, i.seg, arg, 2, v & 0xffff);
  else setReg(vm.cpu, i.reg, i.size, i.size == 2 ? v & 0xffff : v);
}

HelperResult hSldt(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg) {
  requireProtectedMode(vm);
  storeSelectorLike(vm, i, arg, vm.cpu.ldtr.selector);
  return kNext;
}
HelperResult hStr(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg) {
  requireProtectedMode(vm);
  storeSelectorLike(vm, i, arg, vm.cpu.tr.selector);
  return kNext;
}
HelperResult hSmsw(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg) {
  storeSelectorLike(vm, i, arg, i.rm_is_mem ? vm.cpu.cr0 & 0xffff : vm.cpu.cr0);
  return kNext;
}

// LLDT and LTR take a GDT selector of a system descriptor of the right type.
Segment systemDescriptor(Machine::Impl& vm, uint16_t sel, uint32_t want_mask, uint32_t* addr, uint32_t* hi) {
  if (sel & 4) raiseException(vm, kVecGP, sel & 0xfffc, true);
  uint32_t lo;
  *addr = readDescriptor(vm, sel, &lo, hi);
  Segment d = descriptorToSegment(sel, lo, *hi);
  uint32_t type = attr::type(d.attr);
  if ((d.attr & attr::kS) || !((1u << type) & want_mask)) raiseException(vm, kVecGP, sel & 0xfffc, true);
  if (!(d.attr & attr::kP)) raiseException(vm, kVecNP, sel & 0xfffc, true);
  return d;
}

HelperResult hLldt(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg) {
  requireProtectedMode(vm);
  requireCpl0(vm);
  uint16_t sel = uint16_t(readRm(vm, i, arg, i.reg, 2));
  if ((sel & 0xfffc) == 0) {
    vm.cpu.ldtr = Segment{sel, 0, 0, 0, false};
    return kNext;
  }
  uint32_t addr, hi;
  vm.cpu.ldtr = systemDescriptor(vm, sel, 1u << 2, &addr, &hi);
  return kNext;
}

HelperResult hLtr(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg) {
  requireProtectedMode(vm);
  requireCpl0(vm);
  uint16_t sel = uint16_t(readRm(vm, i, arg, i.reg, 2));
  if ((sel & 0xfffc) == 0) raiseException(vm, kVecGP, 0, true);
  uint32_t addr, hi;
  Segment d = systemDescriptor(vm, sel, (1u << 1) | (1u << 9), &addr, &hi);
  writeLinear(vm, addr + 4, 4, hi | 0x200, false);  // mark the TSS busy
  d.attr |= 2;
  vm.cpu.tr = d;
  return kNext;
}

void setCr0(Machine::Impl& vm, uint32_t v) {
  CpuState& c = vm.cpu;
  v |= 0x10;  // ET is hardwired on P6
  if ((v & kCr0PG) && !(v & kCr0PE)) raiseException(vm, kVecGP, 0, true);
  // PE may change either way: segment registers keep their cached descriptors until the next
  // load, which is done the new mode's way (the block ends here, and the mode is in its key).
  uint32_t changed = c.cr0 ^ v;
  bool reload = paePaging(v, c.cr4) && (changed & (kCr0PG | kCr0CD | kCr0NW));
  if (reload) loadPdptesOrFault(vm, c.cr3);
  c.cr0 = v;
  // Shadow entries keep the guest's own R/W and U/S (WP is applied at lookup) and watched table
  // pages stay write-protected with paging off, so neither WP nor PG makes them stale: the
  // address space is the same, only the soft TLB (whose write tags follow WP) must go.
  if (reload || (changed & (kCr0PG | kCr0PE))) {
    vm.mmu.cr3Written();
    vm.dbt->flushJumpCache();
  } else if (changed & kCr0WP) {
    vm.mmu.flushAll();
    vm.dbt->flushJumpCache();
  }
}

HelperResult hLmsw(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg) {
  requireCpl0(vm);
  uint32_t v = readRm(vm, i, arg, i.reg, 2);
  uint32_t cr0 = vm.cpu.cr0;
  setCr0(vm, (cr0 & ~0xeu) | (v & 0xf) | (cr0 & kCr0PE));
  return kNext;
}

HelperResult hClts(Machine::Impl& vm, const hinfo::Info&, uint32_t) {
  requireCpl0(vm);
  vm.cpu.cr0 &= ~kCr0TS;
  return kNext;
}

HelperResult hMovToCr(Machine::Impl& vm, const hinfo::Info& i, uint32_t) {
  requireCpl0(vm);
  CpuState& c = vm.cpu;
  uint32_t v = c.regs[i.rm];
  switch (i.reg) {
    case 0: setCr0(vm, v); break;
    case 2: c.cr2 = v; break;
    case 3:
      if (paePaging(c.cr0, c.cr4)) loadPdptesOrFault(vm, v);
      c.cr3 = v;
      vm.mmu.cr3Loaded();
      vm.dbt->flushJumpCache();
      break;
    case 4:
      if (v & ~vm.model.cr4WritableMask()) raiseException(vm, kVecGP, 0, true);
      if (paePaging(c.cr0, v) && ((c.cr4 ^ v) & (kCr4PAE | kCr4PGE | kCr4PSE))) loadPdptesOrFault(vm, c.cr3);
      {
        bool format_changed = (c.cr4 ^ v) & (kCr4PAE | kCr4PSE);
        c.cr4 = v;
        // Only PAE and PSE change what the guest's tables mean. Otherwise (Linux toggles PGE to
        // flush global pages) the shadow tables stay: they never hold a stale translation. The
        // soft TLB goes, and the PDPTEs just loaded may select another address space.
        if (format_changed) vm.mmu.pagingModeChanged();
        else vm.mmu.cr3Written();
        debugCr4Written(vm);  // DE: I/O breakpoints
      }
      vm.dbt->flushJumpCache();
      break;
    default: raiseException(vm, 6, 0, false);
  }
  return kNext;
}

HelperResult hMovFromCr(Machine::Impl& vm, const hinfo::Info& i, uint32_t) {
  requireCpl0(vm);
  CpuState& c = vm.cpu;
  uint32_t v;
  switch (i.rm) {
    case 0: v = c.cr0; break;
    case 2: v = c.cr2; break;
    case 3: v = c.cr3; break;
    case 4: v = c.cr4; break;
    default: raiseException(vm, 6, 0, false);
  }
  c.regs[i.reg] = v;
  return kNext;
}

HelperResult hMovToDr(Machine::Impl& vm, const hinfo::Info& i, uint32_t) {
  requireCpl0(vm);
  writeDebugRegister(vm, i.reg, vm.cpu.regs[i.rm]);
  return kNext;
}

HelperResult hMovFromDr(Machine::Impl& vm, const hinfo::Info& i, uint32_t) {
  requireCpl0(vm);
  vm.cpu.regs[i.reg] = readDebugRegister(vm, i.rm);
  return kNext;
}

HelperResult hInvlpg(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg) {
  requireCpl0(vm);
  vm.mmu.invlpg(vm.cpu.seg[i.seg].base + arg);
  vm.dbt->flushJumpCache();
  return kNext;
}

HelperResult hCacheOp(Machine::Impl& vm, const hinfo::Info&, uint32_t) {
  requireCpl0(vm);
  return kNext;
}

// The MSRs of the CPU model (emu/cpu/cpu_model.h); any other raises #GP(0) as on hardware.
HelperResult hRdmsr(Machine::Impl& vm, const hinfo::Info&, uint32_t) {
  requireCpl0(vm);
  CpuState& c = vm.cpu;
  uint64_t v;
  if (!vm.model.rdmsr(c.regs[ECX], retiredInsns(vm) + vm.idle_ns, &v)) raiseException(vm, kVecGP, 0, true);
  c.regs[EAX] = uint32_t(v);
  c.regs[EDX] = uint32_t(v >> 32);
  return kNext;
}

HelperResult hWrmsr(Machine::Impl& vm, const hinfo::Info&, uint32_t) {
  requireCpl0(vm);
  CpuState& c = vm.cpu;
  uint64_t v = uint64_t(c.regs[EDX]) << 32 | c.regs[EAX];
  if (!vm.model.wrmsr(c.regs[ECX], retiredInsns(vm) + vm.idle_ns, v)) raiseException(vm, kVecGP, 0, true);
  refreshTscBase(vm);  // the TSC offset may have changed
  return kNext;
}

}  // namespace

void registerSystemHelpers(Helper* t) {
  using H = HelperId;
  t[size_t(H::Cli)] = hCli;
  t[size_t(H::Sti)] = hSti;
  t[size_t(H::Pushf)] = hPushf;
  t[size_t(H::Popf)] = hPopf;
  t[size_t(H::Hlt)] = hHlt;
  t[size_t(H::Lgdt)] = hLgdt;
  t[size_t(H::Lidt)] = hLidt;
  t[size_t(H::Sgdt)] = hSgdt;
  t[size_t(H::Sidt)] = hSidt;
  t[size_t(H::Sldt)] = hSldt;
  t[size_t(H::Str)] = hStr;
  t[size_t(H::Smsw)] = hSmsw;
  t[size_t(H::Lldt)] = hLldt;
  t[size_t(H::Ltr)] = hLtr;
  t[size_t(H::Lmsw)] = hLmsw;
  t[size_t(H::Clts)] = hClts;
  t[size_t(H::MovToCr)] = hMovToCr;
  t[size_t(H::MovFromCr)] = hMovFromCr;
  t[size_t(H::MovToDr)] = hMovToDr;
  t[size_t(H::MovFromDr)] = hMovFromDr;
  t[size_t(H::Invlpg)] = hInvlpg;
  t[size_t(H::Invd)] = hCacheOp;
  t[size_t(H::Wbinvd)] = hCacheOp;
  t[size_t(H::Rdmsr)] = hRdmsr;
  t[size_t(H::Wrmsr)] = hWrmsr;
}

}  // namespace btvm
