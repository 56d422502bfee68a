// The machine and its dispatcher loop: find (or translate) the block for the current state, chain
// it to the block that just left, run it, and handle whatever made translated code leave.
#include "emu/machine.h"

#include <fmt/core.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "dbt/host_fault.h"
#include "emu/cpu/debug_regs.h"
#include "emu/cpu/descriptors.h"
#include "emu/cpu/fpu.h"
#include "emu/cpu/guest_access.h"
#include "emu/cpu/reset.h"
#include "emu/boot/bios.h"
#include "emu/boot/firmware.h"
#include "emu/boot/fw_cfg_boot.h"
#include "emu/boot/linux.h"
#include "emu/boot/multiboot.h"
#include "emu/block_key.h"
#include "emu/debug/gdbstub.h"
#include "emu/debug/snapshot.h"
#include "emu/vm.h"
#include "mmu/segments.h"

namespace btvm {

namespace {
constexpr uint32_t kGdtAddr = 0x800;
// The most translated code can be given at once (its budget register lives in a region of that
// many bytes: dbt/budget.h).
constexpr int64_t kSliceInsns = kMaxBudget - 1;
// Instructions run between looks at the host clock (--clock host) or the console's keys: a
// fraction of a millisecond of host time.
constexpr int64_t kHostSliceInsns = 200000;
}  // namespace

// The i440FX's PAM registers, as far as they change anything: over the ROM's window below 1 MiB
// (PhysMemory::setShadow; elsewhere 0xC0000-0xFFFFF is RAM whatever they say).
static void applyPam(Machine::Impl& vm, const uint8_t* pam) {
  bool changed = vm.mem.setShadow(0xf0000, 0x10000, pam[0] & 0x10, pam[0] & 0x20);
  for (unsigned k = 0; k < 12; ++k) {  // PAM1..6, low nibble first: 16 KiB each from 0xC0000
    unsigned nibble = pam[1 + k / 2] >> (4 * (k % 2));
    changed |= vm.mem.setShadow(0xc0000 + k * 0x4000, 0x4000, nibble & 1, nibble & 2);
  }
  // Write tags and host pointers follow the new rights; code translated from bytes that no
  // longer show is dropped, and the writing instruction ends its block.
  vm.mmu.flushAll();
  if (changed && vm.dbt->invalidate(0xc0000, 0x40000)) vm.cpu.exit_after_insn = true;
}

bool codePhys(CpuState* cpu, uint32_t linear, bool raise, uint64_t* phys) {
  Machine::Impl& vm = vmOf(cpu);
  uint32_t err;
  if (vm.mmu.translate(linear, Access::Exec, cpu->cpl == 3, phys, &err)) return true;
  if (raise) {
    ++vm.mmu.stats.true_faults;
    cpu->cr2 = linear;
    raiseException(vm, 14, err, true);
  }
  return false;
}

Machine::Impl::Impl(const MachineConfig& c)
    : config(c),
      cpu_owner(std::make_unique<CpuState>()),
      cpu(*cpu_owner),
      mem(c.ram_bytes, c.host_mem_bytes, c.host_mmu),
      mmu(cpu, mem, c.shadow_cache),
      console(ConsoleConfig{c.serial_in_fd, c.serial_out_fd, c.serial_interactive}),
      journal_serial(c.journal ? std::make_unique<JournalSerial>(console, *c.journal) : nullptr),
      serial(journal_serial ? static_cast<SerialInput&>(*journal_serial) : console),
      platform(
          [this] { return nowNs(*this); }, c.ram_bytes,
          [this](const char* how) {
            stopRun(*this, ExitKind::Reset, exit_status::kReset, fmt::format("guest reset the machine ({})", how));
          },
          [this] { stopRun(*this, ExitKind::PowerOff, exit_status::kPowerOff, "guest powered off"); }, &serial,
          rtcEpoch(c),
          [this] {
            nmi_pending = true;
            requestDispatcher(*this);
          }) {
  cpu.vm = this;
  host_start_ns = hostMonotonicNs();
  if (c.journal) attachJournal(*this);
  console.on_quit = [this] { stopRun(*this, ExitKind::Quit, exit_status::kOk, "Terminated (Ctrl-A x)"); };
  // A real page leaving host memory must not stay reachable through a soft-TLB host pointer.
  mem.setEvictionHook([this](uint64_t paddr) { mmu.physPageGone(paddr); });
  if (c.host_mmu) {
    host_mmu = std::make_unique<HostMmu>(mem, cpu);
    mmu.attachHost(host_mmu.get());
    mmu.setLinearWatch([this](uint32_t linear) { return linearPageWatched(*this, linear); });
  }
  platform.attach(io, mmio);
  // The local APIC owns its MSR.
  model.apic_base_read = [this] { return platform.lapic.baseMsr(); };
  model.advertise_apic = c.cpuid_apic;
  model.apic_base_write = [this](uint64_t v) { return platform.setApicBase(v); };
  if (c.debugcon_fd != -1) {  // -2: the port is there, its bytes go nowhere
    debugcon = std::make_unique<DebugCon>(c.debugcon_fd);
    // On the same descriptor as COM1 (both on stdio), COM1's buffered line goes out first.
    if (c.debugcon_fd == c.serial_out_fd) debugcon->before_write = [this] { console.flush(); };
    debugcon->attach(io, c.debugcon_port);
  }
  platform.pci.on_pam = [this](const uint8_t* pam) { applyPam(*this, pam); };
  platform.on_a20 = [this](bool on) {
    if (on == mmu.a20()) return;
    mmu.setA20(on);
    // Blocks are found by physical address, but chained jumps and the jump cache go by linear
    // address: drop every translation once the writing instruction is done.
    flush_code = true;
    cpu.exit_after_insn = true;
  };
  // isa-debug-exit: a write of v ends the run with status (v << 1) | 1.
  io.add(0xf4, 4, nullptr, [this](uint16_t, unsigned, uint32_t v) {
    stopRun(*this, ExitKind::DebugExit, int(((v << 1) | 1) & 0xff), "");
  });
  DbtConfig dc;
  dc.code_cache_bytes = c.code_cache_bytes;
  dc.log_in_asm = c.log.in_asm;
  dc.log_out_asm = c.log.out_asm;
  dc.mode = c.mode;
  dc.host_mmu = c.host_mmu;
  dc.time_phases = c.stats;
  if (!c.trace_path.empty()) trace = std::make_unique<TraceWriter>(c.trace_path);
  dbt = std::make_unique<Dbt>(cpu, mem, makeDbtHooks(), dc);
  if (!c.gdb_listen.empty()) gdb = std::make_unique<GdbStub>(*this, c.gdb_listen, c.gdb_wait);
  // Exact device events cost one-off translations (~40% on a Linux boot): only where a run
  // must be re-done from a snapshot with an empty code cache and meet its events at the same
  // counts (reverse execution), which needs the recording it replays made the same way.
  exact_budget = !c.host_clock && (c.snapshot_every || c.journal);
  if (c.snapshot_every)
    history = std::make_unique<SnapshotHistory>(
        *this, MachineSnapshotConfig{c.snapshot_every, size_t(c.snapshot_limit), c.snapshot_memory});
  // What a re-run of history prints was printed the first time.
  if (history && journal_serial)
    journal_serial->muted = [this] { return (in_translated ? retiredInsns(*this) : executed) < history->highWater(); };
}

Machine::Machine(const MachineConfig& config) : impl_(std::make_unique<Impl>(config)) {}
Machine::~Machine() {
  if (impl_->config.journal) impl_->config.journal->detach();
}

CpuState& Machine::cpu() { return impl_->cpu; }
uint8_t* Machine::ram() { return impl_->mem.base(); }
uint64_t Machine::ramSize() const { return impl_->mem.size(); }
uint64_t Machine::instructionsExecuted() const { return impl_->executed; }

void Machine::setFlatProtectedMode(uint16_t code_sel, uint16_t data_sel) {
  CpuState& c = impl_->cpu;
  PhysMemory& m = impl_->mem;
  uint16_t top = std::max(code_sel, data_sel);
  m.fill(kGdtAddr, 0, top + 8u);
  m.write32(kGdtAddr + code_sel, 0x0000ffff);
  m.write32(kGdtAddr + code_sel + 4, 0x00cf9b00);
  m.write32(kGdtAddr + data_sel, 0x0000ffff);
  m.write32(kGdtAddr + data_sel + 4, 0x00cf9300);
  c.gdtr = TableReg{kGdtAddr, uint32_t(top + 7)};
  c.idtr = TableReg{0, 0};
  c.seg[CS] = flatSegment(code_sel, true, 0);
  for (int s : {ES, SS, DS, FS, GS}) c.seg[s] = flatSegment(data_sel, false, 0);
  c.ldtr = Segment{0, 0, 0, 0, false};
  c.tr = Segment{0, 0, 0, 0, false};
  c.cr0 = 0x11;  // PE, ET
  fpu::resetState(c);
  c.cr2 = c.cr3 = c.cr4 = 0;
  for (uint64_t& e : c.pdpte) e = 0;
  c.cpl = 0;
  c.eflags = flag::kFixed1;
  c.regs[ESP] = 0x7c00;
  c.halted = false;
  impl_->mmu.flushAll();
}

// What every loader does first: the firmware's tables in memory and its device set-up.
static void firmwareSetup(Machine::Impl& vm) {
  installFirmware(vm.mem);
  vm.platform.biosSetup();
}

void Machine::loadMultiboot(const std::string& path) {
  firmwareSetup(*impl_);
  MultibootEntry e = loadMultibootKernel(path, impl_->mem, impl_->config.append, impl_->config.initrd);
  describeMultibootBoot(impl_->platform.fw_cfg, e, impl_->mem);
  setFlatProtectedMode();
  CpuState& c = impl_->cpu;
  c.regs[EAX] = 0x2badb002;
  c.regs[EBX] = e.mbi;
  c.eip = e.entry;
}

void Machine::loadKernel(const std::string& path) {
  std::vector<uint8_t> image = readImageFile(path, "kernel image");
  if (!isLinuxBzImage(image)) {
    loadMultiboot(path);
    return;
  }
  describeLinuxBoot(impl_->platform.fw_cfg, image, impl_->config.initrd, impl_->config.append, impl_->mem.size());
  firmwareSetup(*impl_);
  LinuxEntry e = loadLinux(path, image, impl_->config.initrd, impl_->config.append, impl_->mem);
  // The 32-bit boot protocol's entry state: __BOOT_CS 0x10 and __BOOT_DS 0x18 flat, interrupts
  // off, ESI at the zero page, EBP, EDI and EBX zero.
  setFlatProtectedMode(0x10, 0x18);
  CpuState& c = impl_->cpu;
  for (uint32_t& r : c.regs) r = 0;
  c.regs[ESI] = e.boot_params;
  c.regs[ESP] = 0x9e000;  // the protocol leaves the stack to the kernel; give it a usable one
  c.eip = e.entry;
}

void Machine::loadBios(const std::string& path) {
  loadBiosImage(path, impl_->mem);
  resetCpu(impl_->cpu, impl_->model.signature());
  impl_->mmu.flushAll();
  // The board is not set up as a BIOS leaves it: here the BIOS runs. The PICs start with every
  // line masked, so the free-running PIT reaches no vector before the ROM programs them (under
  // QEMU none does either: the local APIC keeps LINT0 masked until software sets it up).
  impl_->platform.pic.master().imr = 0xff;
  impl_->platform.pic.slave().imr = 0xff;
}

uint64_t Machine::stateHash() {
  Impl& vm = *impl_;
  const CpuState& c = vm.cpu;
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&h](const void* p, size_t n) {
    auto* b = static_cast<const uint8_t*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 0x100000001b3ull;
  };
  mix(c.regs, sizeof c.regs);
  uint32_t arch[] = {c.eip, eflagsOf(c), c.cr0, c.cr2, c.cr3, c.cr4, c.cpl, c.gdtr.base, c.gdtr.limit,
                     c.idtr.base, c.idtr.limit, c.ldtr.selector, c.tr.selector};
  mix(arch, sizeof arch);
  mix(c.pdpte, sizeof c.pdpte);  // PAE: they may differ from the PDPT in memory
  mix(c.fpu, sizeof c.fpu);
  for (const Segment& s : c.seg) {
    uint32_t v[] = {s.selector, s.base, s.limit, s.attr, s.valid};
    mix(v, sizeof v);
  }
  for (uint64_t p = 0; p < vm.mem.size(); p += kPageSize) mix(vm.mem.host(p), kPageSize);
  return h;
}

namespace {

// A trap exit (--mode trap/patch): the block stopped before a privileged or sensitive
// instruction; the VMM emulates it against the virtual state and the run goes on after it.
void emulateTrap(Machine::Impl& vm) {
  CpuState& c = vm.cpu;
  auto h = HelperId(c.trap_helper - 1);
  c.trap_helper = 0;
  ++vm.stats.traps;
  auto t0 = std::chrono::steady_clock::now();
  hinfo::Info i = hinfo::unpack(c.trap_info);
  Handling how = (helperClass(h) & cls::kPrivileged) ? Handling::Trapped : Handling::Patched;
  vm.in_trap = true;
  if (runHelper(vm, h, i, c.trap_arg, how) == 0) c.eip += i.length;
  vm.in_trap = false;
  vm.stats.trap_ns += uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::steady_clock::now() - t0).count());
}

// A guest in HLT with IF=1 sleeps until the next device interrupt that the PIC lets through, or
// until host input arrives for COM1 if its receive interrupt could wake the guest. Virtual
// clock: time jumps to the next timer event; input that is already there is taken first, and
// btvm blocks on the input only when nothing else can wake the guest. Host clock: btvm sleeps
// in ppoll() on the input until it is readable or the next timer deadline passes, so an idle
// guest costs no host CPU. Returns an empty string, or why nothing can ever wake the guest.
std::string sleepUntilInterrupt(Machine::Impl& vm) {
  CpuState& c = vm.cpu;
  if (!(c.eflags & flag::IF)) return fmt::format("guest halted at {:08x} with interrupts off", c.eip);
  vm.console.flush();  // the guest waits: what it printed (a prompt) must be seen now
  PcPlatform& p = vm.platform;
  if (p.interruptPending()) return {};
  uint64_t wake = p.nextWakeNs();
  bool input_wakes = p.serialInputWakes();
  if (wake == PcPlatform::kNever && !input_wakes)
    return fmt::format("guest halted at {:08x} with interrupts on, but no unmasked device will interrupt it "
                       "(PIC masks {:02x}/{:02x}){}", c.eip, p.pic.master().imr, p.pic.slave().imr,
                       vm.serial.inputEnded() ? "; serial input has ended" : "");
  uint64_t now = nowNs(vm);
  auto takeInput = [&] {
    vm.console.pollEscapes();
    p.uart.inputReady();
    p.update();
  };
  if (input_wakes && vm.serial.hasReadAhead()) {
    takeInput();
    return {};
  }
  if (vm.config.host_clock) {
    int64_t timeout = wake == PcPlatform::kNever ? -1 : wake > now ? int64_t(wake - now) : 0;
    // Input the UART would not take yet (RTS down, say) must not end the sleep over and over;
    // a terminal is read anyway (into the console's queue) for the Ctrl-A keys.
    if (input_wakes || vm.serial.interactive()) {
      if (vm.serial.waitReadable(timeout)) takeInput();
    } else if (timeout > 0 && !replaying(vm)) {
      timespec ts{time_t(timeout / 1000000000), long(timeout % 1000000000)};
      while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
    }
    vm.idle_ns += nowNs(vm) - now;  // for --stats only: host time spent idle
    return {};
  }
  if (input_wakes && vm.serial.waitReadable(wake == PcPlatform::kNever ? -1 : 0)) {
    takeInput();  // at end of input this closes it, and the next HLT finds nothing to wake it
    return {};
  }
  if (wake != PcPlatform::kNever && wake > now) vm.idle_ns += wake - now;
  return {};
}

void accountInsns(Machine::Impl& vm) {
  vm.executed += uint64_t(vm.budget_start - vm.cpu.icount_budget);
  vm.budget_start = vm.cpu.icount_budget;
}

}  // namespace

RunResult Machine::run() {
  Impl& vm = *impl_;
  CpuState& c = vm.cpu;
  // Host MMU faults and instruction-budget exits (dbt/budget.h); after the console's handlers.
  installHostFaultHandler();
  vm.budget_start = c.icount_budget;
  vm.dbt->flushJumpCache();
  int why = setjmp(vm.jmp);
  if (why != kJumpNone) {
    fpu::saveLive(c);  // a fault inside a run of native x87 instructions
    debugAfterJump(vm, why);
    accountInsns(vm);
    // Translated code charged its whole block on entry: give back what did not retire.
    if (vm.in_translated) {
      bool retired = why == kJumpContinue || why == kJumpStop || (why == kJumpException && vm.pending.trap);
      vm.executed -= c.insns_after + (retired ? 0 : 1);
      vm.in_translated = false;
    }
  }
  vm.in_single_insn = false;
  vm.in_trap = false;
  // Every way out of the run tells an attached gdb that the guest has exited.
  auto finish = [&vm](RunResult r) {
    vm.console.flush();
    if (vm.gdb) vm.gdb->guestExited(r.status);
    return r;
  };
  switch (why) {
    case kJumpStop:
      return finish(vm.result);
    case kJumpException:
      ++vm.stats.exits_exception;
      deliverPending(vm);  // may longjmp back here with a new exception
      break;
    case kJumpRetrySingle:
      vm.single_insn_next = true;
      break;
    default:
      break;
  }
  vm.delivering = -1;

  int idle_spins = 0;  // HLT wake-ups in a row that delivered nothing (must stay tiny)
  uint64_t console_polls = 0, last_key_poll = 0;
  for (;;) {
    if (vm.history) vm.history->atLoopTop();
    // A reverse command restores a snapshot: the loop starts over on the restored state.
    if (vm.gdb && vm.gdb->atBoundary(false)) continue;
    if (deliverDebugTrap(vm)) idle_spins = 0;  // traps of the last instruction come before interrupts
    if (!(vm.gdb && vm.gdb->holdsInterrupts()) && takeExternalInterrupt(vm)) idle_spins = 0;
    if (c.halted) {
      std::string why = sleepUntilInterrupt(vm);
      int status = exit_status::kHalted;
      // With the host clock a wake-up may find nothing yet (time moves on by itself).
      if (why.empty() && !vm.config.host_clock && ++idle_spins > 16) {
        why = fmt::format("internal error: HLT at {:08x} woke up to nothing", c.eip);
        status = exit_status::kInternal;
      }
      if (why.empty()) continue;
      return finish(RunResult{ExitKind::Halted, status, why});
    }
    int64_t remaining = vm.config.max_insns ? int64_t(vm.config.max_insns) - int64_t(vm.executed) : kSliceInsns;
    if (remaining > kSliceInsns) remaining = kSliceInsns;
    if (remaining <= 0) {
      return finish(RunResult{ExitKind::InsnLimit, exit_status::kInsnLimit,
                              fmt::format("instruction limit reached ({} instructions) at eip {:08x}", vm.executed, c.eip)});
    }
    if (vm.flush_code) {
      vm.flush_code = false;
      vm.dbt->flushAll();
    }
    if (vm.gdb && vm.gdb->atBoundary(true)) continue;  // a breakpoint here, or gdb's single step
    checkInstructionBreakpoint(vm);        // before the fetch's own faults
    BlockKey key;
    currentBlockKey(vm, true, &key);
    vm.dbt->enterMode(key.flags, key.cs_base);
    bool trap_after = c.eflags & flag::TF;
    bool single = vm.single_insn_next || trap_after || (vm.gdb && vm.gdb->stepping());
    // The budget: how far translated code may run before the dispatcher looks again. With
    // vm.exact_budget a block longer than it is cut to fit, so device events are met at the
    // count they fall on whatever the blocks look like; else the block in hand finishes.
    int64_t budget = remaining;
    if (vm.gdb) budget = std::min(budget, vm.gdb->insnsToTarget());  // a reverse command's count
    // With the host clock, instructions are no measure of time: come back often to look at the
    // clock. With a person at the console, come back often for the Ctrl-A keys.
    if (vm.config.host_clock || vm.serial.interactive()) {
      budget = std::min(budget, kHostSliceInsns);
      // Look at the keys every 20 ms of host time (a syscall at every dispatcher visit would
      // cost more than the visits).
      if (vm.console.interactive() && ++console_polls % 64 == 0) {
        uint64_t t = hostMonotonicNs();
        if (t - last_key_poll >= 20000000) {
          last_key_poll = t;
          vm.console.pollEscapes();
        }
      }
    }
    // With a gdb stub, come back often enough to see gdb's Ctrl-C.
    if (vm.gdb) budget = std::min(budget, GdbStub::kSliceInsns);
    // Leave translated code when a device next raises its line (at least one instruction runs).
    if (c.eflags & flag::IF) budget = std::min(budget, std::max<int64_t>(insnsToNextEvent(vm), 1));
    Block* b;
    if (single) {
      vm.single_insn_next = false;
      b = vm.dbt->translate(key, c.seg[CS].limit, 1, false);
      vm.in_single_insn = true;
    } else {
      ++vm.stats.dispatcher_lookups;
      b = vm.dbt->find(key);
      if (!b) {
        if (vm.dbt->codeCacheFull()) vm.dbt->flushAll();
        b = vm.dbt->translate(key, c.seg[CS].limit, 0, true);
      }
      // Only the instruction limit and a reverse target are always exact (see vm.exact_budget).
      int64_t exact = vm.exact_budget ? budget : std::min(remaining, vm.gdb ? vm.gdb->insnsToTarget() : INT64_MAX);
      if (int64_t(b->guest_insns) > exact) {
        b = vm.dbt->translate(key, c.seg[CS].limit, uint32_t(exact), false);
      } else if (breakpointIn(vm, key.cs_base + key.eip, b->guest_bytes)) {
        // Never chained to: one instruction at a time, so the dispatcher sees the breakpoint.
        b = vm.dbt->translate(key, c.seg[CS].limit, 1, false);
      } else if (!vm.config.log.exec) {
        if (c.last_exit) vm.dbt->chainLastExit(b);
        else vm.dbt->fillJumpCache(c.eip, b);
      }
      budget = std::max(budget, int64_t(b->guest_insns));
    }
    c.icount_budget = budget;
    vm.budget_start = budget;
    refreshTscBase(vm);
    if (vm.config.log.exec)
      fmt::print(stderr, "Trace: eip={:08x} phys={:x} insns={} [{}]\n", key.eip, key.phys, b->guest_insns,
                 b->cached ? "cached" : "one-off");
    c.last_exit = 0;
    vm.in_translated = true;
    armSingleStep(vm, trap_after);
    vm.dbt->run(b);
    vm.in_translated = false;
    vm.in_single_insn = false;
    accountInsns(vm);
    if (c.last_exit) ++vm.stats.exits_block_end;
    else ++vm.stats.exits_helper;
    if (c.trap_helper) emulateTrap(vm);
    finishSingleStep(vm);  // TF: the #DB is delivered at the top of the loop
  }
}

}  // namespace btvm
