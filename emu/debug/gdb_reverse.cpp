// Reverse execution in the gdb stub: 'bs' (reverse step) and 'bc' (reverse continue), as QEMU
// offers them under record/replay. Both go back by restoring a machine snapshot
// (emu/debug/snapshot.h) and running the guest forward again to an exact retired-instruction
// count; the journal's read position is part of the snapshot, so the re-run takes the same
// inputs at the same counts and so retraces the same instructions.
//
// bs at count C: restore the newest snapshot at or before C - 1, run to C - 1, stop.
// bc at count C: scan the interval [newest snapshot before C, C) for breakpoint and watchpoint
//   hits (run with them recorded, not reported); if there are any, restore the interval's
//   snapshot again and run to the last hit, where the ordinary breakpoint or watchpoint logic
//   reports it; if not, scan the interval before, and so on. With no hit down to the oldest
//   snapshot the guest is left there with the stop reason "replaylog:begin" (gdb: "No more
//   reverse-execution history.").
#include <fmt/core.h>

#include "emu/debug/gdb_connection.h"
#include "emu/debug/gdbstub.h"
#include "emu/debug/snapshot.h"

namespace btvm {

namespace {
constexpr int kSigTrap = 5;
}

std::string GdbStub::reverseRefusal() const {
  const MachineConfig& c = vm_.config;
  if (!vm_.history) return "reverse execution needs machine snapshots: run with --snapshot-every N";
  if (c.host_clock) return "reverse execution needs the virtual clock (this run's guest time follows the host's clock)";
  if (c.journal && !c.journal->replaying())
    return "reverse execution works on a replay (--replay FILE), not while recording";
  if (!c.journal && c.serial_in_fd >= 0)
    return "reverse execution needs a run whose inputs can be given again: replay a recording (--replay FILE), or "
           "run without serial input (-serial null or file:PATH)";
  return {};
}

std::string GdbStub::beginReply() const { return stopReply(kSigTrap, "replaylog:begin;"); }

void GdbStub::restoreSnapshot(const void* snapshot) {
  vm_.history->restore(*static_cast<const SnapshotHistory::Snapshot*>(snapshot));
  restored_ = true;
  skip_valid_ = false;
  stepping_ = step_ran_ = false;
  hits_.clear();
}

bool GdbStub::reverseStart(bool step, std::string& reply) {
  std::string why = reverseRefusal();
  if (!why.empty()) {
    fmt::print(stderr, "btvm: gdb: {}\n", why);
    reply = "E01";
    return false;
  }
  uint64_t now = vm_.executed;
  const SnapshotHistory::Snapshot* s = now ? vm_.history->atOrBefore(now - 1) : nullptr;
  if (!s) {  // already at the start of history
    reply = beginReply();
    return false;
  }
  restoreSnapshot(s);
  scan_from_ = s->count;
  if (step) {
    reverse_ = Reverse::Step;
    target_ = now - 1;
  } else {
    reverse_ = Reverse::Scan;
    target_ = scan_before_ = now;
    scan_hit_ = scan_watch_ = false;
  }
  return true;
}

int64_t GdbStub::insnsToTarget() const {
  if (reverse_ == Reverse::None || target_ <= vm_.executed) return INT64_MAX;
  return int64_t(target_ - vm_.executed);
}

bool GdbStub::reverseAtTop(std::string& out) {
  uint64_t now = vm_.executed;
  // A watchpoint hit by the instruction that just retired (reported at this count).
  if (reverse_ == Reverse::Scan && !hits_.empty() && now < scan_before_) {
    scan_hit_ = scan_watch_ = true;
    scan_hit_at_ = now;
    scan_watch_hit_ = hits_.front();
  }
  if (now < target_) {
    hits_.clear();
    return false;
  }
  switch (reverse_) {
    case Reverse::None:
      return false;
    case Reverse::Final:
      reverse_ = Reverse::None;
      if (!scan_watch_) return false;  // at the breakpoint: the ordinary logic reports it
      // A watchpoint is reported before the access that hit it, as QEMU does in reverse: gdb
      // compares the watched value there with the one it saw last, from the later side.
      hits_.clear();
      out = stopReply(kSigTrap, fmt::format("{}:{:08x};", scan_watch_hit_.type == 2   ? "watch"
                                                          : scan_watch_hit_.type == 3 ? "rwatch"
                                                                                      : "awatch",
                                            scan_watch_hit_.addr));
      return true;
    case Reverse::Step:
      reverse_ = Reverse::None;
      hits_.clear();
      out = stopReply(kSigTrap);
      return true;
    case Reverse::Scan:
      break;
  }
  hits_.clear();
  const SnapshotHistory::Snapshot* s = vm_.history->atOrBefore(scan_from_);
  if (scan_hit_) {  // the last hit of this interval: run to it again
    restoreSnapshot(s);
    reverse_ = Reverse::Final;
    target_ = scan_watch_ ? scan_hit_at_ - 1 : scan_hit_at_;
    return false;
  }
  const SnapshotHistory::Snapshot* before = scan_from_ ? vm_.history->atOrBefore(scan_from_ - 1) : nullptr;
  if (!before) {  // no hit since the start of history: stay there
    restoreSnapshot(s);
    reverse_ = Reverse::None;
    out = beginReply();
    return true;
  }
  restoreSnapshot(before);
  target_ = scan_from_;
  scan_from_ = before->count;
  return false;
}

}  // namespace btvm
