// The flow generation that validates the return-address stack and the inline caches
// (dbt/emit_predict.cpp): it moves on at every jump-cache flush and, when it wraps round,
// empties every entry so that none from 2^32 flushes ago can match again.
#include <doctest/doctest.h>

#include <memory>

#include "dbt/dbt.h"
#include "dbt/flow_predict.h"

using namespace btvm;

TEST_CASE("flow generation: starts at 1, moves at every jump-cache flush") {
  auto cpu = std::make_unique<CpuState>();
  PhysMemory mem(1u << 20);
  DbtHooks hooks{};
  DbtConfig cfg;
  cfg.code_cache_bytes = 1u << 20;
  Dbt dbt(*cpu, mem, hooks, cfg);
  CHECK(cpu->flow_gen == uint64_t(1) << 32);
  for (const RasEntry& r : cpu->ras) CHECK(r.key == 0);
  dbt.flushJumpCache();
  CHECK(cpu->flow_gen == uint64_t(2) << 32);
  dbt.flushAll();
  CHECK(cpu->flow_gen == uint64_t(3) << 32);
}

TEST_CASE("flow generation: a wrap empties the return stack and starts again at 1") {
  auto cpu = std::make_unique<CpuState>();
  PhysMemory mem(1u << 20);
  DbtHooks hooks{};
  DbtConfig cfg;
  cfg.code_cache_bytes = 1u << 20;
  Dbt dbt(*cpu, mem, hooks, cfg);
  cpu->flow_gen = ~uint64_t(0) << 32;  // the last generation
  cpu->ras[7] = RasEntry{cpu->flow_gen | 0x1234, cpu.get()};
  cpu->ras[200] = RasEntry{(uint64_t(1) << 32) | 0x5678, cpu.get()};  // generation 1, long ago
  dbt.flushJumpCache();
  CHECK(cpu->flow_gen == uint64_t(1) << 32);
  CHECK(cpu->ras[7].key == 0);
  CHECK(cpu->ras[200].key == 0);
  CHECK(cpu->ras[200].code == nullptr);
}

TEST_CASE("inline-cache pool: slots until full, emptied on request, free again after reset") {
  InlineCachePool pool(2);
  InlineCacheSlot* a = pool.allocate();
  InlineCacheSlot* b = pool.allocate();
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a != b);
  CHECK(a->key == 0);
  CHECK(pool.allocate() == nullptr);  // full: the site uses the jump cache alone
  a->key = 42;
  b->key = 43;
  pool.clearSlots();
  CHECK(a->key == 0);
  CHECK(b->key == 0);
  pool.reset();
  CHECK(pool.allocate() == a);
}
