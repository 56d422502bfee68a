// Guest real memory ("physical" to the guest): RAM from address 0 up to its size. The VMM backs it
// with one anonymous host mapping, so a real page gets host memory on first touch; with
// `shareable` (--mmu host) with one memory file (memfd) instead, mapped here and again, page by
// page, into the host MMU's reservations (mmu/host_mmu.h), all views of the same bytes. With a cap on
// resident host memory (--host-mem), least recently used real pages are written to a swap file
// and brought back on their next touch, without the guest noticing.
// Addresses outside RAM read all-ones and drop writes, as an unassigned bus does.
// A firmware ROM (-bios) can be mapped read-only so that it ends at 4 GiB, with its last 128 KiB
// (or all of it, if smaller) also at the top of the first MiB, over RAM there: QEMU's pc does
// the same ("isa-bios"), read-only too. The chipset's PAM registers (setShadow) then choose, per
// 16 KiB, whether that window shows the ROM or the RAM beneath it, and whether writes reach
// that RAM, so a BIOS can shadow itself as on an i440FX. Elsewhere in 0xC0000-0xFFFFF btvm has
// RAM whatever PAM says. The window is kept in RAM's own host memory: the bytes reads should
// see are there (the ROM's, or the RAM's), and the hidden ones are kept aside (`under_`).
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
  explicit PhysMemory(uint64_t bytes, uint64_t host_cap_bytes = 0, bool shareable = false);
  ~PhysMemory();
  PhysMemory(const PhysMemory&) = delete;
  PhysMemory& operator=(const PhysMemory&) = delete;

  uint8_t* base() const { return ram_; }
  int memFd() const { return fd_; }  // the memory file (shareable), else -1
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
    if (paddr >= size_) return;
    if (isReadOnly(paddr)) {
      writeHidden(paddr, v);
      return;
    }
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
  void addCodePage(uint64_t paddr) {
    if (paddr >= size_) return;
    if (code_count_[paddr >> 12]++ == 0 && !table_[paddr >> 12]) watchStarted(paddr);
  }
  void removeCodePage(uint64_t paddr) { if (paddr < size_ && code_count_[paddr >> 12]) --code_count_[paddr >> 12]; }
  void clearCodePages();
  bool isTablePage(uint64_t paddr) const { return paddr < size_ && table_[paddr >> 12]; }
  void setTablePage(uint64_t paddr, bool on) {
    if (paddr >= size_) return;
    bool was = table_[paddr >> 12];
    table_[paddr >> 12] = on;
    if (on && !was && !code_count_[paddr >> 12]) watchStarted(paddr);
  }
  // Read-only pages are watched too, so that no write reaches them through a host pointer.
  // (Every write to them goes through write8/write32.)
  bool isWatched(uint64_t paddr) const { return isCodePage(paddr) || isTablePage(paddr) || isReadOnly(paddr); }

  // The firmware ROM: `image` (a multiple of 16 KiB, at most kMaxRomBytes) at 4 GiB - its
  // size, its last 128 KiB showing below 1 MiB, read-only (PAM all 0). Call once, before the
  // guest runs.
  static constexpr uint64_t kMaxRomBytes = 16ull << 20;
  static constexpr uint64_t kIsaRomEnd = 1ull << 20;
  static constexpr uint64_t kShadowUnit = 16u << 10;  // PAM's granularity
  void mapRom(const std::vector<uint8_t>& image);
  // PAM for [start, start+len) (whole 16 KiB units; only the ROM's window below 1 MiB takes
  // it): reads see the RAM beneath (`read_ram`) or the ROM; writes go to that RAM (`write_ram`)
  // or are dropped. Returns true if what reads see there changed (translated code and host
  // pointers to it are stale then; the caller drops them).
  bool setShadow(uint64_t start, uint64_t len, bool read_ram, bool write_ram);
  // A RAM address whose writes do not land in RAM as usual: the ROM's window below 1 MiB where
  // PAM does not give read/write RAM (the write is dropped, or goes to the RAM hidden under the
  // ROM).
  bool isReadOnly(uint64_t paddr) const {
    uint64_t off = paddr - ro_start_;
    return off < ro_len_ && shadow_[off / kShadowUnit] != (kReadRam | kWriteRam);
  }
  bool isRom(uint64_t paddr) const { return paddr - rom_start_ < rom_.size(); }
  // A byte outside RAM: the ROM's, or 0xff where nothing answers.
  uint8_t romByte(uint64_t paddr) const {
    uint64_t off = paddr - rom_start_;
    return off < rom_.size() ? rom_[off] : 0xff;
  }

  // Called before a page leaves host memory, so that no host pointer to it stays cached.
  void setEvictionHook(std::function<void(uint64_t paddr)> hook) { on_evict_ = std::move(hook); }
  // Called when a page of RAM becomes watched (its first translated block, or it became a page
  // table), so that mappings which let writes bypass the VMM can be dropped.
  void setWatchHook(std::function<void(uint64_t paddr)> hook) { on_watch_ = std::move(hook); }
  const RealMemoryStats& stats() const { return stats_; }
  uint64_t residentPages() const { return resident_count_; }
  bool capped() const { return cap_pages_ != 0; }  // --host-mem: pages are made resident one by one

 private:
  void touch(uint64_t paddr) {
    if (cap_pages_ == 0) return;
    uint32_t p = uint32_t(paddr >> 12);
    stamp_[p] = ++clock_;
    if (!resident_[p]) makeResident(p);
  }
  void makeResident(uint32_t page);
  void evictOne();

  void writeHidden(uint64_t paddr, uint8_t v);
  void fillBytes(uint64_t paddr, uint8_t v, uint64_t len);  // fill's stores
  bool dropPages(uint8_t* at, uint64_t len);  // gives whole RAM pages back, zero from then on
  void watchStarted(uint64_t paddr) { if (on_watch_) on_watch_(paddr & ~uint64_t(kPageMask)); }
  static constexpr uint8_t kReadRam = 1, kWriteRam = 2;  // shadow_ bits: PAM's RE and WE

  uint8_t* ram_;
  uint64_t size_;
  int fd_ = -1;
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
  std::function<void(uint64_t)> on_evict_, on_watch_;
  RealMemoryStats stats_;
  std::vector<uint8_t> rom_;      // the ROM at rom_start_ .. 4 GiB
  uint64_t rom_start_ = 0;
  uint64_t ro_start_ = 0, ro_len_ = 0;  // its window in RAM below 1 MiB
  std::vector<uint8_t> shadow_;   // per 16 KiB of the window: kReadRam | kWriteRam
  std::vector<uint8_t> under_;    // the RAM beneath the window where the ROM shows
};

}  // namespace btvm
