#include "mmu/host_mmu.h"

#include <fmt/core.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace btvm {

namespace {

// A PROT_NONE reservation (or part of one): nothing behind it, no swap charged.
void* reserve(void* at, uint64_t bytes) {
  int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | (at ? MAP_FIXED : 0);
  return mmap(at, bytes, PROT_NONE, flags, -1, 0);
}

// Every mapped page may split its reservation into three VMAs; the kernel refuses mappings past
// vm.max_map_count (65530 by default). Keep to half of what is left after the process's own.
uint64_t mapBudget() {
  uint64_t max = 65530;
  std::ifstream f("/proc/sys/vm/max_map_count");
  if (f) f >> max;
  uint64_t room = max > 8192 ? max - 8192 : max / 2;
  return std::max<uint64_t>(room / 2, 256);
}

}  // namespace

HostMmu::HostMmu(PhysMemory& mem, CpuState& cpu, uint64_t map_budget)
    : mem_(mem), cpu_(cpu), map_budget_(map_budget ? map_budget : mapBudget()) {
  if (mem.memFd() < 0) throw std::logic_error("HostMmu needs guest RAM in a memory file");
  limbo_ = takeSpace();
  select(nullptr);
}

HostMmu::~HostMmu() {
  for (Space* s : all_) {
    for (uint8_t* b : s->base) munmap(b - kLowGuardBytes, kViewBytes);
    delete s;
  }
}

HostMmu::Space* HostMmu::takeSpace() {
  if (!free_.empty()) {
    Space* s = free_.back();
    free_.pop_back();
    return s;
  }
  auto* s = new Space;
  for (uint8_t*& b : s->base) {
    void* p = reserve(nullptr, kViewBytes);
    if (p == MAP_FAILED) {
      // Out of address space: share the "paging off" space's reservations is not safe (other
      // mappings), so fail loudly; 2 x 36 GiB per context fits some 1800 times in 128 TiB.
      throw std::runtime_error(fmt::format("--mmu host: cannot reserve {} GiB of address space: {}",
                                           kViewBytes >> 30, std::strerror(errno)));
    }
    b = static_cast<uint8_t*>(p) + kLowGuardBytes;
  }
  all_.push_back(s);
  ++stats.spaces_reserved;
  return s;
}

void HostMmu::select(const void* id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) it = by_id_.emplace(id, takeSpace()).first;
  // Back in this address space after another: its pages' translation changes start counting
  // afresh, so only a page that keeps changing while one address space runs (a guest loop
  // remapping it) is left to the soft TLB, not every page of a long-lived process (Linux
  // reuses a process's directory, and its pages change a few times per fork, COW and exit).
  if (it->second != current_) it->second->churn.clear();
  current_ = it->second;
  cpu_.host_base[0] = reinterpret_cast<uint64_t>(current_->base[0]);
  cpu_.host_base[1] = reinterpret_cast<uint64_t>(current_->base[1]);
}

void HostMmu::selectNone() {
  current_ = limbo_;
  cpu_.host_base[0] = reinterpret_cast<uint64_t>(limbo_->base[0]);
  cpu_.host_base[1] = reinterpret_cast<uint64_t>(limbo_->base[1]);
}

// MAP_POPULATE: a page is mapped because an access is about to use it, and the host page
// table entry made inside the system call spares that access a page fault of its own (on a
// paravirtualized host a fault costs some 9 us, the populate well under 1: 13.7 -> 8.7 us per
// map and first touch, and the Linux boot 3% faster).
bool HostMmu::mmapPage(uint8_t* at, uint64_t ppn, bool writable) {
  flushGone();  // a noted PROT_NONE run must not land on this page after it is mapped
  int prot = PROT_READ | (writable ? PROT_WRITE : 0);
  void* p = mmap(at, kPageSize, prot, MAP_SHARED | MAP_FIXED | MAP_POPULATE, mem_.memFd(), off_t(ppn << 12));
  return p != MAP_FAILED;
}

void HostMmu::map(uint32_t vpn, uint64_t ppn, bool user, bool writable) {
  if (disabled_ || current_ == limbo_ || !mem_.contains(ppn << 12, kPageSize)) return;
  int view = user ? 1 : 0;
  Space* s = current_;
  auto& m = s->mapped[view];
  uint32_t want = uint32_t(ppn) | (writable ? kWritableBit : 0);
  auto old = m.find(vpn);
  if (churning(s, vpn)) {  // left to the soft TLB (translationChanged)
    if (old != m.end()) unmapOne(s, view, vpn);
    return;
  }
  if (old != m.end()) {
    // Already there. A read fill (or the dispatcher's code fill) after a write fill does not
    // take the write right away: it is revoked only by the events that unmap (the soft TLB
    // re-fills read-only for lack of news, not because the guest took anything back).
    if ((old->second & ~kWritableBit) == ppn && (old->second & kWritableBit || !writable)) {
      last_map_ = old->second | kValidBit;
      return;
    }
    // Another frame, or the first write after D was set: one mmap over it or one mprotect.
    if (replaceOne(s, view, vpn, ppn, writable)) last_map_ = want | kValidBit;
    return;
  }
  if (mapped_total_ >= map_budget_) {
    ++stats.budget_resets;
    clearAll();
  }
  uint8_t* at = s->base[view] + (uint64_t(vpn) << 12);
  ++stats.mmap_calls;
  if (!mmapPage(at, ppn, writable)) {
    ++stats.map_failures;
    clearAll();  // ENOMEM: most likely the map count; start again from nothing
    ++stats.mmap_calls;
    if (!mmapPage(at, ppn, writable)) {
      disabled_ = true;
      clearAll();
      std::fprintf(stderr,
                   "btvm: --mmu host: cannot map guest pages (%s); every access takes the soft slow path from now "
                   "on\n",
                   std::strerror(errno));
      return;
    }
  }
  ++stats.pages_mapped;
  m[vpn] = want;
  ++mapped_total_;
  where_[uint32_t(ppn)].push_back(Where{s, vpn, uint8_t(view)});
  last_map_ = want | kValidBit;
}

bool HostMmu::mapRun(uint32_t vpn, uint64_t ppn, uint32_t count, bool user, bool writable) {
  if (disabled_ || current_ == limbo_ || count == 0 || mapped_total_ + count > map_budget_ ||
      !mem_.contains(ppn << 12, uint64_t(count) << 12))
    return false;
  int view = user ? 1 : 0;
  Space* s = current_;
  uint8_t* at = s->base[view] + (uint64_t(vpn) << 12);
  flushGone();
  int prot = PROT_READ | (writable ? PROT_WRITE : 0);
  ++stats.mmap_calls;
  if (mmap(at, size_t(count) << 12, prot, MAP_SHARED | MAP_FIXED | MAP_POPULATE, mem_.memFd(), off_t(ppn << 12)) ==
      MAP_FAILED) {
    ++stats.map_failures;
    if (reserve(at, size_t(count) << 12) == MAP_FAILED) {  // whatever the failed call left there goes
      std::fprintf(stderr, "btvm: --mmu host: cannot unmap guest pages (%s)\n", std::strerror(errno));
      std::abort();
    }
    return false;
  }
  for (uint32_t i = 0; i < count; ++i) {
    s->mapped[view][vpn + i] = uint32_t(ppn + i) | (writable ? kWritableBit : 0);
    where_[uint32_t(ppn + i)].push_back(Where{s, vpn + i, uint8_t(view)});
  }
  mapped_total_ += count;
  stats.pages_mapped += count;
  return true;
}

void HostMmu::forgetWhere(uint32_t ppn, const Where& w) {
  auto it = where_.find(ppn);
  if (it == where_.end()) return;
  auto& v = it->second;
  auto pos = std::find(v.begin(), v.end(), w);
  if (pos != v.end()) {
    *pos = v.back();
    v.pop_back();
  }
  if (v.empty()) where_.erase(it);
}

void HostMmu::unmapOne(Space* s, int view, uint32_t vpn) {
  auto it = s->mapped[view].find(vpn);
  if (it == s->mapped[view].end()) return;
  uint32_t ppn = it->second & ~kWritableBit;
  s->mapped[view].erase(it);
  --mapped_total_;
  forgetWhere(ppn, Where{s, vpn, uint8_t(view)});
  if (batching_) {
    gone_.push_back(Gone{s, uint8_t(view), vpn});
    return;
  }
  // An anonymous PROT_NONE page merges back into the reservation around it.
  ++stats.unmap_calls;
  if (reserve(s->base[view] + (uint64_t(vpn) << 12), kPageSize) == MAP_FAILED) {
    std::fprintf(stderr, "btvm: --mmu host: cannot unmap a guest page (%s)\n", std::strerror(errno));
    std::abort();  // a stale writable mapping would break the guest's isolation: never go on
  }
  ++stats.pages_unmapped;
}

void HostMmu::unmap(const void* id, uint32_t vpn) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  unmapOne(it->second, 0, vpn);
  unmapOne(it->second, 1, vpn);
}

void HostMmu::clearSpace(Space* s) {
  s->churn.clear();  // a reused space is another address space
  if (s->mapped[0].empty() && s->mapped[1].empty()) return;
  for (int view = 0; view < 2; ++view) {
    auto& m = s->mapped[view];
    if (m.empty()) continue;
    for (const auto& [vpn, e] : m) forgetWhere(e & ~kWritableBit, Where{s, vpn, uint8_t(view)});
    mapped_total_ -= m.size();
    m.clear();
    ++stats.unmap_calls;
    if (reserve(s->base[view], kReserveBytes) == MAP_FAILED) {
      std::fprintf(stderr, "btvm: --mmu host: cannot clear a reservation (%s)\n", std::strerror(errno));
      std::abort();
    }
  }
  ++stats.spaces_cleared;
}

void HostMmu::forget(const void* id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  Space* s = it->second;
  clearSpace(s);
  if (id == nullptr) return;  // "paging off" stays, empty
  by_id_.erase(it);
  if (s == current_) selectNone();  // the current context is gone: until another is selected
  free_.push_back(s);
}

void HostMmu::dropPhys(uint64_t paddr) {
  auto it = where_.find(uint32_t(paddr >> 12));
  if (it == where_.end()) return;
  std::vector<Where> all = std::move(it->second);
  where_.erase(it);
  for (const Where& w : all) {
    auto& m = w.space->mapped[w.view];
    auto e = m.find(w.vpn);
    if (e == m.end() || (e->second & ~kWritableBit) != uint32_t(paddr >> 12)) continue;
    m.erase(e);
    --mapped_total_;
    ++stats.unmap_calls;
    if (reserve(w.space->base[w.view] + (uint64_t(w.vpn) << 12), kPageSize) == MAP_FAILED) std::abort();
    ++stats.pages_unmapped;
  }
}

void HostMmu::clearAll() {
  for (Space* s : all_) clearSpace(s);
  where_.clear();
  mapped_total_ = 0;
}

}  // namespace btvm
