// The machine's face: one guest CPU, its RAM, its devices and the dispatcher loop that runs
// translated code. The CLI (emu/main.cpp), the tests and the benchmarks all drive btvm through it.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "emu/cpu/cpu_state.h"
#include "emu/exit_status.h"
#include "patcher/modes.h"

namespace btvm {

class Journal;

struct LogFlags {
  bool in_asm = false;   // guest code of each translated block
  bool out_asm = false;  // host code of each translated block
  bool exec = false;     // each block executed
  bool intr = false;     // each exception or interrupt delivered
  bool unimp = false;    // accesses nothing answers (unassigned ports and memory), #UD for
                         // instructions btvm lacks
};

struct MachineConfig {
  uint64_t ram_bytes = 128ull << 20;
  std::string append;          // kernel command line (-append)
  std::string initrd;          // -initrd: Linux initrd (or Multiboot modules)
  bool stats = false;          // print statistics at exit
  LogFlags log;
  uint64_t max_insns = 0;      // 0: no limit
  VirtMode mode = VirtMode::Translate;
  std::string trace_path;      // --trace: one JSON line per sensitive or privileged instruction
  uint64_t code_cache_bytes = 64ull << 20;  // a Linux boot and a few commands translate ~42 MiB
  uint64_t host_mem_bytes = 0;  // cap on resident host memory for guest RAM (0: none)
  unsigned shadow_cache = 8;    // guest address spaces whose shadow page tables are kept
  bool host_mmu = true;         // --mmu host (default): the host MMU holds the shadow page tables
  // The serial console (COM1) and the clock (see emu/console.h, docs/architecture.md).
  int serial_in_fd = -1;           // host input for COM1 (-1: none)
  int serial_out_fd = 1;           // where COM1's output goes (-1: discarded)
  bool serial_interactive = false; // serial_in_fd is a raw-mode terminal: Ctrl-A keys
  bool host_clock = false;         // guest time is host monotonic time (else virtual, deterministic)
  // isa-debugcon (-debugcon): where the bytes written to its port go (-1: no debug console,
  // -2: a debug console whose bytes are dropped).
  int debugcon_fd = -1;
  uint16_t debugcon_port = 0xe9;   // -global isa-debugcon.iobase=PORT
  // CPUID.1:EDX.APIC advertised (the local APIC is there either way, enabled in IA32_APIC_BASE).
  bool cpuid_apic = true;
  // The gdb stub (emu/debug/gdbstub.h): where it listens (-gdb, -s: tcp::1234; empty: no stub)
  // and whether the guest waits for gdb before its first instruction (-S).
  std::string gdb_listen;
  bool gdb_wait = false;
  // --record/--replay (emu/debug/journal.h): the journal of the guest's inputs, owned by the
  // caller and kept across reboots; null: neither.
  Journal* journal = nullptr;
  // Machine snapshots for reverse execution (emu/debug/snapshot.h): every this many
  // instructions (0: none), at most snapshot_limit of them and snapshot_memory bytes of RAM pages.
  uint64_t snapshot_every = 0;
  uint64_t snapshot_limit = 256;
  uint64_t snapshot_memory = 2ull << 30;
};

enum class ExitKind {
  DebugExit,    // guest wrote to port 0xf4
  TripleFault,  // guest shut the CPU down
  Halted,       // HLT that nothing can end (IF=0, or no unmasked device will interrupt)
  InsnLimit,    // --max-insns reached
  Unsupported,  // the guest needs something btvm does not implement (message says what)
  Reset,        // the guest reset the machine (i8042, port 0x92 or 0xcf9)
  Quit,         // the person at the console typed Ctrl-A x
  PowerOff,     // the guest powered off (ACPI PM1a_CNT SLP_EN with SLP_TYP S5)
  Diverged,     // --replay: the guest did not do what the recorded guest did
};

struct RunResult {
  ExitKind kind;
  int status;           // process exit status for this outcome (see exit_status.h)
  std::string message;  // one line for the user, empty for DebugExit
};

class Machine {
 public:
  explicit Machine(const MachineConfig& config);
  ~Machine();
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  // Protected mode, flat 4 GiB code and data segments from a small GDT placed in guest RAM, CPL 0,
  // interrupts off: the state Multiboot defines, also used by tests that run raw code.
  // `code_sel` and `data_sel` name the GDT slots of the flat segments (Linux wants 0x10/0x18).
  void setFlatProtectedMode(uint16_t code_sel = 0x08, uint16_t data_sel = 0x10);

  // Loads a Multiboot v1 kernel (ELF32, or any image with the a.out kludge) with the configured
  // -append and -initrd (its modules) and sets the Multiboot entry state. Throws ImageError with a
  // one-line message naming the problem.
  void loadMultiboot(const std::string& path);
  // Loads a kernel of any kind btvm knows (a Linux bzImage, else Multiboot) with the configured
  // -initrd and -append, and sets its entry state. Throws ImageError.
  void loadKernel(const std::string& path);
  // -bios: maps a firmware ROM image (emu/boot/bios.h) and puts the CPU in its RESET state, so
  // the run starts at the reset vector in real mode. No firmware tables are written and the
  // devices are not set up as a BIOS leaves them (the PICs start fully masked): the ROM is the
  // firmware. Throws ImageError.
  void loadBios(const std::string& path);

  CpuState& cpu();
  uint8_t* ram();            // guest physical address 0
  uint64_t ramSize() const;

  // Runs until the guest exits, halts for good, faults beyond repair or hits the limit.
  RunResult run();

  // Guest instructions executed so far (exact at block boundaries).
  uint64_t instructionsExecuted() const;
  void printStats() const;   // to stderr
  // FNV-1a hash of the architectural state and all of guest RAM: equal across runs of a
  // deterministic guest (btvm's clocks count instructions, so every run is deterministic).
  uint64_t stateHash();

  struct Impl;
 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace btvm
