// Guest physical memory: RAM from address 0 up to its size, backed by one anonymous host mapping
// (the host kernel backs a page on first touch). Addresses outside RAM read all-ones and drop
// writes, as an unassigned bus does. Also keeps, per RAM page, how many translated blocks were
// built from it, so that writes to code pages can be caught.
#pragma once
#include <cstdint>
#include <vector>

namespace btvm {

constexpr uint32_t kPageSize = 4096;
constexpr uint32_t kPageMask = kPageSize - 1;

class PhysMemory {
 public:
  explicit PhysMemory(uint64_t bytes);
  ~PhysMemory();
  PhysMemory(const PhysMemory&) = delete;
  PhysMemory& operator=(const PhysMemory&) = delete;

  uint8_t* base() const { return ram_; }
  uint64_t size() const { return size_; }
  bool contains(uint64_t paddr, uint64_t len) const { return paddr + len <= size_ && paddr + len >= paddr; }
  // Host pointer for a RAM address, or nullptr outside RAM.
  uint8_t* host(uint64_t paddr) const { return paddr < size_ ? ram_ + paddr : nullptr; }

  // Byte access for the VMM (devices, loaders, page walks): outside RAM reads 0xff, drops writes.
  uint8_t read8(uint64_t paddr) const { return paddr < size_ ? ram_[paddr] : 0xff; }
  uint32_t read32(uint64_t paddr) const;
  void write8(uint64_t paddr, uint8_t v) { if (paddr < size_) ram_[paddr] = v; }
  void write32(uint64_t paddr, uint32_t v);

  // Code-page watch counts: nonzero means translated code was built from the page.
  bool isCodePage(uint64_t paddr) const { return paddr < size_ && code_count_[paddr >> 12] != 0; }
  void addCodePage(uint64_t paddr) { ++code_count_[paddr >> 12]; }
  void removeCodePage(uint64_t paddr) { if (code_count_[paddr >> 12]) --code_count_[paddr >> 12]; }
  void clearCodePages();

 private:
  uint8_t* ram_;
  uint64_t size_;
  std::vector<uint32_t> code_count_;
};

}  // namespace btvm
