// Guest real memory ("physical" to the guest): RAM from address 0 up to its size. The VMM backs it
// with one anonymous host mapping, so a real page gets host memory on first touch. With a cap on
// resident host memory (--host-mem), least recently used real pages are written to a swap file
// and brought back on their next touch, without the guest noticing.
// Addresses outside RAM read all-ones and drop writes, as an unassigned bus does.
// A firmware ROM (-bios) can be mapped read-only so that it ends at 4 GiB, with its last 128 KiB
// (or all of it, if smaller) also at the top of the first MiB, over RAM there: QEMU's pc does
// the same ("isa-bios"), read-only too. There is no PAM (i440FX shadowing) to make that range
// RAM again, so a firmware that shadows itself there sees its writes dropped.
// Each page also carries watch counts: translated blocks built from it (code) and shadow page
// tables derived from it (page table): writes to watched pages must reach the VMM.
#pragma once
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <vector>

namespace btvm {

constexpr uint32_t kPageSize = 4096;
constexpr uint32_t kPageMask = kPageSize - 1;

struct RealMemoryStats {
  uint64_t pages_backed = 0;    // real pages that got host memory (first touch or swap-in)
  uint64_t pages_evicted = 0;   // written to the swap file to respect --host-mem
  uint64_t pages_restored = 0;  // brought back from the swap file
};

class PhysMemory {
 public:
  // host_cap_bytes = 0: no cap (the host kernel backs pages lazily by itself).
  explicit PhysMemory(uint64_t bytes, uint64_t host_cap_bytes = 0);
  ~PhysMemory();
  PhysMemory(const PhysMemory&) = delete;
  PhysMemory& operator=(const PhysMemory&) = delete;

  uint8_t* base() const { return ram_; }
  uint64_t size() const { return size_; }
  bool contains(uint64_t paddr, uint64_t len) const { return paddr + len <= size_ && paddr + len >= paddr; }
  // Host pointer for a RAM address (its page made resident), or nullptr outside RAM. Valid until
  // the next call that may evict (any other access): use it at once.
  uint8_t* host(uint64_t paddr) {
    if (paddr >= size_) return nullptr;
    touch(paddr);
    return ram_ + paddr;
  }

  // Accesses for the VMM (devices, loaders, page walks): outside RAM reads the ROM or 0xff and
  // drops writes; writes to the ROM's copy below 1 MiB are dropped too.
  uint8_t read8(uint64_t paddr) {
    if (paddr >= size_) return romByte(paddr);
    touch(paddr);
    return ram_[paddr];
  }
  uint32_t read32(uint64_t paddr);
  void write8(uint64_t paddr, uint8_t v) {
    if (paddr >= size_ || isReadOnly(paddr)) return;
    touch(paddr);
    ram_[paddr] = v;
  }
  void write32(uint64_t paddr, uint32_t v);
  void copyIn(uint64_t paddr, const void* src, uint64_t len);  // whole range must be in RAM
  void fill(uint64_t paddr, uint8_t v, uint64_t len);

  // Watches. Code: translated blocks were built from the page. Table: a shadow page table was
  // derived from it. Either makes the soft TLB send every write to the VMM.
  bool isCodePage(uint64_t paddr) const { return paddr < size_ && code_count_[paddr >> 12] != 0; }
  // Pages outside RAM (code can run from the all-ones bus) are never watched: writes there drop.
  void addCodePage(uint64_t paddr) { if (paddr < size_) ++code_count_[paddr >> 12]; }
  void removeCodePage(uint64_t paddr) { if (paddr < size_ && code_count_[paddr >> 12]) --code_count_[paddr >> 12]; }
  void clearCodePages();
  bool isTablePage(uint64_t paddr) const { return paddr < size_ && table_[paddr >> 12]; }
  void setTablePage(uint64_t paddr, bool on) { if (paddr < size_) table_[paddr >> 12] = on; }
  // Read-only pages are watched too, so that no write reaches them through a host pointer.
  bool isWatched(uint64_t paddr) const { return isCodePage(paddr) || isTablePage(paddr) || isReadOnly(paddr); }

  // The firmware ROM: `image` (a multiple of 4 KiB, at most kMaxRomBytes) at 4 GiB - its size,
  // its last 128 KiB copied to RAM below 1 MiB and made read-only there. Call once, before the
  // guest runs.
  static constexpr uint64_t kMaxRomBytes = 16ull << 20;
  static constexpr uint64_t kIsaRomEnd = 1ull << 20;
  void mapRom(const std::vector<uint8_t>& image);
  // A RAM address whose writes are dropped (the ROM's copy below 1 MiB).
  bool isReadOnly(uint64_t paddr) const { return paddr - ro_start_ < ro_len_; }
  // A byte outside RAM: the ROM's, or 0xff where nothing answers.
  uint8_t romByte(uint64_t paddr) const {
    uint64_t off = paddr - rom_start_;
    return off < rom_.size() ? rom_[off] : 0xff;
  }

  // Called before a page leaves host memory, so that no host pointer to it stays cached.
  void setEvictionHook(std::function<void(uint64_t paddr)> hook) { on_evict_ = std::move(hook); }
  const RealMemoryStats& stats() const { return stats_; }
  uint64_t residentPages() const { return resident_count_; }

 private:
  void touch(uint64_t paddr) {
    if (cap_pages_ == 0) return;
    uint32_t p = uint32_t(paddr >> 12);
    stamp_[p] = ++clock_;
    if (!resident_[p]) makeResident(p);
  }
  void makeResident(uint32_t page);
  void evictOne();

  uint8_t* ram_;
  uint64_t size_;
  std::vector<uint32_t> code_count_;
  std::vector<uint8_t> table_;
  // Residency (only with a cap).
  uint64_t cap_pages_ = 0;
  uint64_t resident_count_ = 0;
  uint64_t clock_ = 0;
  std::vector<uint8_t> resident_, swapped_;
  std::vector<uint64_t> stamp_;
  std::deque<uint32_t> queue_;  // resident pages, oldest first
  std::FILE* swap_ = nullptr;
  std::function<void(uint64_t)> on_evict_;
  RealMemoryStats stats_;
  std::vector<uint8_t> rom_;      // the ROM at rom_start_ .. 4 GiB
  uint64_t rom_start_ = 0;
  uint64_t ro_start_ = 0, ro_len_ = 0;  // its read-only copy in RAM
};

}  // namespace btvm
