#include "tests/diff/oracle.h"

#include <unicorn/unicorn.h>

#include <stdexcept>
#include <string>

namespace diff {
namespace {

constexpr int kUcRegs[8] = {UC_X86_REG_EAX, UC_X86_REG_ECX, UC_X86_REG_EDX, UC_X86_REG_EBX,
                            UC_X86_REG_ESP, UC_X86_REG_EBP, UC_X86_REG_ESI, UC_X86_REG_EDI};

void check(uc_err e, const char* what) {
  if (e != UC_ERR_OK) throw std::runtime_error(std::string(what) + ": " + uc_strerror(e));
}

GuestState readState(uc_engine* uc) {
  GuestState s{};
  for (int i = 0; i < 8; i++) uc_reg_read(uc, kUcRegs[i], &s.regs[i]);
  uc_reg_read(uc, UC_X86_REG_EIP, &s.eip);
  uc_reg_read(uc, UC_X86_REG_EFLAGS, &s.eflags);
  return s;
}

// State shared with the hooks for one run.
struct RunCtx {
  const StepFn* onStep;
  MemRead read;
  bool faulted = false;
  int vector = -1;
  GuestState atFault{};
};

void onCode(uc_engine* uc, uint64_t, uint32_t, void* user) {
  auto* c = static_cast<RunCtx*>(user);
  if (c->onStep && *c->onStep) (*c->onStep)(readState(uc), c->read);
}

// Called before Unicorn would deliver the exception; EIP still names the faulting instruction
// for faults (#DE). Afterwards Unicorn would resume at a stale "next EIP", so snapshot and stop.
void onIntr(uc_engine* uc, uint32_t intno, void* user) {
  auto* c = static_cast<RunCtx*>(user);
  if (!c->faulted) {
    c->faulted = true;
    c->vector = int(intno);
    c->atFault = readState(uc);
  }
  uc_emu_stop(uc);
}

}  // namespace

// The oracle is the same CPU model as btvm (a Pentium II): with a later model it would agree
// with decodings a P6 lacks (F3 0F BC run as TZCNT instead of BSF).
UnicornCpu::UnicornCpu() {
  check(uc_open(UC_ARCH_X86, UC_MODE_32, &uc_), "uc_open");
  check(uc_ctl_set_cpu_model(uc_, UC_CPU_X86_PENTIUM2), "uc_ctl_set_cpu_model(PENTIUM2)");
}
UnicornCpu::~UnicornCpu() { uc_close(uc_); }

void UnicornCpu::map(uint32_t addr, uint32_t size) {
  check(uc_mem_map(uc_, addr, size, UC_PROT_ALL), "uc_mem_map");
}
void UnicornCpu::write(uint32_t addr, const void* src, size_t n) {
  check(uc_mem_write(uc_, addr, src, n), "uc_mem_write");
}
bool UnicornCpu::read(uint32_t addr, void* dst, size_t n) const {
  return uc_mem_read(uc_, addr, dst, n) == UC_ERR_OK;
}
void UnicornCpu::setState(const GuestState& s) {
  for (int i = 0; i < 8; i++) uc_reg_write(uc_, kUcRegs[i], &s.regs[i]);
  uc_reg_write(uc_, UC_X86_REG_EIP, &s.eip);
  uc_reg_write(uc_, UC_X86_REG_EFLAGS, &s.eflags);
}
GuestState UnicornCpu::state() const { return readState(uc_); }

Outcome UnicornCpu::runUntil(uint32_t end, uint64_t maxInsns, const StepFn& onStep) {
  RunCtx c{&onStep, [this](uint32_t a, void* d, size_t n) { return read(a, d, n); }};
  uc_hook hc = 0, hi = 0;
  if (onStep) check(uc_hook_add(uc_, &hc, UC_HOOK_CODE, (void*)onCode, &c, 1, 0), "hook code");
  check(uc_hook_add(uc_, &hi, UC_HOOK_INTR, (void*)onIntr, &c, 1, 0), "hook intr");
  uint32_t start = state().eip;
  uc_err e = uc_emu_start(uc_, start, end, 0, maxInsns);
  if (hc) uc_hook_del(uc_, hc);
  uc_hook_del(uc_, hi);

  Outcome o;
  if (c.faulted) {
    o.kind = OutKind::Exception;
    o.vector = c.vector;
    o.st = c.atFault;
  } else if (e == UC_ERR_INSN_INVALID) {  // #UD never reaches the interrupt hook
    o.kind = OutKind::Exception;
    o.vector = 6;
    o.st = state();
  } else if (e != UC_ERR_OK) {
    o.st = state();
    o.message = std::string("unicorn: ") + uc_strerror(e);
  } else {
    o.st = state();
    if (o.st.eip == end) o.kind = OutKind::Completed;
    else o.message = "unicorn: stopped before the final hlt (instruction limit?)";
  }
  return o;
}

Outcome runOracle(const CaseInput& in, const StepFn& onStep) {
  UnicornCpu cpu;
  cpu.map(kMapBase, kMapEnd - kMapBase);
  cpu.write(kCode, in.code.data(), in.code.size());
  cpu.write(kData, in.data.data(), in.data.size());
  cpu.write(kStack, in.stack.data(), in.stack.size());
  cpu.setState(in.init);
  Outcome o = cpu.runUntil(in.endEip(), 100000, onStep);
  o.data.resize(kDataSize);
  o.stack.resize(kStackSize);
  cpu.read(kData, o.data.data(), kDataSize);
  cpu.read(kStack, o.stack.data(), kStackSize);
  return o;
}

}  // namespace diff
