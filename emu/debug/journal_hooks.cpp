// The machine's side of record and replay: the journal sees this machine's retired-instruction
// count and stops its run on a divergence (emu/debug/journal.h).
#include <ctime>

#include "emu/vm.h"

namespace btvm {

int64_t rtcEpoch(const MachineConfig& c) {
  int64_t epoch = c.host_clock ? int64_t(::time(nullptr)) : CmosRtc::kDefaultEpoch;
  return c.journal ? c.journal->powerOn(epoch) : epoch;
}

void attachJournal(Machine::Impl& vm) {
  vm.config.journal->attach(
      // Exact mid-block too: a helper sees what the guest retired before its instruction.
      [&vm] { return vm.in_translated ? retiredInsns(vm) : vm.executed; },
      [&vm](const std::string& message, bool diverged) {
        std::string m = message;  // stopRun's longjmp skips our destructors: hand it a copy
        if (diverged) stopRun(vm, ExitKind::Diverged, exit_status::kReplayDiverged, std::move(m));
        stopRun(vm, ExitKind::Quit, exit_status::kOk, std::move(m));
      });
}

}  // namespace btvm
