// Shadow page tables: contexts kept per CR3 with LRU eviction, and the invalidation of exactly
// the entries that depended on a written guest page-table entry, in every context.
#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "mmu/shadow.h"

using namespace btvm;

namespace {

constexpr uint64_t kPd1 = 0x10000, kPd2 = 0x11000, kPd3 = 0x12000, kPt = 0x20000;

ShadowEntry entry(uint32_t frame) { return ShadowEntry{frame, true, true, false}; }

}  // namespace

TEST_CASE("shadow: a context per CR3, reused when switching back") {
  PhysMemory mem(1 << 20);
  ShadowTables s(mem, 4);
  s.switchTo(uint32_t(kPd1));
  s.insert(5, entry(0x50), kPd1, kPt);
  s.switchTo(uint32_t(kPd2));
  CHECK(s.find(5) == nullptr);  // another address space
  s.switchTo(uint32_t(kPd1) | 0x18);  // PCD/PWT bits do not select another context
  REQUIRE(s.find(5) != nullptr);
  CHECK(s.find(5)->phys_page == 0x50);
  CHECK(s.stats.contexts_created == 2);
  CHECK(s.stats.contexts_reused == 1);
}

TEST_CASE("shadow: the least recently used context is evicted, and its pages unwatched") {
  PhysMemory mem(1 << 20);
  ShadowTables s(mem, 2);
  s.switchTo(uint32_t(kPd1));
  s.insert(1, entry(0x31), kPd1, kPt);
  s.switchTo(uint32_t(kPd2));
  s.insert(2, entry(0x32), kPd2, ~0ull);
  s.switchTo(uint32_t(kPd1));  // PD1 is now the most recent
  s.switchTo(uint32_t(kPd3));  // evicts PD2, not PD1
  CHECK(s.stats.contexts_evicted == 1);
  CHECK_FALSE(mem.isTablePage(kPd2));
  CHECK(mem.isTablePage(kPd1));
  s.switchTo(uint32_t(kPd1));
  CHECK(s.find(1) != nullptr);
  s.switchTo(uint32_t(kPd2));
  CHECK(s.find(2) == nullptr);  // rebuilt from nothing
  CHECK(s.stats.contexts_created == 4);
}

TEST_CASE("shadow: capacity 0 keeps no context across a switch") {
  PhysMemory mem(1 << 20);
  ShadowTables s(mem, 0);
  s.switchTo(uint32_t(kPd1));
  s.insert(7, entry(0x70), kPd1, kPt);
  s.switchTo(uint32_t(kPd2));
  s.switchTo(uint32_t(kPd1));
  CHECK(s.find(7) == nullptr);
  CHECK(s.stats.contexts_reused == 0);
}

TEST_CASE("shadow: a PTE write drops exactly its entry, in every context using the table") {
  PhysMemory mem(1 << 20);
  ShadowTables s(mem, 4);
  // vpn 0x401 and 0x402 come from PDE 1 -> kPt, entries 1 and 2; both address spaces share kPt.
  for (uint64_t pd : {kPd1, kPd2}) {
    s.switchTo(uint32_t(pd));
    s.insert(0x401, entry(0x91), pd, kPt);
    s.insert(0x402, entry(0x92), pd, kPt);
  }
  CHECK(mem.isTablePage(kPt));
  std::vector<uint32_t> dropped_current;
  s.tableWritten(kPt + 2 * 4, 4, [&](uint32_t vpn) { dropped_current.push_back(vpn); });
  CHECK(s.find(0x401) != nullptr);
  CHECK(s.find(0x402) == nullptr);
  CHECK(dropped_current == std::vector<uint32_t>{0x402});  // current context (PD2): TLB must drop it
  s.switchTo(uint32_t(kPd1));
  CHECK(s.find(0x401) != nullptr);
  CHECK(s.find(0x402) == nullptr);  // also gone from the other context
  CHECK(s.stats.invalidated == 2);
  CHECK(s.stats.table_writes == 1);
}

TEST_CASE("shadow: a PDE write drops the 4 MiB range it maps, nothing else") {
  PhysMemory mem(1 << 20);
  ShadowTables s(mem, 4);
  s.switchTo(uint32_t(kPd1));
  s.insert(0x400, entry(1), kPd1, kPt);    // PDE 1
  s.insert(0x7ff, entry(2), kPd1, kPt);    // PDE 1
  s.insert(0x800, entry(3), kPd1, kPt);    // PDE 2
  s.tableWritten(kPd1 + 1 * 4, 4, [](uint32_t) {});
  CHECK(s.find(0x400) == nullptr);
  CHECK(s.find(0x7ff) == nullptr);
  CHECK(s.find(0x800) != nullptr);
}

TEST_CASE("shadow: INVLPG drops one page of the current context; dropAll forgets every table") {
  PhysMemory mem(1 << 20);
  ShadowTables s(mem, 4);
  s.switchTo(uint32_t(kPd1));
  s.insert(3, entry(3), kPd1, kPt);
  s.insert(4, entry(4), kPd1, kPt);
  CHECK(s.invalidatePage(3));
  CHECK_FALSE(s.invalidatePage(3));
  CHECK(s.find(4) != nullptr);
  s.dropAll();
  CHECK_FALSE(mem.isTablePage(kPd1));
  CHECK_FALSE(mem.isTablePage(kPt));
  CHECK(s.find(4) == nullptr);
}

TEST_CASE("shadow: a table page written again and again with no effect stops being watched once nothing uses it") {
  PhysMemory mem(1 << 20);
  ShadowTables s(mem, 4);
  s.switchTo(uint32_t(kPd1));
  s.insert(5, entry(0x50), kPd1, kPt);  // kPt's entry 5, in a context that goes on living
  s.switchTo(uint32_t(kPd2));
  s.insert(0x400 + 9, entry(0x59), kPd2, kPt + 0x1000);  // the current context uses another table
  auto idle = [&](uint32_t n) {
    for (uint32_t i = 0; i < n; ++i) s.noteTableWrite(kPt, false);
  };
  // A live table (PD1's entry 5 came from it) stays watched, however often it is written.
  idle(ShadowTables::kFloodMaxWrites * 2);  // enough for the backoff to reach its limit
  CHECK(mem.isTablePage(kPt));
  CHECK(s.stats.unshadowed == 0);
  // Its entry goes (the guest cleared the PTE): from now on nothing uses the page.
  s.tableWritten(kPt + 5 * 4, 4, [](uint32_t) {});
  s.noteTableWrite(kPt, true);  // that write changed an entry
  s.switchTo(uint32_t(kPd1));
  CHECK(s.find(5) == nullptr);
  // The look waits for as many idle writes as the backoff reached (at most kFloodMaxWrites);
  // a write that changed an entry, or a walk that reads the page, starts the count again.
  idle(ShadowTables::kFloodMaxWrites - 1);
  s.noteTableWrite(kPt, true);
  idle(ShadowTables::kFloodMaxWrites - 1);
  s.insert(6, entry(0x60), kPd1, kPt);  // a walk read it; the guest then clears that PTE too
  s.tableWritten(kPt + 6 * 4, 4, [](uint32_t) {});
  s.noteTableWrite(kPt, true);
  idle(ShadowTables::kFloodMaxWrites - 1);
  CHECK(mem.isTablePage(kPt));
  idle(ShadowTables::kFloodMaxWrites);
  CHECK(s.stats.unshadowed == 1);
  CHECK_FALSE(mem.isTablePage(kPt));
  CHECK(mem.isTablePage(kPd1));           // still a live directory
  CHECK(mem.isTablePage(kPt + 0x1000));   // and a live table
  s.switchTo(uint32_t(kPd2));
  CHECK(s.find(0x400 + 9) != nullptr);
  // A later walk through it watches it again.
  s.switchTo(uint32_t(kPd1));
  s.insert(5, entry(0x50), kPd1, kPt);
  CHECK(mem.isTablePage(kPt));
}
