// Process exit statuses of btvm. btvm's own outcomes are even numbers so that they never collide
// with the odd statuses of the debug exit port ((value << 1) | 1, as QEMU's isa-debug-exit).
#pragma once

namespace btvm::exit_status {
constexpr int kOk = 0;            // --help, trace-diff with equal traces, Ctrl-A x (as QEMU)
constexpr int kPowerOff = 0;      // the guest powered the machine off (ACPI S5), as QEMU exits 0
constexpr int kUsage = 2;         // bad command line or bad kernel image: nothing was run
constexpr int kTripleFault = 4;   // the guest shut the CPU down (-no-reboot); registers dumped on stderr
constexpr int kHalted = 6;        // HLT that nothing can end: IF=0, or no unmasked device will interrupt
constexpr int kInsnLimit = 8;     // --max-insns reached
constexpr int kUnsupported = 10;  // the guest needs a feature btvm does not implement
constexpr int kInternal = 12;     // a bug in btvm: an internal invariant failed
constexpr int kReset = 14;        // the guest reset the machine (-no-reboot; else btvm boots again)
constexpr int kReplayDiverged = 16;  // --replay: the guest diverged from the recording (or it was cut short)
}  // namespace btvm::exit_status
