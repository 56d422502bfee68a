#include "mmu/shadow.h"

#include <algorithm>

namespace btvm {

namespace {
bool sameSpace(const ShadowKey& a, const ShadowKey& b) {
  return a.cr3 == b.cr3 && a.pae == b.pae;
}
bool samePdptes(const ShadowKey& a, const ShadowKey& b) {
  return !a.pae || std::equal(a.pdpte, a.pdpte + 4, b.pdpte);
}
}  // namespace

void ShadowTables::switchTo(const ShadowKey& key_in) {
  ShadowKey key = key_in;
  key.cr3 &= key.pae ? 0xffffffe0u : 0xfffff000u;  // the PCD/PWT bits select nothing
  if (!key.pae) std::fill(key.pdpte, key.pdpte + 4, 0);
  if (!lru_.empty() && sameSpace(lru_.front().key, key) && samePdptes(lru_.front().key, key)) return;
  if (capacity_ == 0) {
    while (!lru_.empty()) forgetContext(&lru_.front());
  }
  for (auto it = lru_.begin(); it != lru_.end(); ++it) {
    if (!sameSpace(it->key, key)) continue;
    if (samePdptes(it->key, key)) {
      lru_.splice(lru_.begin(), lru_, it);
      ++stats.contexts_reused;
      return;
    }
    // The guest changed its PDPT and reloaded it: what this context cached may come from the old
    // page directories. Rare (Linux never changes a live PDPT), so it is simply rebuilt.
    forgetContext(&*it);
    break;
  }
  while (capacity_ && lru_.size() >= capacity_) {
    forgetContext(&lru_.back());
    ++stats.contexts_evicted;
  }
  lru_.push_front(Context{key, {}});
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
  TablePage& t = deps_[page];
  t.idle_writes = 0;  // a walk read it: still a page table
  auto& v = t.users;
  for (const Dep& x : v)
    if (x == d) return;
  v.push_back(d);
  if (!mem_.isTablePage(page)) {
    mem_.setTablePage(page, true);
    newly_watched_.push_back(page);
  }
}

void ShadowTables::insert(uint32_t vpn, const ShadowEntry& e, uint64_t pd_page, uint64_t pt_page) {
  if (lru_.empty()) return;
  Context* c = &lru_.front();
  ShadowEntry& x = c->entries[vpn] = e;
  x.large = pt_page == ~0ull;
  ++stats.fills;
  addDeps(c, vpn, pd_page, pt_page);
}

bool ShadowTables::invalidatePage(uint32_t vpn) {
  if (lru_.empty()) return false;
  bool any = lru_.front().entries.erase(vpn) != 0;
  stats.invalidated += any;
  if (host_) host_->unmap(&lru_.front(), vpn);
  return any;
}

uint32_t ShadowTables::dropRange(Context* c, uint32_t first_vpn, uint32_t count, std::vector<uint32_t>* out) {
  std::vector<uint32_t> in;
  entriesIn(c, first_vpn, count, [&](uint32_t v) {
    in.push_back(v);
    return false;
  });
  for (uint32_t v : in) c->entries.erase(v);
  if (out) out->insert(out->end(), in.begin(), in.end());
  uint32_t n = uint32_t(in.size());
  // The host pages go in runs: one system call per view for a whole directory entry.
  if (host_ && n) host_->unmapRange(c, first_vpn, count);
  return n;
}

void ShadowTables::forgetContext(Context* c) {
  if (host_) host_->forget(c);
  for (auto it = deps_.begin(); it != deps_.end();) {
    auto& v = it->second.users;
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
