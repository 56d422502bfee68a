// Record and replay (--record FILE, --replay FILE): the journal of every input to the guest that
// is not a function of its own state, so that a replay retires the same instructions, prints the
// same output and ends in the same state hash.
//
// What is journaled (docs/architecture.md, "Record and replay", lists why each one is there):
//   - power-on: the RTC's epoch (the host's date under --clock host);
//   - the host clock (--clock host): every reading of nowNs();
//   - COM1's input side: the bytes receive() returned, inputOpen() changing its answer, and the
//     answers "yes" of hasReadAhead() and waitReadable() that end a HLT;
//   - the end of the run: instructions retired in all, exit status, how it ended.
//
// Every hook call is numbered (its ordinal); an event records only the calls whose answer is
// not the quiet one (no bytes, no change, "no", and for the clock: always), each with its
// ordinal delta and the guest's retired-instruction count at the call. A replay answers each
// call from the event with its ordinal, or quietly; a call whose event has another kind or was
// recorded at another count, or an event the guest ran past, is a divergence: the run stops
// with exit status 16 (kReplayDiverged) and a message naming the instruction count.
//
// File: "BTVMRPL\n", u32 version, the header items (what the recording was made with: compared
// before the run), then the events: ordinal delta, count delta (zigzag), kind, payload (a clock
// reading as a zigzag delta from the previous one), LEB128 varints throughout. A recording cut short (btvm
// killed) ends without its end event; a replay stops with status 16 where it runs out.
#pragma once
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace btvm {

struct MachineConfig;

// A divergence found outside a run (at power-on or before it): the caller exits with status 16.
struct ReplayDiverged : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One thing a recording was made with. Compared items must be equal in the replay; the others
// are properties of the recording that the replay takes over (e.g. the console's slicing).
struct JournalItem {
  std::string name, value;
  bool compared = true;
};

// What a run is made with, for the header: the kernel, initrd and ROM by content hash, the
// command-line options that change what the guest does.
std::vector<JournalItem> describeRun(const MachineConfig& cfg, const std::string& kernel, const std::string& bios,
                                     bool reboot);

class Journal {
 public:
  enum class Kind : uint8_t { PowerOn = 1, Clock, Receive, InputOpen, ReadAhead, Readable, End };

  // Opens FILE for writing and writes the header. Throws std::runtime_error.
  static std::unique_ptr<Journal> record(const std::string& path, const std::vector<JournalItem>& items);
  // Reads FILE. Throws std::runtime_error (not a recording) or ReplayDiverged (a compared item
  // differs: "the recording was made with -append 'a', this run has -append 'b'").
  static std::unique_ptr<Journal> replay(const std::string& path, const std::vector<JournalItem>& items);
  ~Journal();

  bool replaying() const { return replaying_; }
  // A header item of the recording (replay) or of this run (record); empty if absent.
  std::string item(const std::string& name) const;

  // One machine (one boot) runs: `count` gives the instructions it has retired at the moment of
  // a call, `stop` ends its run (it must not return): `diverged` true for a divergence (status
  // 16), false where a replay reaches the point where the recorded run was quit (Ctrl-A x).
  // detach() before the machine goes.
  using StopFn = std::function<void(const std::string& message, bool diverged)>;
  void attach(std::function<uint64_t()> count, StopFn stop);
  void detach();

  // The hooks. Record: pass the host's answer through and journal it. Replay: the recorded one.
  int64_t powerOn(int64_t host_epoch);
  uint64_t clock(uint64_t host_ns);
  size_t receive(uint8_t* buf, size_t max, const std::function<size_t(uint8_t*, size_t)>& host);
  bool inputOpen(bool host_answer);  // `host_answer` is ignored in replay
  bool readAhead(bool host_answer);
  bool readable(const std::function<bool()>& host);

  // The run is over after `total` instructions (all boots) with this status; `quit` if the
  // person at the console ended it. Record: writes the end event. Replay: compares with it and
  // returns a message if they differ (empty if equal). No hook may be called afterwards.
  std::string end(uint64_t total, int status, bool quit);
  // Replay of a run ended by Ctrl-A x: where it ended (instructions in all) and its status.
  std::optional<std::pair<uint64_t, int>> quitAt() const;
  uint64_t events() const { return replaying_ ? next_ : written_; }

  // Where a replay stands: a machine snapshot keeps it (emu/debug/snapshot.h), and seeking back
  // to it makes the replay answer the hooks again from there, as the first time.
  struct Position {
    uint64_t ordinal = 0, last_clock = 0;
    size_t next = 0;
    bool open = false, ended = false;
  };
  Position position() const { return Position{ordinal_, last_clock_, next_, open_, ended_}; }
  void seek(const Position& p) {
    ordinal_ = p.ordinal;
    last_clock_ = p.last_clock;
    next_ = p.next;
    open_ = p.open;
    ended_ = p.ended;
  }

 private:
  struct Event {
    uint64_t ordinal = 0, count = 0;
    Kind kind = Kind::End;
    uint64_t value = 0;          // PowerOn: epoch (zigzag); Clock: ns; InputOpen: 0/1; End: total
    int status = 0;              // End
    bool quit = false;           // End
    std::vector<uint8_t> bytes;  // Receive
  };

  Journal() = default;
  uint64_t now() const { return count_ ? count_() : 0; }
  Event event(Kind kind, uint64_t value = 0) const;  // for the call just numbered, at now()
  // Record: an event for the call just numbered.
  void write(const Event& e);
  // Replay: the event of the call just numbered (checked against `kind` and the count), or
  // null for a quiet call. `quiet_ok` false: this call must have an event.
  const Event* take(Kind kind, bool quiet_ok);
  [[noreturn]] void diverged();  // the reason is in why_
  std::string why_;
  static std::string describe(const Event& e);

  bool replaying_ = false;
  bool ended_ = false;
  std::FILE* out_ = nullptr;
  std::string buf_;        // record: events not yet written
  uint64_t written_ = 0;   // record: events journaled
  uint64_t ordinal_ = 0;   // hook calls so far
  uint64_t last_ordinal_ = 0;  // record: of the last event written
  uint64_t last_clock_ = 0;    // record and replay: for the clock's deltas
  uint64_t last_count_ = 0;    // record: for the counts' deltas
  std::vector<JournalItem> items_;
  std::vector<Event> log_;  // replay: every event
  size_t next_ = 0;         // replay: the next event in log_
  bool open_ = false;       // the input's answer, as last journaled
  bool in_host_ = false;    // record: a hook is asking the host (the run may end inside)
  std::function<uint64_t()> count_;
  StopFn stop_;
};

}  // namespace btvm
