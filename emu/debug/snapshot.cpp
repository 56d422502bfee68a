#include "emu/debug/snapshot.h"

#include <algorithm>
#include <cstring>

#include <fmt/core.h>
#include <sys/mman.h>

#include "emu/vm.h"

namespace btvm {

namespace {

// CpuState up to the translator's runtime area: the architectural state. The rest (budget,
// TLB, jump cache, return stack, host bases) is derived and rebuilt after a restore.
constexpr size_t kCpuArchBytes = offsetof(CpuState, icount_budget);

bool allZero(const uint8_t* p) {
  static const uint8_t zero[kPageSize] = {};
  return std::memcmp(p, zero, kPageSize) == 0;
}

// The host has swap space on: a page of guest RAM without host memory may be out there.
bool hostSwaps() {
  static const bool swaps = [] {
    std::FILE* f = std::fopen("/proc/swaps", "r");
    if (!f) return true;  // unknown: assume it does
    int lines = 0;
    for (int c; (c = std::fgetc(f)) != EOF;) lines += c == '\n';
    std::fclose(f);
    return lines > 1;  // a header line, then one per swap area
  }();
  return swaps;
}

// Which pages of guest RAM have host memory (mincore): one that has none was never touched
// and reads as zeros, so it need not be read (reading it would give it memory). Empty when
// that cannot be known: under --host-mem a page may be out in btvm's swap file, and with host
// swap on in the host's.
std::vector<unsigned char> residentPages(Machine::Impl& vm) {
  std::vector<unsigned char> v;
  if (vm.config.host_mem_bytes || hostSwaps()) return v;
  v.resize(vm.mem.size() / kPageSize);
  if (mincore(vm.mem.base(), vm.mem.size(), v.data()) != 0) v.clear();
  return v;
}

}  // namespace

SnapshotHistory::SnapshotHistory(Machine::Impl& vm, const MachineSnapshotConfig& cfg) : vm_(vm), cfg_(cfg) {}

void SnapshotHistory::atLoopTop() {
  high_ = std::max(high_, vm_.executed);
  if (cfg_.every == 0) return;
  if (!list_.empty() && vm_.executed < list_.back().count + cfg_.every) return;
  take();
}

void SnapshotHistory::take() {
  uint64_t t0 = hostMonotonicNs();
  Machine::Impl& vm = vm_;
  Snapshot s;
  s.count = vm.executed;
  s.cpu.assign(reinterpret_cast<const uint8_t*>(&vm.cpu), reinterpret_cast<const uint8_t*>(&vm.cpu) + kCpuArchBytes);
  s.model = vm.model;
  s.platform = vm.platform.saveState();
  s.a20 = vm.mmu.a20();
  s.idle_ns = vm.idle_ns;
  s.shadow_pending = vm.shadow_pending;
  s.shadow_eip = vm.shadow_eip;
  s.nmi_pending = vm.nmi_pending;
  s.nmi_blocked = vm.nmi_blocked;
  s.flush_code = vm.flush_code;
  s.debug = vm.debug;
  if (vm.config.journal) s.journal = vm.config.journal->position();
  if (vm.journal_serial) s.serial_was_open = vm.journal_serial->wasOpen();
  // RAM: share what the previous snapshot holds unchanged, page by page and group by group.
  const Snapshot* prev = list_.empty() ? nullptr : &list_.back();
  uint64_t pages = vm.mem.size() / kPageSize;
  size_t chunks = (pages + kChunkPages - 1) / kChunkPages;
  s.ram.resize(chunks);
  s.own_bytes = chunks * sizeof(s.ram[0]);
  std::vector<unsigned char> resident = residentPages(vm);
  for (size_t c = 0; c < chunks; ++c) {
    const std::shared_ptr<const Chunk>& old_chunk = prev ? prev->ram[c] : nullptr;
    Chunk chunk;
    bool changed = false;
    for (size_t k = 0; k < kChunkPages && c * kChunkPages + k < pages; ++k) {
      uint64_t i = c * kChunkPages + k;
      const std::shared_ptr<const Page>& old = old_chunk ? (*old_chunk)[k] : nullptr;
      chunk[k] = old;
      if (!resident.empty() && !(resident[i] & 1) && !old) continue;  // untouched: zeros, as before
      const uint8_t* p = vm.mem.host(i * kPageSize);
      if (old ? std::memcmp(old->data(), p, kPageSize) == 0 : allZero(p)) continue;
      auto page = std::make_shared<Page>();
      std::memcpy(page->data(), p, kPageSize);
      chunk[k] = std::move(page);
      changed = true;
      s.own_bytes += kPageSize;
    }
    if (!changed) {
      s.ram[c] = old_chunk;
    } else {
      s.ram[c] = std::make_shared<const Chunk>(std::move(chunk));
      s.own_bytes += sizeof(Chunk);
    }
  }
  bytes_ += s.own_bytes;
  list_.push_back(std::move(s));
  ++taken_;
  thin();
  take_ns_ += hostMonotonicNs() - t0;
}

// Drops snapshots from the older part of the history until the limits hold: each time the one
// whose neighbours are closest together (the densest spot), never the first or the newest.
void SnapshotHistory::thin() {
  while (list_.size() > 2 && (list_.size() > cfg_.limit || bytes_ > cfg_.memory)) {
    size_t best = 1;
    uint64_t best_gap = UINT64_MAX;
    // Only the older half competes: recent history stays as dense as it was taken.
    size_t end = std::max<size_t>(2, list_.size() / 2 + 1);
    for (size_t i = 1; i < end && i + 1 < list_.size(); ++i) {
      uint64_t gap = list_[i + 1].count - list_[i - 1].count;
      if (gap < best_gap) {
        best_gap = gap;
        best = i;
      }
    }
    bytes_ -= list_[best].own_bytes + list_[best + 1].own_bytes;
    list_.erase(list_.begin() + long(best));
    // Its successor may now own pages it shared with it.
    list_[best].own_bytes = ownBytes(best);
    bytes_ += list_[best].own_bytes;
    ++dropped_;
  }
}

// Bytes snapshot k holds that the one before it does not share: its distinct pages, and its
// page table.
uint64_t SnapshotHistory::ownBytes(size_t k) const {
  const Snapshot& s = list_[k];
  uint64_t own = s.ram.size() * sizeof(s.ram[0]);
  for (size_t c = 0; c < s.ram.size(); ++c) {
    const auto& chunk = s.ram[c];
    const auto& before = k == 0 ? nullptr : list_[k - 1].ram[c];
    if (!chunk || chunk == before) continue;
    own += sizeof(Chunk);
    for (size_t p = 0; p < kChunkPages; ++p)
      if ((*chunk)[p] && (!before || (*before)[p] != (*chunk)[p])) own += kPageSize;
  }
  return own;
}

const SnapshotHistory::Snapshot* SnapshotHistory::atOrBefore(uint64_t count) const {
  auto it = std::upper_bound(list_.begin(), list_.end(), count,
                             [](uint64_t c, const Snapshot& s) { return c < s.count; });
  return it == list_.begin() ? nullptr : &*std::prev(it);
}

void SnapshotHistory::restore(const Snapshot& s) {
  Machine::Impl& vm = vm_;
  CpuState& c = vm.cpu;
  // Devices first; then PAM as the restored host bridge has it (it decides what the ROM's
  // window below 1 MiB shows), then RAM over it.
  vm.platform.restoreState(s.platform);
  if (vm.platform.pci.on_pam) {
    uint8_t pam[7];
    for (unsigned k = 0; k < 7; ++k) pam[k] = uint8_t(vm.platform.pci.configRead(0, 0, PciHost::kPam0 + k, 1));
    vm.platform.pci.on_pam(pam);
  }
  std::vector<unsigned char> resident = residentPages(vm);
  uint64_t pages = vm.mem.size() / kPageSize;
  for (uint64_t i = 0; i < pages; ++i) {
    const Page* saved = s.page(i);
    if (!saved && !resident.empty() && !(resident[i] & 1)) continue;  // zeros on both sides
    uint8_t* p = vm.mem.host(i * kPageSize);
    if (saved) {
      if (std::memcmp(p, saved->data(), kPageSize) != 0) std::memcpy(p, saved->data(), kPageSize);
    } else if (!allZero(p)) {
      std::memset(p, 0, kPageSize);
    }
  }
  std::memcpy(reinterpret_cast<uint8_t*>(&c), s.cpu.data(), kCpuArchBytes);
  vm.model = s.model;
  vm.executed = s.count;
  vm.idle_ns = s.idle_ns;
  vm.shadow_pending = s.shadow_pending;
  vm.shadow_eip = s.shadow_eip;
  vm.nmi_pending = s.nmi_pending;
  vm.nmi_blocked = s.nmi_blocked;
  vm.flush_code = s.flush_code;
  vm.debug = s.debug;
  vm.pending = PendingException{};
  vm.delivering = -1;
  vm.single_insn_next = false;
  vm.bounce.pending = false;
  if (vm.config.journal) vm.config.journal->seek(s.journal);
  if (vm.journal_serial) vm.journal_serial->setWasOpen(s.serial_was_open);
  // Nothing derived from the state we left may survive: translations (and the pages they
  // watch), chains, the jump cache, return stack and inline caches, the soft TLB, the shadow
  // contexts (and the page tables they watch) and the host MMU's mappings.
  c.last_exit = 0;
  c.exit_after_insn = false;
  c.trap_helper = 0;
  c.icount_budget = 0;
  vm.budget_start = 0;
  vm.dbt->flushAll();
  vm.dbt->flushJumpCache();
  if (vm.mmu.a20() != s.a20) vm.mmu.setA20(s.a20);
  vm.mmu.pagingModeChanged();
  vm.mmu.cr3Written();
  vm.mmu.flushAll();
  refreshTscBase(vm);
}

void printSnapshotStats(const SnapshotHistory& h, std::FILE* out) {
  fmt::print(out, "  snapshots                     {} kept ({} taken, {} dropped), {:.1f} MiB of RAM pages, "
             "{:.3f} s taking them\n", h.size(), h.taken(), h.dropped(), double(h.bytes()) / (1 << 20), h.takeSeconds());
}

}  // namespace btvm
