// Where the translator keeps its blocks: an arena that hands them out in code-cache order and
// takes them all back at a flush, and a table that finds a block by its key. Both replace
// per-block heap nodes (a Block, its unordered_map node and one node per exit), whose
// allocation, cache misses and freeing at a flush were most of translation's "other" time.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "dbt/block.h"

namespace btvm {

// Blocks in the order they were made, which is the order of their code in the cache (it is
// bump-allocated): the block that holds a host address is found by binary search, so an
// exit's jump needs no map of its own. A flush (clear) keeps the Block objects and the
// capacity of their lists for the next blocks.
class BlockArena {
 public:
  // A block with empty exit and incoming lists, valid; its other fields are the caller's to set.
  Block* make();
  // Gives the last make() back (its translation did not fit in the code cache).
  void unmake() { --used_; }
  // The last made block's code is in place: it takes part in blockAt from now on.
  void placed(const Block* b);
  void clear() { used_ = 0; codes_.clear(); }
  // The block whose host code holds `p` (valid or not), or null.
  Block* blockAt(const uint8_t* p);

 private:
  static constexpr size_t kChunk = 1024;
  Block& at(size_t i) { return chunks_[i / kChunk][i % kChunk]; }
  std::vector<std::unique_ptr<Block[]>> chunks_;
  size_t used_ = 0;
  std::vector<const uint8_t*> codes_;  // codes_[i]: block i's code, ascending
};

// Cached blocks by key: open addressing with linear probing, the key's hash kept beside the
// pointer so that a probe compares keys only on a likely match.
class BlockTable {
 public:
  explicit BlockTable(size_t expected);
  Block* find(const BlockKey& k) const;
  // Replaces the block registered under the same key, if any.
  void insert(Block* b);
  // Forgets the block registered under `k`, if any.
  void erase(const BlockKey& k);
  void clear();

 private:
  struct Slot {
    uint64_t hash;
    Block* block;  // nullptr: empty; kErased: a block was erased here (probes go on)
  };
  static Block* const kErased;
  static uint64_t hashOf(const BlockKey& k) { return BlockKeyHash{}(k); }
  size_t slotOf(const BlockKey& k, uint64_t h) const;  // its slot, or the first free one
  void grow();
  std::vector<Slot> slots_;
  size_t mask_;
  size_t live_ = 0, erased_ = 0;
};

}  // namespace btvm
