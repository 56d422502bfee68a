#include "dbt/block_table.h"

#include <algorithm>

namespace btvm {

Block* BlockArena::make() {
  if (used_ == chunks_.size() * kChunk) chunks_.push_back(std::make_unique<Block[]>(kChunk));
  Block& b = at(used_++);
  b.exits.clear();
  b.incoming.clear();
  b.valid = true;
  return &b;
}

void BlockArena::placed(const Block* b) { codes_.push_back(b->code); }

Block* BlockArena::blockAt(const uint8_t* p) {
  auto it = std::upper_bound(codes_.begin(), codes_.end(), p);
  if (it == codes_.begin()) return nullptr;
  Block& b = at(size_t(it - codes_.begin()) - 1);
  return p < b.code + b.code_size ? &b : nullptr;
}

// Any pointer that is no Block's: a Block is never at address 1.
Block* const BlockTable::kErased = reinterpret_cast<Block*>(uintptr_t(1));

BlockTable::BlockTable(size_t expected) {
  size_t n = 16;
  while (n < 2 * expected) n *= 2;
  slots_.assign(n, Slot{0, nullptr});
  mask_ = n - 1;
}

size_t BlockTable::slotOf(const BlockKey& k, uint64_t h) const {
  size_t i = size_t(h) & mask_;
  size_t free_at = SIZE_MAX;
  for (;; i = (i + 1) & mask_) {
    const Slot& s = slots_[i];
    if (!s.block) return free_at != SIZE_MAX ? free_at : i;
    if (s.block == kErased) {
      if (free_at == SIZE_MAX) free_at = i;
    } else if (s.hash == h && s.block->key == k) {
      return i;
    }
  }
}

Block* BlockTable::find(const BlockKey& k) const {
  const Slot& s = slots_[slotOf(k, hashOf(k))];
  return s.block == kErased ? nullptr : s.block;
}

void BlockTable::insert(Block* b) {
  if (2 * (live_ + erased_ + 1) > slots_.size()) grow();
  uint64_t h = hashOf(b->key);
  Slot& s = slots_[slotOf(b->key, h)];
  if (!s.block) ++live_;
  else if (s.block == kErased) --erased_, ++live_;
  s = Slot{h, b};
}

void BlockTable::erase(const BlockKey& k) {
  Slot& s = slots_[slotOf(k, hashOf(k))];
  if (!s.block || s.block == kErased) return;
  s.block = kErased;
  --live_;
  ++erased_;
}

void BlockTable::clear() {
  std::fill(slots_.begin(), slots_.end(), Slot{0, nullptr});
  live_ = erased_ = 0;
}

// Doubles when live blocks fill a quarter of the slots, else only sweeps out erased slots.
void BlockTable::grow() {
  std::vector<Slot> old;
  old.swap(slots_);
  size_t n = 4 * live_ >= old.size() ? 2 * old.size() : old.size();
  slots_.assign(n, Slot{0, nullptr});
  mask_ = n - 1;
  live_ = erased_ = 0;
  for (const Slot& s : old)
    if (s.block && s.block != kErased) {
      size_t i = size_t(s.hash) & mask_;
      while (slots_[i].block) i = (i + 1) & mask_;
      slots_[i] = s;
      ++live_;
    }
}

}  // namespace btvm
