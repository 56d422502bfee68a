#include "mmu/shadow.h"

#include <algorithm>

namespace btvm {

void ShadowTables::switchTo(uint32_t cr3) {
  cr3 &= 0xfffff000u;
  if (!lru_.empty() && lru_.front().cr3 == cr3) return;
  if (capacity_ == 0) {
    while (!lru_.empty()) forgetContext(&lru_.front());
  }
  for (auto it = lru_.begin(); it != lru_.end(); ++it) {
    if (it->cr3 == cr3) {
      lru_.splice(lru_.begin(), lru_, it);
      ++stats.contexts_reused;
      return;
    }
  }
  while (capacity_ && lru_.size() >= capacity_) {
    forgetContext(&lru_.back());
    ++stats.contexts_evicted;
  }
  lru_.push_front(Context{cr3, {}});
  ++stats.contexts_created;
}

void ShadowTables::dropAll() {
  while (!lru_.empty()) forgetContext(&lru_.front());
}

const ShadowEntry* ShadowTables::find(uint32_t vpn) const {
  if (lru_.empty()) return nullptr;
  auto& m = lru_.front().entries;
  auto it = m.find(vpn);
  return it == m.end() ? nullptr : &it->second;
}

void ShadowTables::addDep(uint64_t page, const Dep& d) {
  auto& v = deps_[page];
  for (const Dep& x : v)
    if (x.ctx == d.ctx && x.pdi == d.pdi && x.is_directory == d.is_directory) return;
  v.push_back(d);
  if (!mem_.isTablePage(page)) {
    mem_.setTablePage(page, true);
    newly_watched_.push_back(page);
  }
}

void ShadowTables::insert(uint32_t vpn, const ShadowEntry& e, uint64_t pd_page, uint64_t pt_page) {
  if (lru_.empty()) return;
  Context* c = &lru_.front();
  c->entries[vpn] = e;
  ++stats.fills;
  addDep(pd_page, Dep{c, 0, true});
  if (pt_page != ~0ull) addDep(pt_page, Dep{c, uint16_t(vpn >> 10), false});
}

bool ShadowTables::invalidatePage(uint32_t vpn) {
  if (lru_.empty()) return false;
  bool any = lru_.front().entries.erase(vpn) != 0;
  stats.invalidated += any;
  return any;
}

uint32_t ShadowTables::dropRange(Context* c, uint32_t first_vpn, uint32_t count, std::vector<uint32_t>* out) {
  uint32_t n = 0;
  if (c->entries.empty()) return 0;
  for (uint32_t v = first_vpn; v < first_vpn + count; ++v) {
    if (c->entries.erase(v)) {
      ++n;
      if (out) out->push_back(v);
    }
  }
  return n;
}

void ShadowTables::forgetContext(Context* c) {
  for (auto it = deps_.begin(); it != deps_.end();) {
    auto& v = it->second;
    v.erase(std::remove_if(v.begin(), v.end(), [c](const Dep& d) { return d.ctx == c; }), v.end());
    if (v.empty()) {
      mem_.setTablePage(it->first, false);
      it = deps_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = lru_.begin(); it != lru_.end(); ++it)
    if (&*it == c) {
      lru_.erase(it);
      break;
    }
}

}  // namespace btvm
