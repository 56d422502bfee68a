// Changes of single host mappings in place (mmu/host_mmu.h: remap, unmapRange): what a guest
// page-table write does to the pages it affects, with as few system calls as the change allows.
// Mapping changes and signals are the dear part of --mmu host in a sandbox (bench/mmu/host_costs.c
// measures them): a PTE change is one mmap over the old mapping (MAP_FIXED replaces it
// atomically), not an unmap and a later fault + mmap; a directory entry drops its span at once.
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "mmu/host_mmu.h"

namespace btvm {

bool HostMmu::mappedIn(const void* id, uint32_t vpn, int view) const {
  auto it = by_id_.find(id);
  return it != by_id_.end() && it->second->mapped[view].count(vpn) != 0;
}

void HostMmu::remap(const void* id, uint32_t vpn, int view, uint64_t ppn, HostProt prot) {
  auto sp = by_id_.find(id);
  if (sp == by_id_.end()) return;
  Space* s = sp->second;
  auto& m = s->mapped[view];
  auto old = m.find(vpn);
  if (old == m.end()) return;  // never mapped here: the next access maps it if it may
  if (prot == HostProt::None || disabled_ || churning(s, vpn) || !mem_.contains(ppn << 12, kPageSize)) {
    unmapOne(s, view, vpn);
    return;
  }
  replaceOne(s, view, vpn, ppn, prot == HostProt::ReadWrite);
}

bool HostMmu::replaceOne(Space* s, int view, uint32_t vpn, uint64_t ppn, bool writable) {
  auto& m = s->mapped[view];
  auto old = m.find(vpn);
  uint8_t* at = s->base[view] + (uint64_t(vpn) << 12);
  uint32_t old_ppn = old->second & ~kWritableBit;
  uint32_t want = uint32_t(ppn) | (writable ? kWritableBit : 0);
  if (old_ppn == ppn) {
    if (old->second == want) return true;
    flushGone();
    ++stats.mprotect_calls;
    if (mprotect(at, kPageSize, PROT_READ | (writable ? PROT_WRITE : 0)) != 0) {
      unmapOne(s, view, vpn);  // the next access maps it again
      return false;
    }
    old->second = want;
    return true;
  }
  ++stats.mmap_calls;
  if (!mmapPage(at, ppn, writable)) {
    ++stats.map_failures;
    unmapOne(s, view, vpn);  // whatever is left there goes; the next access maps it
    return false;
  }
  forgetWhere(old_ppn, Where{s, vpn, uint8_t(view)});
  old->second = want;
  where_[uint32_t(ppn)].push_back(Where{s, vpn, uint8_t(view)});
  ++stats.pages_remapped;
  return true;
}

void HostMmu::translationChanged(const void* id, uint32_t vpn) {
  auto sp = by_id_.find(id);
  if (sp == by_id_.end()) return;
  uint8_t& n = sp->second->churn[vpn];
  if (n < kChurnLimit && ++n == kChurnLimit) ++stats.pages_churning;
}

void HostMmu::unmapRange(const void* id, uint32_t first, uint32_t count) {
  auto sp = by_id_.find(id);
  if (sp == by_id_.end() || count == 0) return;
  Space* s = sp->second;
  uint64_t end = uint64_t(first) + count;
  for (int view = 0; view < 2; ++view) {
    auto& m = s->mapped[view];
    if (m.empty()) continue;
    uint64_t lo = end, hi = first;  // span of the mapped pages found
    auto drop = [&](uint32_t vpn, uint32_t e) {
      forgetWhere(e & ~kWritableBit, Where{s, vpn, uint8_t(view)});
      --mapped_total_;
      ++stats.pages_unmapped;
      lo = std::min<uint64_t>(lo, vpn);
      hi = std::max<uint64_t>(hi, uint64_t(vpn) + 1);
    };
    if (count <= m.size()) {
      for (uint64_t v = first; v < end; ++v) {
        auto it = m.find(uint32_t(v));
        if (it == m.end()) continue;
        drop(it->first, it->second);
        m.erase(it);
      }
    } else {
      for (auto it = m.begin(); it != m.end();) {
        if (it->first >= first && it->first < end) {
          drop(it->first, it->second);
          it = m.erase(it);
        } else {
          ++it;
        }
      }
    }
    if (lo >= hi) continue;
    // Nothing else of this space lies in [first, end): pages in the span that were not mapped
    // are reservation already, and PROT_NONE over them merges everything back into it.
    ++stats.unmap_calls;
    void* p = mmap(s->base[view] + (lo << 12), (hi - lo) << 12, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    if (p == MAP_FAILED) {
      std::fprintf(stderr, "btvm: --mmu host: cannot unmap guest pages (%s)\n", std::strerror(errno));
      std::abort();  // a stale mapping would break the guest's isolation: never go on
    }
  }
}

void HostMmu::endBatch() {
  batching_ = false;
  flushGone();
}

// The pages noted during a batch, sorted, in runs of adjacent pages of one view.
void HostMmu::flushGone() {
  if (gone_.empty()) return;
  std::sort(gone_.begin(), gone_.end(), [](const Gone& a, const Gone& b) {
    if (a.space != b.space) return a.space < b.space;
    if (a.view != b.view) return a.view < b.view;
    return a.vpn < b.vpn;
  });
  for (size_t i = 0; i < gone_.size();) {
    size_t j = i + 1;
    while (j < gone_.size() && gone_[j].space == gone_[i].space && gone_[j].view == gone_[i].view &&
           gone_[j].vpn <= gone_[j - 1].vpn + 1)
      ++j;
    uint64_t first = gone_[i].vpn, end = uint64_t(gone_[j - 1].vpn) + 1;
    ++stats.unmap_calls;
    void* p = mmap(gone_[i].space->base[gone_[i].view] + (first << 12), (end - first) << 12, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    if (p == MAP_FAILED) {
      std::fprintf(stderr, "btvm: --mmu host: cannot unmap guest pages (%s)\n", std::strerror(errno));
      std::abort();  // a stale mapping would break the guest's isolation: never go on
    }
    i = j;
  }
  gone_.clear();
}

}  // namespace btvm
