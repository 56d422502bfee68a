// The flow generations that validate the jump cache, pending host CALLs and the inline
// caches (dbt/emit_predict.cpp): one per mode, new ones for every mode at each jump-cache flush,
// and when the numbers wrap round every entry is emptied so that none that old can match again.
#include <doctest/doctest.h>

#include <memory>

#include "dbt/dbt.h"
#include "dbt/flow_predict.h"

using namespace btvm;

namespace {
// A translator over 1 MiB of guest memory, with nothing translated yet.
struct DbtFixture {
  std::unique_ptr<CpuState> cpu = std::make_unique<CpuState>();
  PhysMemory mem{1u << 20};
  DbtHooks hooks{};
  DbtConfig cfg = [] {
    DbtConfig c;
    c.code_cache_bytes = 1u << 20;
    return c;
  }();
  Dbt dbt{*cpu, mem, hooks, cfg};
};
}  // namespace

TEST_CASE("flow generation: starts at 1, moves at every jump-cache flush") {
  DbtFixture f;
  auto& cpu = f.cpu;
  Dbt& dbt = f.dbt;
  CHECK(cpu->flow_gen == uint64_t(1) << 32);
  dbt.flushJumpCache();
  CHECK(cpu->flow_gen == uint64_t(2) << 32);
  dbt.flushAll();
  CHECK(cpu->flow_gen == uint64_t(3) << 32);
  CHECK(cpu->flow_gen_neg == uint64_t(0) - (uint64_t(3) << 32));  // the landings' subtrahend
  dbt.enterMode(0x1234, 0);
  CHECK(cpu->flow_gen_neg + cpu->flow_gen == 0);
}

TEST_CASE("flow generation: one per mode, kept across mode switches, renewed by a flush") {
  DbtFixture f;
  auto& cpu = f.cpu;
  Dbt& dbt = f.dbt;
  dbt.enterMode(0x3, 0);  // CPL 3
  uint64_t user = cpu->flow_gen;
  dbt.enterMode(0x0, 0);  // CPL 0
  uint64_t kernel = cpu->flow_gen;
  dbt.enterMode(0x0 | (1u << 20), 0);  // CPL 0 with FS based: another mode
  uint64_t kernel_fs = cpu->flow_gen;
  CHECK(user != kernel);
  CHECK(kernel_fs != kernel);
  CHECK(kernel_fs != user);
  dbt.enterMode(0x3, 0);
  CHECK(cpu->flow_gen == user);  // back to user code: its entries match again
  dbt.enterMode(0x3, 0x10000);   // same flags, other CS base: another mode
  CHECK(cpu->flow_gen != user);
  dbt.enterMode(0x3, 0);
  // A jump-cache entry filled in user mode matches only there.
  Block blk{};
  blk.key.flags = 0x3;
  blk.code = reinterpret_cast<uint8_t*>(0x1000);
  dbt.fillJumpCache(0x100, &blk);
  uint32_t idx = (0x100 + (0x100 >> 12)) & (kJumpCacheSize - 1);
  CHECK(cpu->jcache[idx].key == (user | 0x100));
  dbt.flushJumpCache();  // a new epoch: the current mode and every other get new generations
  CHECK(cpu->flow_gen != user);
  CHECK(cpu->jcache[idx].key != (cpu->flow_gen | 0x100));
  dbt.enterMode(0x0, 0);
  CHECK(cpu->flow_gen != kernel);
}

TEST_CASE("flow generation: a wrap empties the jump cache and starts again at 1") {
  DbtFixture f;
  auto& cpu = f.cpu;
  Dbt& dbt = f.dbt;
  cpu->flow_gen_next = ~uint64_t(0) << 32;  // the last generation
  dbt.flushJumpCache();
  cpu->jcache[9] = JumpCacheEntry{(uint64_t(1) << 32) | 0x5678, cpu.get()};
  dbt.flushJumpCache();
  CHECK(cpu->flow_gen == uint64_t(1) << 32);
  CHECK(cpu->jcache[9].key == 0);
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
