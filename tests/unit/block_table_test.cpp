// dbt/block_table.h: the open-addressing table finds exactly the registered blocks through
// inserts, replacements, erasures and growth; the arena finds the block holding a host address.
// dbt/encoding_memo.h: a memo hit is exactly what was remembered for those bytes and code size.
#include <doctest/doctest.h>

#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "dbt/block_table.h"
#include "dbt/encoding_memo.h"

using namespace btvm;

namespace {
BlockKey keyOf(uint32_t i) { return BlockKey{i * 7u, i % 3u, uint64_t(i) * 4096u + (i & 15u), i % 5u}; }
}  // namespace

TEST_CASE("block_table: find, replace, erase and grow against std::map") {
  BlockTable t(4);  // small: grows many times
  std::vector<std::unique_ptr<Block>> blocks;
  std::map<uint32_t, Block*> model;
  uint32_t seed = 12345;
  auto rnd = [&] { return seed = seed * 1103515245u + 12345u, (seed >> 8) % 3000u; };
  for (int step = 0; step < 20000; ++step) {
    uint32_t i = rnd();
    if (step % 3 == 2) {  // erase
      t.erase(keyOf(i));
      model.erase(i);
    } else {  // insert (a second insert under a key replaces the first)
      blocks.push_back(std::make_unique<Block>());
      blocks.back()->key = keyOf(i);
      t.insert(blocks.back().get());
      model[i] = blocks.back().get();
    }
    if (step % 997 == 0)
      for (uint32_t k = 0; k < 3000; ++k) {
        auto it = model.find(k);
        REQUIRE(t.find(keyOf(k)) == (it == model.end() ? nullptr : it->second));
      }
  }
  t.clear();
  for (uint32_t k = 0; k < 3000; ++k) CHECK(t.find(keyOf(k)) == nullptr);
}

TEST_CASE("block_table: the arena finds the block holding an address, reuses blocks after clear") {
  static uint8_t buffer[4096 + 16];
  uint8_t* code = buffer + 16;  // a byte before the first block's code exists
  BlockArena arena;
  std::vector<Block*> made;
  for (int i = 0; i < 2500; ++i) {  // more than one chunk
    Block* b = arena.make();
    CHECK(b->valid);
    CHECK(b->exits.empty());
    b->code = code + i;  // ascending, one byte each, as the code cache hands them out
    b->code_size = 1;
    b->exits.push_back(Block::Exit{});
    b->valid = i % 2 == 0;  // blockAt finds invalid blocks too (the caller checks)
    arena.placed(b);
    made.push_back(b);
  }
  CHECK(arena.blockAt(code) == made[0]);
  CHECK(arena.blockAt(code + 1500) == made[1500]);
  CHECK(arena.blockAt(code + 1501) == made[1501]);
  CHECK(arena.blockAt(code + 2499) == made[2499]);
  CHECK(arena.blockAt(code + 2500) == nullptr);  // past the last block's code
  CHECK(arena.blockAt(code - 1) == nullptr);
  Block* unplaced = arena.make();  // a translation that did not fit: given back
  arena.unmake();
  CHECK(arena.make() == unplaced);
  arena.clear();
  CHECK(arena.blockAt(code) == nullptr);
  Block* again = arena.make();
  CHECK(again == made[0]);  // the same object, its lists emptied
  CHECK(again->exits.empty());
  CHECK(again->valid);
}

TEST_CASE("encoding_memo: remembers host bytes by guest bytes and code size, one per slot") {
  EncodingMemo memo;
  const uint8_t xor_eax[] = {0x31, 0xc0}, host_a[] = {0x31, 0xc0}, host_b[] = {0x66, 0x31, 0xc0};
  size_t len = 0;
  CHECK(memo.find(xor_eax, 2, false, &len) == nullptr);
  memo.remember(xor_eax, 2, false, host_a, 2);
  const uint8_t* got = memo.find(xor_eax, 2, false, &len);
  REQUIRE(got != nullptr);
  CHECK(len == 2);
  CHECK(std::memcmp(got, host_a, 2) == 0);
  CHECK(memo.find(xor_eax, 2, true, &len) == nullptr);  // the same bytes in 16-bit code: not it
  CHECK(memo.find(xor_eax, 1, false, &len) == nullptr);  // a prefix of it: not it
  memo.remember(xor_eax, 2, true, host_b, 3);
  got = memo.find(xor_eax, 2, true, &len);
  REQUIRE(got != nullptr);
  CHECK(len == 3);
  CHECK(std::memcmp(got, host_b, 3) == 0);
  // Too long to keep: not remembered (and nothing else is disturbed).
  uint8_t long_host[EncodingMemo::kMaxHost + 1] = {};
  const uint8_t other[] = {0x89, 0xe5};
  memo.remember(other, 2, false, long_host, sizeof long_host);
  CHECK(memo.find(other, 2, false, &len) == nullptr);
  // Many instructions: each found is exactly what was remembered for it (slots get replaced).
  for (uint32_t i = 0; i < 50000; ++i) {
    uint8_t g[4] = {uint8_t(i), uint8_t(i >> 8), uint8_t(i >> 16), 0x90};
    uint8_t h[4] = {uint8_t(~i), uint8_t(i >> 3), 0xcc, 0xcc};
    memo.remember(g, 4, false, h, 4);
    const uint8_t* f = memo.find(g, 4, false, &len);
    REQUIRE(f != nullptr);
    CHECK(std::memcmp(f, h, 4) == 0);
  }
  for (uint32_t i = 0; i < 50000; ++i) {
    uint8_t g[4] = {uint8_t(i), uint8_t(i >> 8), uint8_t(i >> 16), 0x90};
    uint8_t h[4] = {uint8_t(~i), uint8_t(i >> 3), 0xcc, 0xcc};
    if (const uint8_t* f = memo.find(g, 4, false, &len)) REQUIRE(std::memcmp(f, h, 4) == 0);
  }
}
