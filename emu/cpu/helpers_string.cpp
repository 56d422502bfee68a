// String instructions (with REP/REPE/REPNE) and port I/O. Registers are written back after every
// element, so a fault in the middle of a REP leaves ECX/ESI/EDI exact and the instruction restarts.
#include <fmt/core.h>

#include <algorithm>
#include <cstring>

#include "emu/cpu/debug_regs.h"
#include "emu/cpu/guest_access.h"
#include "mmu/segments.h"
#include "emu/cpu/helpers.h"
#include "emu/cpu/tss.h"

namespace btvm {

namespace {

uint32_t subFlags(uint32_t a, uint32_t b, unsigned size) {
  uint32_t mask = size == 1 ? 0xff : size == 2 ? 0xffff : 0xffffffffu;
  uint32_t sign = (mask >> 1) + 1;
  a &= mask;
  b &= mask;
  uint32_t r = (a - b) & mask;
  uint32_t f = szpFlags(r, size);
  if (a < b) f |= flag::CF;
  if ((a ^ b) & (a ^ r) & sign) f |= flag::OF;
  if ((a ^ b ^ r) & 0x10) f |= flag::AF;
  return f;
}

// A port no device claims: counted for --stats, logged under -d unimp.
static void noteUnassignedPort(Machine::Impl& vm, uint16_t port, unsigned size, bool write) {
  ++vm.stats.unassigned_io;
  if (vm.config.log.unimp)
    fmt::print(stderr, "btvm: unassigned port {} of {} bytes at {:#06x} (eip {:#010x})\n", write ? "write" : "read", size,
               port, vm.cpu.eip);
}

uint32_t portIn(Machine::Impl& vm, uint16_t port, unsigned size) {
  noteIoAccess(vm, port, size);
  uint32_t v;
  if (!vm.io.read(port, size, &v)) noteUnassignedPort(vm, port, size, false);
  return v;
}

void portOut(Machine::Impl& vm, uint16_t port, unsigned size, uint32_t v) {
  noteIoAccess(vm, port, size);
  if (!vm.io.write(port, size, v)) noteUnassignedPort(vm, port, size, true);
}

// Host pointers for the elements of a string instruction, one page at a time: an element in
// plain, unwatched RAM inside its segment is accessed directly; anything else (faults, page
// crossings, watched pages, memory outside RAM) takes the general path, which also forgets the
// cached pages (its writes may change mappings).
struct PageCursor {
  uint32_t page = 1;  // linear page cached (never aligned: 1 means none)
  uint8_t* host = nullptr;
};

uint8_t* direct(Machine::Impl& vm, PageCursor& k, int seg, uint32_t off, unsigned size, bool write) {
  const CpuState& c = vm.cpu;
  const Segment& s = c.seg[seg];
  if (!segmentAllows(c, seg, off, size, write)) return nullptr;
  uint32_t lin = s.base + off;
  if ((lin & kPageMask) + size > kPageSize) return nullptr;
  if ((lin & ~kPageMask) == k.page) return k.host + (lin & kPageMask);
  if (linearPageWatched(vm, lin)) return nullptr;  // data breakpoints, gdb watchpoints
  if (uint8_t* h = tlbHost(vm, lin & ~kPageMask, kPageSize, write, c.cpl == 3)) {
    k.page = lin & ~kPageMask;
    k.host = h;
    return h + (lin & kPageMask);
  }
  uint64_t phys;
  uint32_t err;
  if (!vm.mmu.translate(lin, write ? Access::Write : Access::Read, c.cpl == 3, &phys, &err)) return nullptr;
  uint64_t page = phys & ~uint64_t(kPageMask);
  if (!vm.mem.contains(page, kPageSize) || (write && vm.mem.isWatched(page))) return nullptr;
  k.page = lin & ~kPageMask;
  k.host = vm.mem.host(page);
  return k.host + (lin & kPageMask);
}

// REP MOVS/STOS with 32-bit addresses (memcpy, memmove, memset, clear_page), either direction:
// the elements that lie wholly inside the current destination (and source) page run as one host
// operation, at most `max`. A copy whose elements read only bytes not yet written (the
// destination not inside the source's span ahead of it) is one memmove; otherwise it
// replicates, as on the hardware, element by element. Only plain RAM that holds no translated
// code or page tables is written (direct), and both ends are inside their segments, so nothing
// between them can fault. Returns how many elements were done (0: the general path takes the
// next one).
uint32_t bulkRun(Machine::Impl& vm, const hinfo::Info& i, PageCursor& src, PageCursor& dst, uint32_t max) {
  CpuState& c = vm.cpu;
  unsigned size = i.size;
  bool movs = i.sub == hinfo::kMovs, down = c.eflags & flag::DF;
  uint32_t edi = c.regs[EDI], esi = c.regs[ESI];
  auto room = [&](int seg, uint32_t off) {  // elements from `off` to the page's end in the direction
    uint32_t in_page = (c.seg[seg].base + off) & kPageMask;
    return down ? in_page / size + 1 : (kPageSize - in_page) / size;
  };
  uint32_t n = std::min<uint32_t>(max, room(ES, edi));
  if (movs) n = std::min<uint32_t>(n, room(i.seg, esi));
  if (n < 2) return 0;
  uint32_t last = (n - 1) * size;
  auto inside = [&](int seg, uint32_t off, bool write) {  // the far end: no wrap, inside the segment
    if (down) return off >= last && segmentAccessOk(c.seg[seg], off - last, size, write);
    return uint64_t(off) + last + size - 1 <= 0xffffffffull && segmentAccessOk(c.seg[seg], off + last, size, write);
  };
  if (!inside(ES, edi, true) || (movs && !inside(i.seg, esi, false))) return 0;
  uint8_t* d = direct(vm, dst, ES, edi, size, true);
  uint8_t* s = movs ? direct(vm, src, i.seg, esi, size, false) : nullptr;
  if (!d || (movs && !s)) return 0;
  size_t len = size_t(n) * size;
  int64_t step = down ? -int64_t(size) : int64_t(size);
  uint8_t* d_lo = down ? d - last : d;
  uint8_t* s_lo = movs && down ? s - last : s;
  bool behind = down ? d >= s : d <= s;  // the destination trails the source: reads come first
  bool apart = movs && (d_lo + len <= s_lo || s_lo + len <= d_lo);
  if (movs && (behind || apart)) {
    std::memmove(d_lo, s_lo, len);
  } else if (movs) {
    for (uint32_t k = 0; k < n; ++k) {  // replicates: elements read what earlier ones wrote
      uint32_t v;
      std::memcpy(&v, s + k * step, size);
      std::memcpy(d + k * step, &v, size);
    }
  } else if (size == 1) {
    std::memset(d_lo, int(c.regs[EAX] & 0xff), len);
  } else {
    uint32_t v = getReg(c, EAX, size);
    for (uint32_t k = 0; k < n; ++k) std::memcpy(d_lo + k * size, &v, size);
  }
  c.regs[EDI] = edi + uint32_t(n * step);
  if (movs) c.regs[ESI] = esi + uint32_t(n * step);
  c.regs[ECX] -= n;
  return n;
}

// REP STOS forward with 32-bit addresses over a page table (clearing or filling one): the
// elements inside the current destination page, at most `max`, as one write, so that the MMU
// compares the whole run at once and drops the mappings that go in runs of pages
// (mmu/table_update.cpp) rather than one system call per entry. Only a page-table page that
// holds no translated code and is not the ROM's window; the destination is translated (and
// its segment checked) for the whole run first, so nothing in between can fault. Returns how
// many elements were done (0: the general path takes the next one).
uint32_t bulkStosTable(Machine::Impl& vm, const hinfo::Info& i, uint32_t max) {
  CpuState& c = vm.cpu;
  unsigned size = i.size;
  uint32_t edi = c.regs[EDI];
  uint32_t lin = c.seg[ES].base + edi;
  uint32_t n = std::min<uint32_t>(max, (kPageSize - (lin & kPageMask)) / size);
  if (n < 2) return 0;
  uint64_t last = uint64_t(n - 1) * size;
  if (uint64_t(edi) + last + size - 1 > 0xffffffffull || !segmentAccessOk(c.seg[ES], edi, size, true) ||
      !segmentAccessOk(c.seg[ES], uint32_t(edi + last), size, true) || linearPageWatched(vm, lin))
    return 0;
  uint64_t phys;
  uint32_t err;
  if (!vm.mmu.translate(lin, Access::Write, c.cpl == 3, &phys, &err)) return 0;
  if (!vm.mem.contains(phys, uint32_t(last) + size) || !vm.mem.isTablePage(phys) || vm.mem.isCodePage(phys) ||
      vm.mem.isReadOnly(phys))
    return 0;
  uint8_t run[kPageSize];
  uint32_t v = getReg(c, EAX, size);
  for (uint32_t k = 0; k < n; ++k) std::memcpy(run + k * size, &v, size);
  writeRam(vm, phys, run, n * size);
  c.regs[EDI] = edi + uint32_t(n * size);
  c.regs[ECX] -= n;
  return n;
}

HelperResult hString(Machine::Impl& vm, const hinfo::Info& i, uint32_t) {
  CpuState& c = vm.cpu;
  unsigned size = i.size;
  unsigned asize = i.addr16 ? 2 : 4;
  uint32_t amask = i.addr16 ? 0xffff : 0xffffffffu;
  int32_t delta = (c.eflags & flag::DF) ? -int32_t(size) : int32_t(size);
  auto idx = [&](int r) { return c.regs[r] & amask; };
  auto step = [&](int r) { setReg(c, r, asize, c.regs[r] + uint32_t(delta)); };
  uint16_t port = uint16_t(c.regs[EDX]);
  if ((i.sub == hinfo::kIns || i.sub == hinfo::kOuts)) checkIoPermission(vm, port, i.size);
  // A long REP is taken in slices, as hardware takes interrupts in the middle of one: after a
  // slice the instruction restarts from the dispatcher with ECX/ESI/EDI exact, so the
  // instruction budget (--max-insns) and block boundaries keep their meaning.
  constexpr uint32_t kSlice = 4096;
  PageCursor src, dst;
  auto slow = [&] { src = dst = PageCursor{}; };
  auto load = [&](PageCursor& k, int seg, uint32_t off) {
    if (uint8_t* p = direct(vm, k, seg, off, size, false)) {
      uint32_t v = 0;
      std::memcpy(&v, p, size);
      return v;
    }
    slow();
    return readSeg(vm, seg, off, size);
  };
  auto store = [&](int seg, uint32_t off, uint32_t v) {
    if (uint8_t* p = direct(vm, dst, seg, off, size, true)) {
      std::memcpy(p, &v, size);
      return;
    }
    slow();
    writeSeg(vm, seg, off, size, v);
  };
  bool bulk = i.rep && !i.addr16 && (i.sub == hinfo::kMovs || i.sub == hinfo::kStos) &&
              !stepsByIteration(c);
  for (uint32_t done = 0;; ++done) {
    if (i.rep && done == kSlice && (c.regs[ECX] & amask) != 0) leaveMidRepeat(vm);
    if (i.rep && (c.regs[ECX] & amask) == 0) break;
    if (bulk) {
      if (uint32_t n = bulkRun(vm, i, src, dst, std::min(c.regs[ECX], kSlice - done))) {
        done += n - 1;  // the loop adds the last one
        continue;
      }
      if (i.sub == hinfo::kStos && !(c.eflags & flag::DF))
        if (uint32_t n = bulkStosTable(vm, i, std::min(c.regs[ECX], kSlice - done))) {
          done += n - 1;
          continue;
        }
    }
    switch (i.sub) {
      case hinfo::kMovs: {
        uint32_t v = load(src, i.seg, idx(ESI));
        store(ES, idx(EDI), v);
        step(ESI);
        step(EDI);
        break;
      }
      case hinfo::kStos:
        store(ES, idx(EDI), getReg(c, EAX, size));
        step(EDI);
        break;
      case hinfo::kLods:
        setReg(c, EAX, size, load(src, i.seg, idx(ESI)));
        step(ESI);
        break;
      case hinfo::kCmps: {
        uint32_t a = load(src, i.seg, idx(ESI));
        uint32_t b = load(dst, ES, idx(EDI));
        setFlags(c, flag::kArith, subFlags(a, b, size));
        step(ESI);
        step(EDI);
        break;
      }
      case hinfo::kScas: {
        uint32_t b = load(dst, ES, idx(EDI));
        setFlags(c, flag::kArith, subFlags(getReg(c, EAX, size), b, size));
        step(EDI);
        break;
      }
      case hinfo::kIns:
        checkSeg(vm, ES, idx(EDI), size, true);
        store(ES, idx(EDI), portIn(vm, port, size));
        step(EDI);
        break;
      default:  // kOuts
        portOut(vm, port, size, load(src, i.seg, idx(ESI)));
        step(ESI);
        break;
    }
    if (!i.rep) break;
    setReg(c, ECX, asize, c.regs[ECX] - 1);
    if (i.sub == hinfo::kCmps || i.sub == hinfo::kScas) {
      bool zf = c.eflags & flag::ZF;
      if ((i.rep == 1 && !zf) || (i.rep == 2 && zf)) break;
    }
    if (c.exit_after_insn || stepsByIteration(c)) {
      // The write hit translated code, or a debug trap follows this iteration (breakpoint hit,
      // TF): stop here and let the dispatcher resume the REP.
      if ((c.regs[ECX] & amask) != 0) {
        c.exit_after_insn = false;
        leaveMidRepeat(vm);
      }
    }
  }
  return kNext;
}

HelperResult hIn(Machine::Impl& vm, const hinfo::Info& i, uint32_t) {
  uint16_t port = i.has_imm ? uint16_t(i.imm & 0xff) : uint16_t(vm.cpu.regs[EDX]);
  checkIoPermission(vm, port, i.size);
  setReg(vm.cpu, EAX, i.size, portIn(vm, port, i.size));
  return kNext;
}

HelperResult hOut(Machine::Impl& vm, const hinfo::Info& i, uint32_t) {
  uint16_t port = i.has_imm ? uint16_t(i.imm & 0xff) : uint16_t(vm.cpu.regs[EDX]);
  checkIoPermission(vm, port, i.size);
  portOut(vm, port, i.size, getReg(vm.cpu, EAX, i.size));
  return kNext;
}

}  // namespace

void registerStringHelpers(Helper* t) {
  t[size_t(HelperId::String)] = hString;
  t[size_t(HelperId::Ins)] = hString;
  t[size_t(HelperId::Outs)] = hString;
  t[size_t(HelperId::In)] = hIn;
  t[size_t(HelperId::Out)] = hOut;
}

}  // namespace btvm
