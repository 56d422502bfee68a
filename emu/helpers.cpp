// The helper table translated code calls, and the wrapper that every helper runs in.
#include "emu/helpers.h"

#include <capstone/capstone.h>

#include "emu/guest_access.h"

namespace btvm {

uint32_t getReg(const CpuState& c, int num, unsigned size) {
  if (size == 1) return num < 4 ? c.regs[num] & 0xff : (c.regs[num - 4] >> 8) & 0xff;
  if (size == 2) return c.regs[num] & 0xffff;
  return c.regs[num];
}

void setReg(CpuState& c, int num, unsigned size, uint32_t v) {
  if (size == 1) {
    if (num < 4) c.regs[num] = (c.regs[num] & ~0xffu) | (v & 0xff);
    else c.regs[num - 4] = (c.regs[num - 4] & ~0xff00u) | ((v & 0xff) << 8);
  } else if (size == 2) {
    c.regs[num] = (c.regs[num] & ~0xffffu) | (v & 0xffff);
  } else {
    c.regs[num] = v;
  }
}

uint32_t readRm(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg, int reg, unsigned size) {
  return i.rm_is_mem ? readSeg(vm, i.seg, arg, size) : getReg(vm.cpu, reg, size);
}

void writeRm(Machine::Impl& vm, const hinfo::Info& i, uint32_t arg, int reg, unsigned size, uint32_t v) {
  if (i.rm_is_mem) writeSeg(vm, i.seg, arg, size, v);
  else setReg(vm.cpu, reg, size, v);
}

uint32_t szpFlags(uint32_t v, unsigned size) {
  uint32_t mask = size == 1 ? 0xff : size == 2 ? 0xffff : 0xffffffffu;
  v &= mask;
  uint32_t f = 0;
  if (v == 0) f |= flag::ZF;
  if (v & ((mask >> 1) + 1)) f |= flag::SF;
  if (!__builtin_parity(v & 0xff)) f |= flag::PF;
  return f;
}

namespace {

Helper gTable[size_t(HelperId::Count)];

// Runs helper H. A helper whose memory writes hit translated code finishes its instruction and
// then leaves the block, so the rest of the block (maybe stale) does not run.
template <HelperId H>
uint64_t wrapped(CpuState* cpu, uint64_t arg, uint64_t info) {
  Machine::Impl& vm = vmOf(cpu);
  hinfo::Info i = hinfo::unpack(info);
  HelperResult r = gTable[size_t(H)](vm, i, uint32_t(arg));
  if (cpu->exit_after_insn) {
    cpu->exit_after_insn = false;
    if (r == kNext) cpu->eip += i.length;
    leaveToDispatcher(vm, kJumpContinue);
  }
  return r;
}

template <size_t... N>
void fillWrappers(HelperFn* out, std::index_sequence<N...>) {
  ((out[N] = &wrapped<HelperId(N)>), ...);
}

uint64_t raiseUd(CpuState* cpu, uint64_t capstone_id, uint64_t) {
  Machine::Impl& vm = vmOf(cpu);
  if (capstone_id != 0) {
    static csh names = [] {
      csh h;
      cs_open(CS_ARCH_X86, CS_MODE_32, &h);
      return h;
    }();
    const char* n = cs_insn_name(names, unsigned(capstone_id));
    ++vm.stats.unimplemented_ud[n ? n : "(unknown)"];
  }
  raiseException(vm, 6, 0, false);
}

HelperResult missing(Machine::Impl& vm, const hinfo::Info&, uint32_t) { raiseException(vm, 6, 0, false); }

}  // namespace

void installAccessHooks(DbtHooks& h);
bool codePhys(CpuState* cpu, uint32_t linear, bool raise, uint64_t* phys);

DbtHooks makeDbtHooks() {
  for (auto& h : gTable) h = missing;
  registerArithHelpers(gTable);
  registerStringHelpers(gTable);
  registerSystemHelpers(gTable);
  registerSegmentHelpers(gTable);
  DbtHooks hooks{};
  installAccessHooks(hooks);
  hooks.raise_ud = raiseUd;
  hooks.code_phys = codePhys;
  fillWrappers(hooks.helpers, std::make_index_sequence<size_t(HelperId::Count)>());
  return hooks;
}

}  // namespace btvm
