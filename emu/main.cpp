// btvm's command line: QEMU-like options, one-line errors, documented exit statuses.
#include <fmt/core.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include <fcntl.h>
#include <unistd.h>

#include "emu/console.h"
#include "emu/debug/journal.h"
#include "emu/machine.h"
#include "emu/boot/multiboot.h"
#include "patcher/trace.h"

using namespace btvm;

namespace {

const char* const kUsage = R"(usage: btvm [options] KERNEL
       btvm [options] -bios ROM
       btvm trace-diff TRACE_A TRACE_B
Runs a Linux bzImage or a Multiboot v1 ELF32 kernel on an emulated IA-32 PC (a Pentium II
class CPU) by dynamic binary translation, or a firmware ROM from the reset vector.

Options:
  -kernel FILE        the kernel (or give it as the last argument); it starts in protected
                      mode, as a boot loader leaves it, with firmware tables btvm writes
  -bios FILE          a firmware ROM (a multiple of 64 KiB, at most 16 MiB) instead of a
                      kernel: mapped read-only so that it ends at 4 GiB, its last 128 KiB (all
                      of a 64 KiB one) also so that it ends at 0xFFFFF, as QEMU's pc maps it;
                      the CPU starts in its RESET state, in real mode at F000:FFF0 (linear
                      0xFFFFFFF0), and nothing else is set up (no firmware tables)
  -m SIZE             guest RAM: a number of MiB, or with a suffix K, M, G (default 128M)
  -initrd FILE        initial RAM disk for a Linux kernel; for a Multiboot kernel, its
                      modules as QEMU takes them: "FILE [ARGS],FILE2 [ARGS]" (',,' is a comma)
  -append STR         the kernel command line
  --mode MODE         how privileged and sensitive instructions are handled:
                        translate  inline calls to VMM helpers (default, correct and fast)
                        patch      sensitive ones patched into traps, all emulated on exit
                        trap       only privileged ones trap; sensitive ones run as real
                                   hardware runs them for a deprivileged kernel (wrong);
                                   in virtual-8086 mode all trap but SGDT, SIDT, SMSW
  --trace FILE        write one JSON line per privileged or sensitive instruction executed
  --max-insns N       stop after N guest instructions (exit status 8); each exception or
                      interrupt delivered counts as one, so fault loops end too
  --host-mem SIZE     cap resident host memory for guest RAM; colder real pages go to a
                      swap file and come back on their next touch (default: no cap)
  --code-cache SIZE   translated-code cache size (default 64M); when full it is flushed
  --shadow-cache N    guest address spaces whose shadow page tables are kept across CR3
                      switches (default 8; 0 rebuilds them at every switch)
  --mmu MODE          how translated code reaches guest memory: host (default: the host
                      MMU as the shadow page table: each address space is a 4 GiB
                      reservation where guest pages are mapped, host page faults take the
                      soft slow path) or soft (an inline soft-TLB probe on every access)
  --state-hash        print a hash of the final CPU state and guest RAM to stderr
  --stats             print translation, TLB, exit and exception statistics at exit
  -serial DEV         the serial console COM1: stdio (default: output to stdout, input
                      from stdin), file:PATH (output to PATH, no input), null or none
  -debugcon DEV       QEMU's isa-debugcon (port 0xe9; bytes written unbuffered, reads give
                      0xe9): file:PATH, stdio (stdout), null or none
  -global isa-debugcon.iobase=PORT   moves the debug console's port (e.g. 0x402)
  --no-cpuid-apic     hide the local APIC from CPUID (it stays enabled in IA32_APIC_BASE)
  -nographic          accepted for QEMU command lines (btvm has no display; the serial
                      console is on stdio anyway); so are -display none, -monitor none
  --clock MODE        the guest's time: virtual (deterministic, see below), host (the
                      host's clock: a guest's 'sleep 2' takes 2 s, an idle guest sleeps),
                      or auto (default: host when stdin is a terminal, else virtual).
                      -rtc clock=host and -rtc clock=vm are taken as host and virtual
  -no-reboot          a guest reset or triple fault ends the run (exit status 14 or 4)
                      instead of booting the machine again (the ROM, or the kernel)
  -d ITEMS            log to stderr, comma-separated: in_asm, out_asm, exec, int, unimp
                      (accesses to unassigned ports and memory, #UD for what btvm lacks)
  -gdb DEV            wait for a gdb connection on DEV: tcp::PORT (every interface),
                      tcp:HOST:PORT, or PORT; port 0 picks a free one (printed with -S)
  -s                  shorthand for -gdb tcp::1234
  -S                  do not start the guest: wait for gdb before the first instruction
                      (gdb: target remote :1234; see README, Debugging)
  --record FILE       record every input the guest takes that is not a function of its own
                      state (serial input, the host clock and date under --clock host, when
                      input ended an idle HLT) with the instruction count at which it took it
  --replay FILE       run the guest again on the inputs of a --record FILE, without reading
                      stdin or the host clock: the same instructions, output and --state-hash.
                      The kernel, initrd, -append, -m, --mode, --clock and other options that
                      change the guest must be as recorded; any divergence stops the run with
                      exit status 16 and the instruction count (see README, Debugging)
  --snapshot-every N  keep machine snapshots in memory every N instructions (and at the
                      start), so that gdb can run the guest backwards: reverse-stepi,
                      reverse-continue, reverse-next (on a --replay run, or a run with the
                      virtual clock and no serial input; see README, Debugging)
  --snapshot-limit N  keep at most N snapshots (default 256); beyond it, and beyond
  --snapshot-memory SIZE of guest RAM pages in all (default 2G), snapshots are dropped
                      from the older half of the history (the start is always kept), so
                      old history thins out and recent history stays dense
  -h, --help          this help
  --version           print the version

Devices: 16550A UART on COM1 (0x3f8, IRQ 4; COM2-4 absent); debug exit port 0xf4 (a write of
v ends the run with exit status (v << 1) | 1, like QEMU's isa-debug-exit); 8259 PICs, 8254 PIT
(and port 0x61), MC146818 RTC/CMOS, i8042 keyboard controller with a PS/2 keyboard and mouse
(0x60/0x64), PCI configuration space (0xcf8/0xcfc: i440FX host bridge, PIIX3 ISA bridge), the
ACPI PM block at 0x600 (PM1 event/control, PM timer; SCI on IRQ 9); the local APIC (0xfee00000,
enabled in virtual-wire mode: the 8259 through LINT0) and the I/O APIC (0xfec00000, IRQ0 on
pin 2); the HPET (0xfed00000, 100 MHz, 3 timers); QEMU's fw_cfg (0x510/0x511) and, with
-debugcon, isa-debugcon (0xe9); reset through the i8042, port 0x92 or 0xcf9; the A20 gate on
port 0x92 bit 1 and the i8042's output port. Unless -bios is given, firmware as a BIOS leaves
it: BIOS data area, EBDA, ACPI 1.0 tables (RSDP, RSDT, FADT, FACS, DSDT with \_S5, MADT, HPET),
SMBIOS 2.8 tables, and the E820 memory map (Linux) or Multiboot memory map.

Console: with a terminal on stdin, it is put in raw mode (restored at exit) and keys go to the
guest (Ctrl-C too). Ctrl-A x quits (exit status 0, as QEMU), Ctrl-A h lists the keys, Ctrl-A
Ctrl-A sends Ctrl-A. Piped stdin is fed to the guest as fast as its UART takes it, never
dropped: printf 'ls\n' | btvm ... . Output is flushed at each newline and whenever the guest
idles or looks for input.

Time: virtual by default without a terminal: 1 ns per guest instruction (RDTSC runs at 1 GHz),
a guest halted with interrupts on skips ahead to its next timer interrupt (or takes the piped
input already there), so every run is the same. With the host clock, PIT, RTC (from the host's
date) and RDTSC follow the host's monotonic time, and a halted guest sleeps until its next
timer deadline or input.

Exit statuses: odd values come from the guest's debug exit port; btvm's own are even:
  0  the guest powered off (ACPI S5 through PM1a_CNT, as QEMU exits 0); --help / --version;
     Ctrl-A x at the console
  2  bad command line or kernel image (nothing was run)
  4  guest triple fault, with -no-reboot (register dump on stderr; without it: a reboot)
  6  guest halted with nothing to wake it (IF=0, or no unmasked device interrupt)
  8  instruction limit (--max-insns) reached
 10  the guest needs something btvm does not implement (the message says what)
 12  internal error in btvm
 14  the guest reset the machine, with -no-reboot (without it the machine boots again)
 16  --replay: the guest diverged from the recording (other kernel or options, an edited
     or cut-short recording); the message gives the instruction count
)";

[[noreturn]] void usageError(const std::string& msg) {
  fmt::print(stderr, "btvm: {}\n(try 'btvm --help')\n", msg);
  std::exit(exit_status::kUsage);
}

std::optional<uint64_t> parseCount(std::string_view s) {
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return std::nullopt;
    uint64_t d = uint64_t(ch - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

std::optional<uint64_t> parseSize(std::string_view s) {
  if (s.empty()) return std::nullopt;
  uint64_t mult = 1ull << 20;
  char last = s.back();
  if (last == 'K' || last == 'k') mult = 1ull << 10;
  else if (last == 'M' || last == 'm') mult = 1ull << 20;
  else if (last == 'G' || last == 'g') mult = 1ull << 30;
  if (!std::isdigit(static_cast<unsigned char>(last))) s.remove_suffix(1);
  auto v = parseCount(s);
  if (!v || *v > UINT64_MAX / mult) return std::nullopt;  // too large to mean anything
  return *v * mult;
}


// -serial file:PATH, -debugcon file:PATH: created or truncated; a path that cannot be opened
// is a usage error.
int openOutputFile(const std::string& path, const char* what) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    fmt::print(stderr, "btvm: cannot open {} '{}': {}\n", what, path, std::strerror(errno));
    std::exit(exit_status::kUsage);
  }
  return fd;
}

void parseLog(std::string_view items, LogFlags& log) {
  while (!items.empty()) {
    size_t comma = items.find(',');
    std::string_view it = items.substr(0, comma);
    if (it == "in_asm") log.in_asm = true;
    else if (it == "out_asm") log.out_asm = true;
    else if (it == "exec") log.exec = true;
    else if (it == "int") log.intr = true;
    else if (it == "unimp") log.unimp = true;
    else usageError(fmt::format("unknown -d item '{}' (known: in_asm, out_asm, exec, int, unimp)", it));
    if (comma == std::string_view::npos) break;
    items.remove_prefix(comma + 1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "trace-diff") {
    if (argc != 4) usageError("trace-diff needs two trace files");
    int r = traceDiff(argv[2], argv[3], stdout);
    return r == 2 ? exit_status::kUsage : r;
  }
  MachineConfig cfg;
  std::string kernel, bios;
  bool state_hash = false;
  bool reboot = true;  // a reset (or triple fault) boots the machine again, as QEMU without -no-reboot
  enum class Clock { Auto, Virtual, Host } clock = Clock::Auto;
  std::string serial = "stdio";
  std::string debugcon;  // empty: no debug console
  std::string record_path, replay_path;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> std::string_view {
      if (i + 1 >= argc) usageError(fmt::format("option {} needs a value", a));
      return argv[++i];
    };
    if (a == "-h" || a == "--help" || a == "-help") {
      fmt::print("{}", kUsage);
      return exit_status::kOk;
    } else if (a == "--version") {
      fmt::print("btvm 0.1.0\n");
      return exit_status::kOk;
    } else if (a == "-m") {
      std::string_view v = value();
      auto size = parseSize(v);
      if (!size) usageError(fmt::format("bad -m value '{}' (use e.g. 64, 64M, 1G)", v));
      if (*size < (2ull << 20) || *size > (3ull << 30))
        usageError(fmt::format("-m {}: guest RAM must be between 2 MiB and 3 GiB", v));
      cfg.ram_bytes = *size & ~0xfffull;
    } else if (a == "--host-mem") {
      std::string_view v = value();
      auto size = parseSize(v);
      if (!size || *size < (256u << 10)) usageError(fmt::format("bad --host-mem value '{}' (at least 256K)", v));
      cfg.host_mem_bytes = *size;
    } else if (a == "--code-cache") {
      std::string_view v = value();
      auto size = parseSize(v);
      if (!size || *size < (64u << 10) || *size > (1ull << 30))
        usageError(fmt::format("bad --code-cache value '{}' (64K..1G)", v));
      cfg.code_cache_bytes = *size;
    } else if (a == "--shadow-cache" || a.rfind("--shadow-cache=", 0) == 0) {
      std::string_view v = a == "--shadow-cache" ? value() : a.substr(std::strlen("--shadow-cache="));
      auto n = parseCount(v);
      if (!n || *n > 4096) usageError(fmt::format("bad --shadow-cache value '{}' (0..4096)", v));
      cfg.shadow_cache = unsigned(*n);
    } else if (a == "--trace") {
      cfg.trace_path = value();
    } else if (a == "-append") {
      cfg.append = value();
    } else if (a == "-initrd") {
      cfg.initrd = value();
    } else if (a == "-kernel") {
      kernel = value();
    } else if (a == "-bios") {
      bios = value();
    } else if (a == "--stats") {
      cfg.stats = true;
    } else if (a == "--state-hash") {
      state_hash = true;
    } else if (a == "-serial") {
      std::string_view v = value();
      if (v == "mon:stdio") v = "stdio";  // no monitor: the console alone
      if (v != "stdio" && v != "null" && v != "none" && !(v.rfind("file:", 0) == 0 && v.size() > 5))
        usageError(fmt::format("unsupported -serial '{}' (stdio, file:PATH, null or none)", v));
      serial = v;
    } else if (a == "-debugcon") {
      std::string_view v = value();
      if (v != "stdio" && v != "null" && v != "none" && !(v.rfind("file:", 0) == 0 && v.size() > 5))
        usageError(fmt::format("unsupported -debugcon '{}' (stdio, file:PATH, null or none)", v));
      debugcon = v;
    } else if (a == "-global") {
      std::string_view v = value();
      constexpr std::string_view kIobase = "isa-debugcon.iobase=";
      if (v.rfind(kIobase, 0) != 0) usageError(fmt::format("unsupported -global '{}' (only {}PORT)", v, kIobase));
      std::string num(v.substr(kIobase.size()));
      char* end = nullptr;
      unsigned long port = std::strtoul(num.c_str(), &end, 0);
      if (num.empty() || *end || port > 0xffff) usageError(fmt::format("bad -global '{}' (a port 0..0xffff)", v));
      cfg.debugcon_port = uint16_t(port);
    } else if (a == "--no-cpuid-apic") {
      cfg.cpuid_apic = false;
    } else if (a == "-no-reboot") {
      reboot = false;
    } else if (a == "-nographic") {
    } else if (a == "-display" || a == "-monitor") {
      std::string_view v = value();
      if (v != "none") usageError(fmt::format("unsupported {} '{}' (only none)", a, v));
    } else if (a == "--clock" || a.rfind("--clock=", 0) == 0 || a == "-rtc") {
      std::string_view v = a == "--clock" || a == "-rtc" ? value() : a.substr(std::strlen("--clock="));
      if (a == "-rtc") {
        if (v == "clock=host") v = "host";
        else if (v == "clock=vm") v = "virtual";
        else usageError(fmt::format("unsupported -rtc '{}' (clock=host or clock=vm)", v));
      }
      if (v == "virtual") clock = Clock::Virtual;
      else if (v == "host") clock = Clock::Host;
      else if (v == "auto") clock = Clock::Auto;
      else usageError(fmt::format("unknown --clock '{}' (virtual, host or auto)", v));
    } else if (a == "-s") {
      cfg.gdb_listen = "tcp::1234";
    } else if (a == "-S") {
      cfg.gdb_wait = true;
    } else if (a == "-gdb") {
      std::string_view v = value();
      // tcp::PORT, tcp:HOST:PORT or PORT: the port is what follows the last ':' (the host is
      // checked when btvm listens).
      std::string_view port = v.substr(v.rfind(':') == std::string_view::npos ? 0 : v.rfind(':') + 1);
      auto n = parseCount(port);
      if ((v.find(':') != std::string_view::npos && v.rfind("tcp:", 0) != 0) || !n || *n > 65535 || port.size() > 5)
        usageError(fmt::format("bad -gdb '{}' (use tcp::PORT or tcp:HOST:PORT)", v));
      cfg.gdb_listen = v;
    } else if (a == "--record") {
      record_path = value();
    } else if (a == "--replay") {
      replay_path = value();
    } else if (a == "--snapshot-every" || a == "--snapshot-limit") {
      std::string_view v = value();
      auto n = parseCount(v);
      if (!n || *n == 0) usageError(fmt::format("bad {} value '{}' (a count above 0)", a, v));
      (a == "--snapshot-every" ? cfg.snapshot_every : cfg.snapshot_limit) = *n;
    } else if (a == "--snapshot-memory") {
      std::string_view v = value();
      auto size = parseSize(v);
      if (!size || *size == 0) usageError(fmt::format("bad --snapshot-memory value '{}' (e.g. 512M, 2G)", v));
      cfg.snapshot_memory = *size;
    } else if (a == "-d") {
      parseLog(value(), cfg.log);
    } else if (a == "--max-insns") {
      std::string_view v = value();
      auto n = parseCount(v);
      if (!n || *n == 0) usageError(fmt::format("bad --max-insns value '{}'", v));
      cfg.max_insns = std::min<uint64_t>(*n, INT64_MAX);  // beyond that: never reached
    } else if (a == "--mmu") {
      std::string_view v = value();
      if (v == "host") cfg.host_mmu = true;
      else if (v == "soft") cfg.host_mmu = false;
      else usageError(fmt::format("unknown --mmu '{}' (host or soft)", v));
    } else if (a == "--mode") {
      std::string_view v = value();
      if (v == "translate") cfg.mode = VirtMode::Translate;
      else if (v == "patch") cfg.mode = VirtMode::Patch;
      else if (v == "trap") cfg.mode = VirtMode::Trap;
      else usageError(fmt::format("unknown --mode '{}' (trap, patch or translate)", v));
    } else if (!a.empty() && a[0] == '-') {
      usageError(fmt::format("unknown option '{}'", a));
    } else if (kernel.empty()) {
      kernel = a;
    } else {
      usageError(fmt::format("more than one kernel given ('{}' and '{}')", kernel, a));
    }
  }
  if (!bios.empty() && (!kernel.empty() || !cfg.initrd.empty() || !cfg.append.empty()))
    usageError("-bios runs the ROM alone: -kernel, -initrd and -append need a kernel started by btvm");
  if (kernel.empty() && bios.empty()) usageError("no kernel (or -bios ROM) given");
  if (cfg.gdb_wait && cfg.gdb_listen.empty()) cfg.gdb_listen = "tcp::1234";  // -S alone: as QEMU's -s -S
  if (!record_path.empty() && !replay_path.empty()) usageError("--record and --replay do not mix (one run does one)");
  // gdb changes the guest (memory writes, registers) at moments the journal does not see: a
  // recording made under gdb could not be replayed. A replay under gdb can (reverse debugging);
  // a change gdb makes there shows as a divergence.
  if (!record_path.empty() && !cfg.gdb_listen.empty()) usageError("--record and -s/-S/-gdb do not mix (--replay under gdb does)");

  bool terminal = false;
  if (serial == "stdio") {
    cfg.serial_in_fd = 0;
    cfg.serial_out_fd = 1;
    terminal = isatty(0);
  } else if (serial.rfind("file:", 0) == 0) {
    cfg.serial_out_fd = openOutputFile(serial.substr(5), "serial output");
  } else {
    cfg.serial_out_fd = -1;  // null / none
  }
  if (!replay_path.empty()) {  // the recording is the input: stdin stays untouched
    cfg.serial_in_fd = -1;
    terminal = false;
  }
  cfg.serial_interactive = terminal;
  if (debugcon == "stdio") {
    cfg.debugcon_fd = 1;
  } else if (debugcon.rfind("file:", 0) == 0) {
    cfg.debugcon_fd = openOutputFile(debugcon.substr(5), "debug console output");
  } else if (!debugcon.empty()) {
    cfg.debugcon_fd = -2;  // null/none: the port is there, its bytes go nowhere
  }
  cfg.host_clock = clock == Clock::Host || (clock == Clock::Auto && terminal);

  std::unique_ptr<Journal> journal;
  std::optional<std::pair<uint64_t, int>> quit_at;  // --replay of a run ended by Ctrl-A x
  try {
    std::vector<JournalItem> items;
    if (!record_path.empty() || !replay_path.empty()) items = describeRun(cfg, kernel, bios, reboot);
    if (!record_path.empty()) journal = Journal::record(record_path, items);
    if (!replay_path.empty()) {
      for (JournalItem& it : items)
        if (it.name == "--clock" && clock == Clock::Auto) it.compared = false;  // auto: as recorded
      journal = Journal::replay(replay_path, items);
      cfg.host_clock = journal->item("--clock") == "host";
      quit_at = journal->quitAt();
      if (quit_at && (!cfg.max_insns || cfg.max_insns > quit_at->first)) cfg.max_insns = quit_at->first;
    }
  } catch (const ReplayDiverged& e) {
    fmt::print(stderr, "btvm: {}\n", e.what());
    return exit_status::kReplayDiverged;
  } catch (const std::runtime_error& e) {
    fmt::print(stderr, "btvm: {}\n", e.what());
    return exit_status::kUsage;
  }
  cfg.journal = journal.get();
  uint64_t earlier_boots = 0;  // instructions retired before the last reboot

  try {
    std::optional<Machine> holder;
    // Power-on: a fresh machine with the ROM or the kernel loaded, as at every reboot.
    auto powerOn = [&]() -> int {
      holder.reset();
      try {
        holder.emplace(cfg);
      } catch (const ReplayDiverged& e) {
        fmt::print(stderr, "btvm: {}\n", e.what());
        return exit_status::kReplayDiverged;
      } catch (const std::runtime_error& e) {
        fmt::print(stderr, "btvm: {}\n", e.what());
        return exit_status::kUsage;
      }
      try {
        if (!bios.empty()) holder->loadBios(bios);
        else holder->loadKernel(kernel);
      } catch (const ImageError& e) {
        fmt::print(stderr, "btvm: {}\n", e.what());
        return exit_status::kUsage;
      }
      return exit_status::kOk;
    };
    if (int st = powerOn(); st != exit_status::kOk) return st;
    // Raw mode only now: errors before this point print on a terminal in its normal mode.
    if (terminal) enterRawMode(0);
    for (;;) {
      Machine& m = *holder;
      RunResult r = m.run();
      uint64_t total = earlier_boots + m.instructionsExecuted();
      if (quit_at && r.kind == ExitKind::InsnLimit && total == quit_at->first) {
        r = RunResult{ExitKind::Quit, quit_at->second, "replay: the recorded run was ended here (Ctrl-A x)"};
      }
      if (!r.message.empty()) fmt::print(stderr, "btvm: {}\n", r.message);
      bool reset = r.kind == ExitKind::Reset || r.kind == ExitKind::TripleFault;
      // A reboot is a new power-on (RAM, devices and the CPU as at start; the console and
      // its input go on). Under gdb the connection would not survive it: the run ends.
      bool again = reset && reboot && cfg.gdb_listen.empty();
      if (again && cfg.max_insns && m.instructionsExecuted() >= cfg.max_insns) {
        again = false;
        r.status = exit_status::kInsnLimit;
        fmt::print(stderr, "btvm: instruction limit reached at the reset\n");
      }
      if (reset && reboot && !again && !cfg.gdb_listen.empty())
        fmt::print(stderr, "btvm: not rebooting under gdb (-s/-gdb): the run ends here\n");
      if (!again) {
        if (journal && r.kind != ExitKind::Diverged) {
          std::string msg = journal->end(total, r.status, r.kind == ExitKind::Quit);
          if (!msg.empty()) {
            fmt::print(stderr, "btvm: {}\n", msg);
            r.status = exit_status::kReplayDiverged;
          }
        }
        if (cfg.stats) m.printStats();
        if (state_hash)
          fmt::print(stderr, "btvm: state hash {:016x} after {} instructions\n", m.stateHash(), m.instructionsExecuted());
        return r.status;
      }
      fmt::print(stderr, "btvm: rebooting (-no-reboot ends the run at a reset instead)\n");
      if (cfg.max_insns) cfg.max_insns -= m.instructionsExecuted();
      earlier_boots += m.instructionsExecuted();
      if (int st = powerOn(); st != exit_status::kOk) return st;
    }
  } catch (const std::bad_alloc&) {
    fmt::print(stderr, "btvm: cannot allocate {} MiB of guest RAM\n", cfg.ram_bytes >> 20);
    return exit_status::kUsage;
  } catch (const std::exception& e) {
    fmt::print(stderr, "btvm: internal error: {}\n", e.what());
    return exit_status::kInternal;
  }
}
