// Machine snapshots for reverse execution (--snapshot-every N): every N retired instructions
// the dispatcher saves everything that decides the machine's future given the journal, so that
// the gdb stub can go back to any earlier instruction by restoring the newest snapshot before it
// and running forward again (emu/debug/reverse.h).
//
// A snapshot holds the CPU's architectural state (CpuState up to the translator's runtime
// area: registers, segment caches, descriptor tables, control and debug registers, x87), the
// CPU model's MSRs and TSC offset, every device's state (PcPlatformState), the A20 gate, the
// dispatcher's own state between instructions (retired count, idle time, pending NMI, interrupt
// shadow, guest debug-register state), the journal's read position, and guest RAM.
//
// RAM is kept page by page, shared between snapshots: a page equal to the one the previous
// snapshot holds is not copied again, and an all-zero page costs nothing; the table of pages is
// shared the same way in groups of 512. Derived state is not
// saved; restoring drops it all: translated code, the jump cache and the return stack / inline
// caches (a new flow generation), the soft TLB, every shadow context and the host MMU's mappings.
//
// Snapshots are taken only at the dispatcher's loop top (between instructions, nothing of a
// block in hand) and only past the newest one: a re-run after a restore meets the same states
// again and adds nothing. When there are more than --snapshot-limit of them, or they take
// more than --snapshot-memory (RAM pages and the snapshots' page tables), one is dropped from the older part of the history (the one whose
// loss leaves the smallest gap; the first, the start of history, is always kept), so that the
// newest ones stay dense and the old ones thin out.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <vector>

#include "emu/cpu/cpu_model.h"
#include "emu/cpu/debug_state.h"
#include "emu/debug/journal.h"
#include "emu/devices/pc_platform.h"
#include "emu/machine.h"

namespace btvm {

struct MachineSnapshotConfig {
  uint64_t every = 0;          // instructions between snapshots (0: none taken)
  size_t limit = 256;          // at most this many kept
  uint64_t memory = 2ull << 30; // and at most this many bytes of RAM pages in all
};

class SnapshotHistory {
 public:
  using Page = std::array<uint8_t, 4096>;
  // Pages in groups of 512 (2 MiB of RAM): a group no page of which changed is shared whole,
  // so a snapshot's table costs 8 KiB per changed group, not 16 bytes per page of RAM.
  static constexpr size_t kChunkPages = 512;
  using Chunk = std::array<std::shared_ptr<const Page>, kChunkPages>;
  struct Snapshot {
    uint64_t count = 0;  // instructions retired (Machine::Impl::executed)
    std::vector<uint8_t> cpu;  // CpuState's architectural prefix (before icount_budget)
    CpuModel model;
    PcPlatformState platform;
    bool a20 = true;
    uint64_t idle_ns = 0;
    bool shadow_pending = false, nmi_pending = false, nmi_blocked = false, flush_code = false;
    uint32_t shadow_eip = 0;
    GuestDebugState debug;
    Journal::Position journal;
    bool serial_was_open = false;
    std::vector<std::shared_ptr<const Chunk>> ram;  // null: a group of zero pages; in one, null: zeros
    const Page* page(size_t i) const { return ram[i / kChunkPages] ? (*ram[i / kChunkPages])[i % kChunkPages].get() : nullptr; }
    uint64_t own_bytes = 0;  // pages not shared with the snapshot before it (when taken)
  };

  SnapshotHistory(Machine::Impl& vm, const MachineSnapshotConfig& cfg);

  // The dispatcher's loop top: takes a snapshot when one is due.
  void atLoopTop();
  // The newest snapshot taken at or before `count` (null if none: history starts later).
  const Snapshot* atOrBefore(uint64_t count) const;
  const Snapshot* oldest() const { return list_.empty() ? nullptr : &list_.front(); }
  // Puts the machine back in the state of `s` (see above for what is dropped).
  void restore(const Snapshot& s);

  // The furthest count the machine has reached: below it, the guest re-runs history.
  uint64_t highWater() const { return high_; }
  size_t size() const { return list_.size(); }
  uint64_t bytes() const { return bytes_; }  // RAM pages held (shared ones once), page tables
  uint64_t taken() const { return taken_; }
  uint64_t dropped() const { return dropped_; }
  double takeSeconds() const { return take_ns_ / 1e9; }

 private:
  void take();
  void thin();
  uint64_t ownBytes(size_t k) const;

  Machine::Impl& vm_;
  MachineSnapshotConfig cfg_;
  std::vector<Snapshot> list_;  // oldest first, by count
  uint64_t bytes_ = 0, taken_ = 0, dropped_ = 0, take_ns_ = 0;
  uint64_t high_ = 0;
};

// --stats: snapshots kept, taken and dropped, the RAM pages they hold, the time taking them.
void printSnapshotStats(const SnapshotHistory& h, std::FILE* out);

}  // namespace btvm
