#include "mmu/phys_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>

namespace btvm {

PhysMemory::PhysMemory(uint64_t bytes, uint64_t host_cap_bytes, bool shareable)
    : size_(bytes), code_count_((bytes + kPageMask) >> 12, 0), table_((bytes + kPageMask) >> 12, 0) {
  void* p;
  if (shareable) {
    fd_ = memfd_create("btvm-guest-ram", MFD_CLOEXEC);
    if (fd_ < 0 || ftruncate(fd_, off_t(bytes)) != 0)
      throw std::runtime_error(std::string("cannot create the memory file for guest RAM: ") + std::strerror(errno));
    p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd_, 0);
  } else {
    p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  }
  if (p == MAP_FAILED) throw std::bad_alloc();
  ram_ = static_cast<uint8_t*>(p);
  if (host_cap_bytes && host_cap_bytes < bytes) {
    cap_pages_ = std::max<uint64_t>(host_cap_bytes >> 12, 64);
    size_t pages = code_count_.size();
    resident_.assign(pages, 0);
    swapped_.assign(pages, 0);
    stamp_.assign(pages, 0);
    swap_ = std::tmpfile();
    if (!swap_) throw std::runtime_error("cannot create the swap file for --host-mem");
  }
}

PhysMemory::~PhysMemory() {
  munmap(ram_, size_);
  if (fd_ >= 0) close(fd_);
  if (swap_) std::fclose(swap_);
}

void PhysMemory::mapRom(const std::vector<uint8_t>& image) {
  uint64_t n = image.size();
  if (n == 0 || n > kMaxRomBytes || (n % kShadowUnit)) throw std::invalid_argument("bad ROM size");
  rom_ = image;
  rom_start_ = (1ull << 32) - n;
  uint64_t low = std::min<uint64_t>(n, 128u << 10);
  uint64_t start = kIsaRomEnd - low;
  if (!contains(start, low)) return;  // RAM ends below it: nothing to cover
  under_.resize(low);
  for (uint64_t off = 0; off < low; off += kPageSize) std::memcpy(under_.data() + off, host(start + off), kPageSize);
  copyIn(start, image.data() + (n - low), low);
  ro_start_ = start;
  ro_len_ = low;
  shadow_.assign(low / kShadowUnit, 0);
}

bool PhysMemory::setShadow(uint64_t start, uint64_t len, bool read_ram, bool write_ram) {
  bool changed = false;
  uint8_t want = uint8_t((read_ram ? kReadRam : 0) | (write_ram ? kWriteRam : 0));
  for (uint64_t a = start; a < start + len; a += kShadowUnit) {
    uint64_t off = a - ro_start_;
    if (off >= ro_len_) continue;
    uint8_t& s = shadow_[off / kShadowUnit];
    if ((s & kReadRam) != (want & kReadRam)) {
      // Swap what shows: the RAM comes back from aside, or goes aside for the ROM's bytes.
      const uint8_t* rom = rom_.data() + (rom_.size() - ro_len_) + off;
      for (uint64_t p = 0; p < kShadowUnit; p += kPageSize) {
        uint8_t* shown = host(a + p);
        uint8_t* aside = under_.data() + off + p;
        if (read_ram) {
          std::memcpy(shown, aside, kPageSize);
        } else {
          std::memcpy(aside, shown, kPageSize);
          std::memcpy(shown, rom + p, kPageSize);
        }
      }
      changed = true;
    }
    s = want;
  }
  return changed;
}

void PhysMemory::writeHidden(uint64_t paddr, uint8_t v) {
  uint64_t off = paddr - ro_start_;
  if (shadow_[off / kShadowUnit] == kWriteRam) under_[off] = v;  // the ROM shows, RAM takes writes
}

uint32_t PhysMemory::read32(uint64_t paddr) {
  if (contains(paddr, 4) && (paddr & kPageMask) <= kPageSize - 4) {
    touch(paddr);
    uint32_t v;
    std::memcpy(&v, ram_ + paddr, 4);
    return v;
  }
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t(read8(paddr + i)) << (8 * i);
  return v;
}

void PhysMemory::write32(uint64_t paddr, uint32_t v) {
  if (contains(paddr, 4) && (paddr & kPageMask) <= kPageSize - 4 && !isReadOnly(paddr)) {
    touch(paddr);
    std::memcpy(ram_ + paddr, &v, 4);
    return;
  }
  for (int i = 0; i < 4; ++i) write8(paddr + i, uint8_t(v >> (8 * i)));
}

void PhysMemory::copyIn(uint64_t paddr, const void* src, uint64_t len) {
  const uint8_t* s = static_cast<const uint8_t*>(src);
  while (len) {
    uint64_t n = std::min<uint64_t>(len, kPageSize - (paddr & kPageMask));
    std::memcpy(host(paddr), s, n);
    paddr += n;
    s += n;
    len -= n;
  }
}

void PhysMemory::fill(uint64_t paddr, uint8_t v, uint64_t len) {
  // Zeroing whole pages (a loader's BSS, firmware areas): the host drops them instead, and they
  // read as zero; pages not touched yet stay untouched (a page fault each, on this project's
  // VM about 8 us). Not with --host-mem, whose residency bookkeeping sees every page.
  if (v == 0 && cap_pages_ == 0 && paddr < size_ && len <= size_ - paddr) {
    uint64_t first = (paddr + kPageMask) & ~uint64_t(kPageMask), last = (paddr + len) & ~uint64_t(kPageMask);
    if (last > first && dropPages(ram_ + first, last - first)) {
      fillBytes(paddr, 0, first - paddr);
      fillBytes(last, 0, paddr + len - last);
      return;
    }
  }
  fillBytes(paddr, v, len);
}

// A shared memory file keeps its pages under DONTNEED: REMOVE gives them back to the host. Either
// way they read as zero after.
bool PhysMemory::dropPages(uint8_t* at, uint64_t len) {
  return madvise(at, len, fd_ >= 0 ? MADV_REMOVE : MADV_DONTNEED) == 0;
}

void PhysMemory::fillBytes(uint64_t paddr, uint8_t v, uint64_t len) {
  while (len) {
    uint64_t n = std::min<uint64_t>(len, kPageSize - (paddr & kPageMask));
    std::memset(host(paddr), v, n);
    paddr += n;
    len -= n;
  }
}

void PhysMemory::clearCodePages() { std::fill(code_count_.begin(), code_count_.end(), 0); }

void PhysMemory::makeResident(uint32_t page) {
  while (resident_count_ >= cap_pages_) evictOne();
  uint8_t* dst = ram_ + (uint64_t(page) << 12);
  if (swapped_[page]) {
    if (std::fseek(swap_, long(uint64_t(page) << 12), SEEK_SET) != 0 || std::fread(dst, 1, kPageSize, swap_) != kPageSize)
      throw std::runtime_error("swap file read failed");
    swapped_[page] = 0;
    ++stats_.pages_restored;
  }
  resident_[page] = 1;
  ++resident_count_;
  ++stats_.pages_backed;
  queue_.push_back(page);
}

// Second chance by recency: a page touched within the last few accesses may have a host pointer
// in use by the instruction being executed, so it is never the victim.
void PhysMemory::evictOne() {
  for (;;) {
    uint32_t p = queue_.front();
    queue_.pop_front();
    if (clock_ - stamp_[p] < 8) {
      queue_.push_back(p);
      continue;
    }
    if (on_evict_) on_evict_(uint64_t(p) << 12);
    uint8_t* src = ram_ + (uint64_t(p) << 12);
    if (std::fseek(swap_, long(uint64_t(p) << 12), SEEK_SET) != 0 || std::fwrite(src, 1, kPageSize, swap_) != kPageSize)
      throw std::runtime_error("swap file write failed");
    dropPages(src, kPageSize);
    swapped_[p] = 1;
    resident_[p] = 0;
    --resident_count_;
    ++stats_.pages_evicted;
    return;
  }
}

}  // namespace btvm
