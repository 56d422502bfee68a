// Shadow page tables for a soft MMU: per guest address space (keyed by the guest's CR3 value), a
// cache of the translations the guest's own tables gave, so that a TLB miss is usually answered
// without walking guest memory, and a switch back to an address space finds its translations
// still there. Every entry remembers which guest page-table entries it was derived from; those
// pages are write-watched, and a guest write to one drops exactly the entries that depended on it,
// in every address space that uses that page.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <list>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mmu/host_mmu.h"
#include "mmu/phys_memory.h"

namespace btvm {

struct ShadowEntry {
  uint32_t phys_page;  // guest physical page number
  bool writable;       // R/W of both levels
  bool user;           // U/S of both levels
  bool dirty;          // the guest's D bit is already set (writes need no walk)
  bool global = false; // G with CR4.PGE: a real TLB keeps it across CR3 loads
  bool large = false;  // from a 4 MiB or 2 MiB page (set by ShadowTables from the walk's pages)
};

// What selects an address space. 32-bit paging: CR3 bits 31:12. PAE paging: CR3 bits 31:5 and
// the PDPTE registers loaded from there; the same CR3 value in the other mode is another
// address space, and so is the same CR3 reloaded after the guest changed its PDPT.
struct ShadowKey {
  uint32_t cr3 = 0;
  bool pae = false;
  uint64_t pdpte[4] = {};
};

struct ShadowStats {
  uint64_t contexts_created = 0, contexts_reused = 0, contexts_evicted = 0;
  uint64_t hits = 0;            // TLB misses answered from a shadow table (no walk)
  uint64_t fills = 0;           // entries made from a guest page walk
  uint64_t table_writes = 0;    // guest writes to watched page-table pages
  uint64_t invalidated = 0;     // shadow entries dropped by those writes or INVLPG
  uint64_t updated = 0;         // entries re-derived in place after a write changed their PTE
  uint64_t writes_kept = 0;     // trapped writes that changed no translation (nothing dropped)
  uint64_t invlpg_kept = 0;     // INVLPGs of an entry that still matched the guest's tables
  uint64_t prefilled = 0;       // demand-paging retries mapped at the PTE write (mmu/table_update.cpp)
  uint64_t unshadowed = 0;      // table pages no longer watched after write flooding
};

class ShadowTables {
 public:
  // capacity = how many address spaces are kept; 0 keeps only the current one (no caching).
  ShadowTables(PhysMemory& mem, unsigned capacity) : mem_(mem), capacity_(capacity) {}

  void switchTo(const ShadowKey& key);  // MOV to CR3 (or paging enabled)
  void switchTo(uint32_t cr3) { switchTo(ShadowKey{cr3}); }  // 32-bit paging
  void dropAll();                     // CR0.WP/PG, CR4 changes: rights or format changed
  const ShadowEntry* find(uint32_t vpn) const;
  // After a successful walk: the entry and the guest table pages it came from (pt_page = ~0 for a
  // large page). The current context's mode says how big their entries are.
  void insert(uint32_t vpn, const ShadowEntry& e, uint64_t pd_page, uint64_t pt_page);
  // INVLPG: forget one page in the current address space.
  bool invalidatePage(uint32_t vpn);
  // A guest write to [paddr, paddr+len) of a watched page-table page. Calls `dropped(vpn)` for
  // each entry of the *current* address space that was dropped (its TLB entry must go too).
  template <typename F>
  void tableWritten(uint64_t paddr, uint32_t len, F dropped);

  // In-place updates (mmu/shadow_update.cpp, for Mmu's table-write path). A guest write to the
  // table page at `page` changed the entries in [start, start + n) (byte offsets in the page,
  // 8-byte aligned; `before`/`after` their bytes). For each context that uses the page and each
  // written entry whose translation changed (not only A/D being set or ignored bits): a PTE of
  // a 4 KiB page that the context has an entry for calls `leaf(id, vpn)`; a directory entry
  // drops what it gave at once (host mappings in runs) and calls `dropped(vpn)` for each entry
  // of the current context that went.
  template <typename Leaf, typename Dropped>
  void tableUpdated(uint64_t page, uint32_t start, uint32_t n, const uint8_t* before, const uint8_t* after,
                    Leaf leaf, Dropped dropped);
  // Write flooding (after KVM's rule): a table page written kFloodWrites times in a row with
  // no write changing an entry derived from it and no walk reading it in between may be no page
  // table any more: a table the guest freed (its entries dropped as it cleared them) and reused
  // as data, still watched because a cached context once walked through it, so that each of
  // its writes traps. If no context has an entry derived from it, it is no longer watched (a
  // later walk through it watches it again); if one has, it is still a live table and the
  // next look waits twice as many idle writes, up to kFloodMaxWrites. `changed`: the write
  // dropped or re-derived an entry.
  static constexpr uint32_t kFloodWrites = 16, kFloodMaxWrites = 4096;
  void noteTableWrite(uint64_t page, bool changed);
  // The key of a context (by its id, as attachHost and currentId give it), or nullptr.
  const ShadowKey* keyOf(const void* id) const;
  // Replaces the entry of `vpn` in context `id` (the walk that gave it read these table pages).
  void replaceIn(const void* id, uint32_t vpn, const ShadowEntry& e, uint64_t pd_page, uint64_t pt_page);
  // Forgets the entry of `vpn` in context `id` and its host mappings.
  void eraseIn(const void* id, uint32_t vpn);

  // --mmu host: each context's pages are mapped in a host space of its own (keyed by the
  // context's address); dropped entries and forgotten contexts are unmapped there.
  void attachHost(HostMmu* host) { host_ = host; }
  const void* currentId() const { return lru_.empty() ? nullptr : &lru_.front(); }

  ShadowStats stats;
  // Pages that became watched since the last call: the MMU drops their TLB write tags.
  std::vector<uint64_t> takeNewlyWatched() { return std::exchange(newly_watched_, {}); }

 private:
  struct Context {
    ShadowKey key;
    std::unordered_map<uint32_t, ShadowEntry> entries;
  };
  // A context's entries came from this table page: entry i of the page (entries of
  // 1 << entry_shift bytes) covers the pages base_vpn + (i << vpn_shift) .. + (1 << vpn_shift).
  //   32-bit paging: directory {0, 10, 2}; table {pdi << 10, 0, 2}
  //   PAE paging:    directory {pdpti << 18, 9, 3}; table {first vpn of its 2 MiB, 0, 3}
  // With 8-byte entries, a write to either half of an entry drops what the entry gave, so a
  // guest that writes an entry as two 32-bit halves never leaves a translation of the old one
  // or of the half-written one.
  struct Dep {
    Context* ctx;
    uint32_t base_vpn;
    uint8_t vpn_shift;
    uint8_t entry_shift;
    bool operator==(const Dep&) const = default;
  };
  // A guest table page: the contexts whose entries came from it, and its idle writes
  // (noteTableWrite).
  struct TablePage {
    std::vector<Dep> users;
    uint32_t idle_writes = 0;
    uint32_t flood_limit = kFloodWrites;
  };
  // Calls `f(vpn)` for each entry of `c` in [first_vpn, first_vpn + count), by lookups or, for a
  // span larger than the context (a directory entry's), by a pass over its entries; stops when
  // `f` returns true, and returns whether it did.
  template <typename F>
  static bool entriesIn(const Context* c, uint32_t first_vpn, uint32_t count, F f) {
    if (count > c->entries.size()) {
      for (const auto& kv : c->entries)
        if (kv.first - first_vpn < count && f(kv.first)) return true;
      return false;
    }
    for (uint32_t v = first_vpn; v < first_vpn + count; ++v)
      if (c->entries.count(v) && f(v)) return true;
    return false;
  }
  void addDep(uint64_t page, const Dep& d);
  void addDeps(Context* c, uint32_t vpn, uint64_t pd_page, uint64_t pt_page);
  Context* contextOf(const void* id);
  // Whether an entry change from `o` to `n` leaves what it translates to unchanged.
  static bool sameTranslation(uint64_t o, uint64_t n);
  void forgetContext(Context* c);
  uint32_t dropRange(Context* c, uint32_t first_vpn, uint32_t count, std::vector<uint32_t>* out);

  PhysMemory& mem_;
  unsigned capacity_;
  std::list<Context> lru_;  // front = current
  std::unordered_map<uint64_t, TablePage> deps_;
  std::vector<uint64_t> newly_watched_;
  HostMmu* host_ = nullptr;
};

template <typename F>
void ShadowTables::tableWritten(uint64_t paddr, uint32_t len, F dropped) {
  ++stats.table_writes;
  auto it = deps_.find(paddr & ~uint64_t(kPageMask));
  if (it == deps_.end()) return;
  Context* current = lru_.empty() ? nullptr : &lru_.front();
  std::vector<uint32_t> gone;
  std::vector<Dep> users = it->second.users;  // dropping may not touch deps_, but be safe
  for (const Dep& d : users) {
    std::vector<uint32_t>* out = d.ctx == current ? &gone : nullptr;
    uint32_t off = uint32_t(paddr & kPageMask);
    uint32_t first = off >> d.entry_shift;
    uint32_t last = std::min<uint32_t>(off + len - 1, kPageMask) >> d.entry_shift;
    stats.invalidated += dropRange(d.ctx, d.base_vpn + (first << d.vpn_shift), (last - first + 1) << d.vpn_shift, out);
  }
  for (uint32_t vpn : gone) dropped(vpn);
}

template <typename Leaf, typename Dropped>
void ShadowTables::tableUpdated(uint64_t page, uint32_t start, uint32_t n, const uint8_t* before,
                                const uint8_t* after, Leaf leaf, Dropped dropped) {
  ++stats.table_writes;
  auto it = deps_.find(page);
  if (it == deps_.end()) return;
  Context* current = lru_.empty() ? nullptr : &lru_.front();
  std::vector<Dep> users = it->second.users;  // leaf() may add deps (never to this page's list twice)
  std::vector<uint32_t> gone;
  for (const Dep& d : users) {
    uint32_t size = 1u << d.entry_shift;
    for (uint32_t off = start; off < start + n; off += size) {
      uint64_t o = 0, w = 0;  // the entry's bytes, little-endian as the guest's
      std::memcpy(&o, before + (off - start), size);
      std::memcpy(&w, after + (off - start), size);
      if (sameTranslation(o, w)) continue;
      uint32_t first = d.base_vpn + ((off >> d.entry_shift) << d.vpn_shift);
      if (d.vpn_shift == 0) {
        if (d.ctx->entries.count(first)) leaf(static_cast<const void*>(d.ctx), first);
        continue;
      }
      stats.invalidated += dropRange(d.ctx, first, 1u << d.vpn_shift, d.ctx == current ? &gone : nullptr);
    }
  }
  for (uint32_t vpn : gone) dropped(vpn);
}

}  // namespace btvm
