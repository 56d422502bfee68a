// Trace events: a snapshot of the virtual state before a privileged or sensitive instruction, a
// diff after it (or the fault it raised), written as one JSON line.
#include <capstone/capstone.h>
#include <fmt/core.h>

#include "emu/vm.h"
#include "mmu/segments.h"

namespace btvm {

namespace {

const char* const kRegNames[8] = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"};
const char* const kSegNames[6] = {"es", "cs", "ss", "ds", "fs", "gs"};

TraceSnapshot snapshot(const CpuState& c) {
  TraceSnapshot s{};
  for (int r = 0; r < 8; ++r) s.regs[r] = c.regs[r];
  s.eflags = c.eflags;
  s.cr0 = c.cr0;
  s.cr3 = c.cr3;
  s.cr4 = c.cr4;
  for (int i = 0; i < 6; ++i) s.sel[i] = c.seg[i].selector;
  s.ldtr = c.ldtr.selector;
  s.tr = c.tr.selector;
  s.cpl = c.cpl;
  s.gdtr = c.gdtr;
  s.idtr = c.idtr;
  return s;
}

void flagChange(std::string& out, const char* name, uint32_t a, uint32_t b, uint32_t mask, int shift) {
  if ((a & mask) != (b & mask)) out += fmt::format("{}={}->{} ", name, (a & mask) >> shift, (b & mask) >> shift);
}

// Only what differs: registers, flags by name, selectors, CPL, table registers, CRs, stores.
std::string diff(const TraceSnapshot& a, const TraceSnapshot& b, const OpenTraceEvent& ev) {
  std::string o;
  for (int r = 0; r < 8; ++r)
    if (a.regs[r] != b.regs[r]) o += fmt::format("{}={:08x}->{:08x} ", kRegNames[r], a.regs[r], b.regs[r]);
  flagChange(o, "IF", a.eflags, b.eflags, flag::IF, 9);
  flagChange(o, "IOPL", a.eflags, b.eflags, flag::IOPL, 12);
  flagChange(o, "ZF", a.eflags, b.eflags, flag::ZF, 6);
  flagChange(o, "CF", a.eflags, b.eflags, flag::CF, 0);
  flagChange(o, "TF", a.eflags, b.eflags, flag::TF, 8);
  flagChange(o, "DF", a.eflags, b.eflags, flag::DF, 10);
  flagChange(o, "NT", a.eflags, b.eflags, flag::NT, 14);
  for (int i = 0; i < 6; ++i)
    if (a.sel[i] != b.sel[i]) o += fmt::format("{}={:04x}->{:04x} ", kSegNames[i], a.sel[i], b.sel[i]);
  if (a.cpl != b.cpl) o += fmt::format("cpl={}->{} ", a.cpl, b.cpl);
  if (a.gdtr.base != b.gdtr.base || a.gdtr.limit != b.gdtr.limit)
    o += fmt::format("gdtr={:08x}/{:x} ", b.gdtr.base, b.gdtr.limit);
  if (a.idtr.base != b.idtr.base || a.idtr.limit != b.idtr.limit)
    o += fmt::format("idtr={:08x}/{:x} ", b.idtr.base, b.idtr.limit);
  if (a.ldtr != b.ldtr) o += fmt::format("ldtr={:04x} ", b.ldtr);
  if (a.tr != b.tr) o += fmt::format("tr={:04x} ", b.tr);
  if (a.cr0 != b.cr0) o += fmt::format("cr0={:08x}->{:08x} ", a.cr0, b.cr0);
  if (a.cr3 != b.cr3) o += fmt::format("cr3={:08x}->{:08x} ", a.cr3, b.cr3);
  if (a.cr4 != b.cr4) o += fmt::format("cr4={:08x}->{:08x} ", a.cr4, b.cr4);
  for (size_t i = 0; i < ev.writes.size(); ++i)
    o += fmt::format("mem[{:08x}]<-{:0{}x} ", ev.writes[i].first, ev.writes[i].second, ev.write_sizes[i] * 2);
  if (!o.empty()) o.pop_back();
  return o;
}

// The instruction's bytes and mnemonic, decoded again from guest memory (tracing is the slow
// path), with the CS base and code size it ran with (a far transfer changes them).
void describe(Machine::Impl& vm, const OpenTraceEvent& ev, std::string* bytes, std::string* mnemonic) {
  static csh handles[2] = {[] {
    csh x;
    cs_open(CS_ARCH_X86, CS_MODE_32, &x);
    return x;
  }(), [] {
    csh x;
    cs_open(CS_ARCH_X86, CS_MODE_16, &x);
    return x;
  }()};
  csh h = handles[ev.code16 ? 1 : 0];
  uint32_t eip = ev.eip;
  uint8_t buf[15];
  size_t n = 0;
  for (; n < 15; ++n) {
    uint64_t phys;
    uint32_t err;
    uint32_t lin = ev.cs_base + eip + uint32_t(n);
    if (!vm.mmu.translate(lin, Access::Exec, vm.cpu.cpl == 3, &phys, &err)) break;
    buf[n] = vm.mem.read8(phys);
  }
  cs_insn* insn = nullptr;
  if (cs_disasm(h, buf, n, eip, 1, &insn) == 1) {
    for (size_t i = 0; i < insn->size; ++i) *bytes += fmt::format("{:02x}", buf[i]);
    *mnemonic = insn->mnemonic;
    cs_free(insn, 1);
  } else {
    *mnemonic = "(unknown)";
  }
}

}  // namespace

void traceBegin(Machine::Impl& vm, HelperId h, Handling how) {
  OpenTraceEvent& ev = vm.trace_event;
  ev.open = true;
  ev.helper = h;
  ev.how = how;
  ev.eip = vm.cpu.eip;
  ev.cs_base = vm.cpu.seg[CS].base;
  ev.code16 = !(vm.cpu.seg[CS].attr & attr::kDB);
  ev.before = snapshot(vm.cpu);
  if (vm.depriv_saved_cpl >= 0) ev.before.cpl = uint8_t(vm.depriv_saved_cpl);
  ev.writes.clear();
  ev.write_sizes.clear();
}

void traceEnd(Machine::Impl& vm, const char* fault) {
  OpenTraceEvent& ev = vm.trace_event;
  if (!ev.open) return;
  ev.open = false;
  TraceEvent e;
  e.seq = ++vm.trace_seq;
  e.eip = ev.eip;
  e.cpl = ev.before.cpl;
  bool deprivileged = vm.config.mode != VirtMode::Translate;
  e.real_cpl = e.cpl == 3 ? 3 : (deprivileged ? 3 : 1);
  describe(vm, ev, &e.bytes, &e.mnemonic);
  e.cls = (helperClass(ev.helper) & cls::kPrivileged) ? "privileged" : "sensitive";
  e.handling = ev.how;
  TraceSnapshot after = snapshot(vm.cpu);
  if (vm.depriv_saved_cpl >= 0) after.cpl = uint8_t(vm.depriv_saved_cpl);
  e.state = fault ? std::string(fault) : diff(ev.before, after, ev);
  vm.trace->write(e);
}

}  // namespace btvm
