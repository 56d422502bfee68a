// The gdb stub: btvm as a GDB remote target (-s, -gdb tcp::PORT, -S), as QEMU offers it.
// The dispatcher calls it at block boundaries and the access slow path calls it for watched
// pages; with no -s/-gdb there is no stub and each hook costs one null test.
//
// How it stops the guest without touching guest memory:
// - Breakpoints (Z0 and Z1 are the same here): a block that holds a breakpoint address is never
//   chained to nor put in the jump cache, so every entry to it passes the dispatcher, which runs
//   it one instruction at a time and stops before the instruction at the breakpoint. Inserting
//   a breakpoint drops the blocks already translated at its address (they may be chained).
// - Watchpoints (Z2 write, Z3 read, Z4 access): watched linear pages are never filled into the
//   soft TLB, so every access to them takes the slow path, which checks the watched ranges. A
//   hit in translated code re-runs the instruction alone (the self-modifying-code retry); the
//   guest stops after it, as after a debug trap, with T05watch:ADDR.
// - Single step: one instruction in a block of its own. External interrupts are held off while
//   stepping (QEMU's default, SSTEP_NOIRQ|SSTEP_NOTIMER), so 'stepi' stays in the code being
//   read; an exception the instruction raises is delivered and the step stops at its handler.
//   A step from HLT waits for the next interrupt and stops in its handler.
// - Ctrl-C: the socket is polled at dispatcher visits (at most every few ms of host time) and
//   translated code is cut to short slices while a stub exists.
// - Reverse execution (bs, bc; gdb_reverse.cpp) with machine snapshots (--snapshot-every,
//   emu/debug/snapshot.h): a snapshot before the wanted instruction is restored and the guest
//   runs forward again, with the journal's inputs, to an exact retired-instruction count. While
//   snapshots are taken, a step does not hold interrupts off (a re-run could not reproduce it).
#pragma once
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "emu/debug/watch_range.h"
#include "emu/vm.h"

namespace btvm {

namespace gdb { class Connection; }

class GdbStub {
 public:
  // Listens on `spec` (see gdb::Connection). With `wait` (-S), the first call of atBoundary()
  // blocks until gdb attaches. Throws std::runtime_error when it cannot listen.
  GdbStub(Machine::Impl& vm, const std::string& spec, bool wait);
  ~GdbStub();

  // Instructions translated code may run before the dispatcher looks at the socket again.
  static constexpr int64_t kSliceInsns = 1 << 20;

  // The dispatcher, at the top of its loop and again before it runs the next block: stops the
  // guest when a stop is due (step done, breakpoint at EIP, watchpoint hit, Ctrl-C, gdb just
  // attached, a reverse step's count reached) and serves gdb until it resumes, detaches or
  // kills (which ends the run). Returns true when a reverse command restored a snapshot: the
  // dispatcher starts its loop over on the restored state.
  bool atBoundary(bool before_block);
  // Instructions the guest may retire before the dispatcher must look again (a reverse
  // command runs forward to an exact count); INT64_MAX when no such run is under way.
  int64_t insnsToTarget() const;
  // External interrupts wait while a step is in progress (unless the guest is halted).
  bool holdsInterrupts() const;
  bool stepping() const { return stepping_; }
  // A breakpoint in [linear, linear + len): run that block one instruction at a time.
  bool breakpointIn(uint32_t linear, uint32_t len) const;

  bool watching() const { return !watches_.empty(); }
  // Pages with a watchpoint must not get soft-TLB entries.
  bool watchesPage(uint32_t linear) const;
  // An access by the guest to [linear, linear + size): true if it hits a watchpoint; with
  // `record` the hit is kept and reported at the next boundary.
  bool accessHits(uint32_t linear, unsigned size, bool write, bool record);

  // The run ends: tell gdb the guest exited (W packet).
  void guestExited(int status);
  uint16_t port() const;

 private:
  struct Watch {
    WatchRange range;
    int type;  // 2 write, 3 read, 4 access (the Z packet's number)
  };
  struct Hit {
    uint32_t addr;
    int type;
  };

  // Reports the stop (unless gdb just attached: it asks with '?'), then serves gdb until it
  // resumes.
  void stop(const std::string& reply, bool announce = true);
  bool pollDue();
  std::string stopReply(int signal, const std::string& extra = {}) const;
  // One packet; returns true when the guest resumes.
  bool handle(const std::string& p, std::string& reply);
  bool resume(bool step, const std::string& addr);
  std::string readRegisters() const;
  bool writeRegisters(const std::string& hex);
  std::string readMemory(const std::string& args);
  std::string writeMemory(const std::string& args, bool binary);
  std::string breakpoint(const std::string& args, bool insert);
  std::string query(const std::string& p);
  std::string vCont(const std::string& p, bool& resumed);
  void detach();
  void dropCodeAt(uint32_t linear);

  // Reverse execution (gdb_reverse.cpp). A reverse command restores a snapshot and lets the
  // guest run forward to target_ in one of these phases, then decides at the loop top.
  enum class Reverse { None, Step, Scan, Final };
  // 'bs' / 'bc': true when the guest resumes (a re-run started); else `reply` is the answer.
  bool reverseStart(bool step, std::string& reply);
  std::string reverseRefusal() const;  // why bs/bc cannot work in this run, or empty
  // At the loop top during a re-run: true when the stub must stop now (reply in `out`).
  bool reverseAtTop(std::string& out);
  void restoreSnapshot(const void* snapshot);  // a SnapshotHistory::Snapshot
  std::string beginReply() const;
  uint32_t linearEip() const;

  Machine::Impl& vm_;
  std::unique_ptr<gdb::Connection> conn_;
  bool wait_first_;
  bool stepping_ = false, step_ran_ = false;
  bool swbreak_ = false;             // gdb takes "swbreak:" in stop replies
  std::set<uint32_t> breaks_;        // linear addresses (Z0 and Z1)
  std::set<uint32_t> clean_;         // breakpoints whose blocks cannot be chained into now
  std::vector<Watch> watches_;
  std::vector<Hit> hits_;
  bool skip_valid_ = false;          // stopped at a breakpoint: do not stop there again at once
  uint32_t skip_ = 0;
  uint64_t visits_ = 0, last_poll_ns_ = 0;
  std::string last_stop_;            // the answer to '?'
  bool killed_ = false;              // gdb sent k: the run ends once the stop is unwound
  Reverse reverse_ = Reverse::None;
  uint64_t target_ = 0;              // the count the re-run stops at
  uint64_t scan_from_ = 0;           // bc: the snapshot the interval being scanned starts at
  uint64_t scan_before_ = 0;         // bc: hits must come before this count (where bc started)
  bool scan_hit_ = false;            // bc: a breakpoint or watchpoint hit in the interval...
  uint64_t scan_hit_at_ = 0;         // ... the last one, at this count
  bool scan_watch_ = false;          // ... a watchpoint: reported before the access, not after
  Hit scan_watch_hit_{};
  bool restored_ = false;            // a snapshot was restored while stopped
};

}  // namespace btvm
