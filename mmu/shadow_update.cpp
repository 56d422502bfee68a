// In-place updates of shadow entries after a guest page-table write (ShadowTables::tableUpdated
// and the calls Mmu's table-write path makes with what it found): a write that leaves an entry's
// translation alone keeps everything, a changed PTE is re-derived by the MMU, which replaces the
// entry and its host mappings with one system call each (mmu/table_update.cpp).
#include "mmu/shadow.h"

#include <algorithm>

namespace btvm {

// Present bit, the bits that select nothing in the emulator (PWT, PCD: caching; G: global pages
// are not kept across CR3 switches anyway; 11:9: available to software), and A/D, which may be
// set but not cleared: a cleared A or D must be set again by the next access, so the entry goes.
bool ShadowTables::sameTranslation(uint64_t o, uint64_t n) {
  constexpr uint64_t kP = 1, kA = 0x20, kD = 0x40, kIgnored = 0x18 | 0x100 | 0xe00;
  if (!(o & kP) && !(n & kP)) return true;  // nothing was cached from a not-present entry
  uint64_t may_differ = kIgnored | (n & (kA | kD));
  return ((o ^ n) & ~may_differ) == 0;
}

ShadowTables::Context* ShadowTables::contextOf(const void* id) {
  for (Context& c : lru_)
    if (&c == id) return &c;
  return nullptr;
}

const ShadowKey* ShadowTables::keyOf(const void* id) const {
  for (const Context& c : lru_)
    if (&c == id) return &c.key;
  return nullptr;
}

void ShadowTables::addDeps(Context* c, uint32_t vpn, uint64_t pd_page, uint64_t pt_page) {
  if (c->key.pae) {
    addDep(pd_page, Dep{c, vpn & ~0x3ffffu, 9, 3});
    if (pt_page != ~0ull) addDep(pt_page, Dep{c, vpn & ~0x1ffu, 0, 3});
  } else {
    addDep(pd_page, Dep{c, 0, 10, 2});
    if (pt_page != ~0ull) addDep(pt_page, Dep{c, vpn & ~0x3ffu, 0, 2});
  }
}

void ShadowTables::replaceIn(const void* id, uint32_t vpn, const ShadowEntry& e, uint64_t pd_page, uint64_t pt_page) {
  Context* c = contextOf(id);
  if (!c) return;
  ShadowEntry& x = c->entries[vpn] = e;
  x.large = pt_page == ~0ull;
  ++stats.updated;
  addDeps(c, vpn, pd_page, pt_page);
}

void ShadowTables::eraseIn(const void* id, uint32_t vpn) {
  Context* c = contextOf(id);
  if (!c) return;
  stats.invalidated += c->entries.erase(vpn);
  if (host_) host_->unmap(c, vpn);
}

void ShadowTables::noteTableWrite(uint64_t page, bool changed) {
  auto it = deps_.find(page);
  if (it == deps_.end()) return;
  TablePage& t = it->second;
  if (changed) {
    t.idle_writes = 0;
    return;
  }
  if (++t.idle_writes < t.flood_limit) return;
  t.idle_writes = 0;
  for (const Dep& d : t.users)
    if (entriesIn(d.ctx, d.base_vpn, (kPageSize >> d.entry_shift) << d.vpn_shift, [](uint32_t) { return true; })) {
      t.flood_limit = std::min(t.flood_limit * 2, kFloodMaxWrites);  // a live table: look less often
      return;
    }
  deps_.erase(it);
  mem_.setTablePage(page, false);
  ++stats.unshadowed;
}

}  // namespace btvm
