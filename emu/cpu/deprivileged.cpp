// --mode trap: the sensitive-but-unprivileged instructions as real hardware runs them for a guest
// kernel that a trap-and-emulate VMM deprivileged to CPL 3. They do not trap, so they see the
// VMM's real state (its GDT/IDT/TR/CR0, IF=1, IOPL=0, CPL 3) instead of the guest's virtual state.
#include "emu/cpu/guest_access.h"
#include "emu/cpu/helpers.h"
#include "mmu/segments.h"

namespace btvm {

namespace {

// The VMM's own state, as a deprivileged guest would read it.
constexpr TableReg kVmmGdtr{0xffc00000u, 0x0fff};
constexpr TableReg kVmmIdtr{0xffc01000u, 0x07ff};
constexpr uint16_t kVmmTr = 0x0040;
constexpr uint16_t kVmmLdtr = 0;
constexpr uint32_t kVmmCr0 = 0x8005003bu;  // PE MP TS ET NE WP AM PG
constexpr uint8_t kRealCpl = 3;

void storeTable(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg, const TableReg& r) {
  checkSeg(vm, i.seg, arg, 6, true);
  writeSeg(vm, i.seg, arg, 2, r.limit);
  writeSeg(vm, i.seg, arg + 2, 4, r.base);
}

void storeWord(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg, uint32_t v) {
  if (i.rm_is_mem) writeSeg(vm, i.seg, arg, 2, v & 0xffff);
  else setReg(vm.cpu, i.reg, i.size, i.size == 2 ? v & 0xffff : v);
}

// The selector a segment register really holds: the VMM runs the guest's CS and SS at RPL 3.
uint16_t realSelector(const CpuState& c, int seg) {
  uint16_t s = c.seg[seg].selector;
  return (seg == CS || seg == SS) ? uint16_t(s | kRealCpl) : s;
}

// Runs the normal helper with the real CPL, so descriptor and gate checks answer for CPL 3.
HelperResultCode atRealCpl(Machine::Impl& vm, HelperId h, const hinfo::Info& i, uint32_t arg) {
  CpuState& c = vm.cpu;
  vm.depriv_saved_cpl = c.cpl;
  c.cpl = kRealCpl;
  HelperResultCode r = helperFunction(h)(vm, i, arg);
  c.cpl = uint8_t(vm.depriv_saved_cpl);
  vm.depriv_saved_cpl = -1;
  return r;
}

}  // namespace

HelperResultCode runDeprivileged(Machine::Impl& vm, HelperId h, const hinfo::Info& i, uint32_t arg) {
  CpuState& c = vm.cpu;
  switch (h) {
    case HelperId::Sgdt: storeTable(vm, i, arg, kVmmGdtr); return kNext;
    case HelperId::Sidt: storeTable(vm, i, arg, kVmmIdtr); return kNext;
    case HelperId::Sldt: storeWord(vm, i, arg, kVmmLdtr); return kNext;
    case HelperId::Str: storeWord(vm, i, arg, kVmmTr); return kNext;
    case HelperId::Smsw: storeWord(vm, i, arg, i.rm_is_mem ? kVmmCr0 & 0xffff : kVmmCr0); return kNext;
    case HelperId::Pushf: {
      // The real EFLAGS: interrupts on (the VMM keeps them on), IOPL 0.
      uint32_t f = (eflagsOf(c) & ~(flag::VM | flag::RF | flag::IOPL)) | flag::IF;
      push(vm, i.size, i.size == 2 ? f & 0xffff : f);
      return kNext;
    }
    case HelperId::Popf: {
      // CPL 3 > IOPL 0: IF and IOPL are silently left alone.
      uint32_t v = pop(vm, i.size);
      uint32_t mask = flag::kArith | flag::TF | flag::DF | flag::NT | flag::AC | flag::ID;
      if (i.size == 2) mask &= 0xffff;
      c.eflags = (c.eflags & ~mask) | (v & mask);
      return kNext;
    }
    case HelperId::MovFromSeg:
      if (i.rm_is_mem) writeSeg(vm, i.seg, arg, 2, realSelector(c, i.reg));
      else setReg(c, i.reg, i.size, realSelector(c, i.rm));
      return kNext;
    case HelperId::PushSeg:
      push(vm, i.size, realSelector(c, i.reg));
      return kNext;
    case HelperId::Int:
    case HelperId::Int3:
    case HelperId::Into: {
      // The gate's DPL is checked against the real CPL before anything else.
      uint32_t vec = h == HelperId::Int ? (i.imm & 0xff) : h == HelperId::Int3 ? 3 : 4;
      if (h == HelperId::Into && !(c.eflags & flag::OF)) break;
      if (vec * 8 + 7 <= c.idtr.limit) {
        uint32_t hi = readLinear(vm, c.idtr.base + vec * 8 + 4, 4, false);
        if (((hi >> 13) & 3) < kRealCpl) raiseException(vm, kVecGP, vec * 8 + 2, true);
      }
      break;
    }
    default:
      return atRealCpl(vm, h, i, arg);
  }
  return helperFunction(h)(vm, i, arg);
}

}  // namespace btvm
