#include "emu/cpu/guest_access.h"

#include <fmt/core.h>

#include <cstring>

#include "dbt/helper_info.h"
#include "dbt/host_fault.h"
#include "emu/cpu/debug_regs.h"
#include "mmu/segments.h"

namespace btvm {

namespace {

constexpr uint8_t kVecPF = 14;

uint64_t translateOrFault(Machine::Impl& vm, uint32_t linear, Access kind, bool user) {
  uint64_t phys;
  uint32_t err;
  if (!vm.mmu.translate(linear, kind, user, &phys, &err)) {
    ++vm.mmu.stats.true_faults;
    vm.cpu.cr2 = linear;
    raiseException(vm, kVecPF, err, true);
  }
  return phys;
}

bool userAccess(const Machine::Impl& vm) { return vm.cpu.cpl == 3; }

// A write by guest code to a watched page, before it is made. Translated code: outside
// one-instruction mode the instruction is re-run alone after its stale blocks are dropped, so no
// block runs code that it has just overwritten; inside it, the write goes ahead. (Page tables
// are updated when the write is made: writeRam.)
void guardWatchedWrite(Machine::Impl& vm, uint64_t phys, uint32_t len) {
  if (!vm.mem.isCodePage(phys)) return;
  if (!vm.dbt->invalidate(phys, len)) return;
  ++vm.stats.exits_smc;
  if (!vm.in_single_insn) leaveToDispatcher(vm, kJumpRetrySingle);
}

}  // namespace

// Bytes into RAM (one page, or the ROM's window) on the guest's behalf. A page-table page's
// entries are compared before and after, so that the MMU changes only what the write changed
// (mmu/table_update.cpp); a write that gives the page of the last #PF a translation maps it
// for the retried access at once.
void writeRam(Machine::Impl& vm, uint64_t paddr, const uint8_t* data, uint32_t len) {
  bool table = !vm.mem.isReadOnly(paddr) && vm.mem.isTablePage(paddr);
  if (table) vm.mmu.tableWriteBegin(paddr, len);
  if (vm.mem.contains(paddr, len) && !vm.mem.isReadOnly(paddr)) {
    std::memcpy(vm.mem.host(paddr), data, len);  // callers write within one page
  } else {
    for (uint32_t i = 0; i < len; ++i) vm.mem.write8(paddr + i, data[i]);
  }
  if (!table) return;
  vm.mmu.tableWriteEnd();
  uint32_t linear;
  bool user;
  if (vm.mmu.takeDemandRetry(&linear, &user) && !linearPageWatched(vm, linear)) vm.mmu.prefill(linear, user);
}

namespace {
// Device registers are outside RAM: an access there of 1, 2 or 4 bytes within one page goes to
// the MMIO bus whole (a register read may not be split into bytes). A write may change what
// interrupts are deliverable or when a timer fires: translated code leaves at the next block end.
bool isMmio(const Machine::Impl& vm, uint64_t phys, unsigned size) {
  return !vm.mem.contains(phys, size) && (size == 1 || size == 2 || size == 4);
}
// Counted by region for --stats, logged under -d unimp.
void noteUnassigned(Machine::Impl& vm, uint64_t phys, unsigned size, bool write) {
  if (vm.mem.isRom(phys)) return;  // the ROM answers reads; writes to it vanish as on a PC
  VmStats& s = vm.stats;
  uint32_t region = uint32_t(phys >> 16);
  if (region != s.unassigned_last_region) {
    s.unassigned_last = &s.unassigned_mem[region];
    s.unassigned_last_region = region;
  }
  ++(write ? s.unassigned_last->writes : s.unassigned_last->reads);
  if (vm.config.log.unimp)
    fmt::print(stderr, "btvm: unassigned memory {} of {} bytes at {:#010x} (eip {:#010x})\n", write ? "write" : "read",
               size, phys, vm.cpu.eip);
}
void mmioWrite(Machine::Impl& vm, uint64_t phys, unsigned size, uint32_t value) {
  if (vm.mmio.write(phys, size, value)) deviceRegisterWritten(vm);
  else noteUnassigned(vm, phys, size, true);
}
// Up to 4 bytes within one page: a device register's value if a device claims them, else what
// PhysMemory reads there (RAM, the ROM, or all-ones). `for_write`: the read half of a write
// (read-modify-write through the bounce buffer), not counted as a read of unassigned memory.
uint32_t readPhysBus(Machine::Impl& vm, uint64_t phys, unsigned size, bool for_write = false) {
  uint32_t v = 0;
  if (isMmio(vm, phys, size) && vm.mmio.read(phys, size, &v)) return v;
  if (vm.mem.contains(phys, size)) {
    std::memcpy(&v, vm.mem.host(phys), size);  // within one page (callers split at pages)
    return v;
  }
  if (!for_write) noteUnassigned(vm, phys, size, false);
  v = 0;
  for (unsigned j = 0; j < size; ++j) v |= uint32_t(vm.mem.read8(phys + j)) << (8 * j);
  return v;
}
}  // namespace

void writePhys(Machine::Impl& vm, uint64_t paddr, const uint8_t* data, uint32_t len) {
  if (isMmio(vm, paddr, len)) {
    uint32_t v = 0;
    for (uint32_t i = 0; i < len; ++i) v |= uint32_t(data[i]) << (8 * i);
    mmioWrite(vm, paddr, len, v);
    return;
  }
  // The ROM's window (callers write within one page): write8 drops the bytes or puts them in
  // the RAM hidden under the ROM; what reads see does not change.
  bool shown = !vm.mem.isReadOnly(paddr);
  writeRam(vm, paddr, data, len);
  if (shown && (vm.mem.isCodePage(paddr) || vm.mem.isCodePage(paddr + len - 1)))
    if (vm.dbt->invalidate(paddr, len)) vm.cpu.exit_after_insn = true;
}

// A gdb watchpoint or a guest data breakpoint hit by a VMM helper's access: the access goes
// ahead and the instruction ends its block, so the dispatcher reports the hit (or delivers the
// #DB) right after it. While an exception is delivered (its frame) the dispatcher does so next.
void checkWatch(Machine::Impl& vm, uint32_t linear, unsigned size, bool write) {
  if (!vm.gdb && !vm.debug.data_mask) return;  // nothing watched: the common case
  if (noteWatchedAccess(vm, linear, size, write, true) && vm.delivering < 0) vm.cpu.exit_after_insn = true;
}

uint8_t* tlbHost(Machine::Impl& vm, uint32_t linear, unsigned size, bool write, bool user) {
  const CpuState& c = vm.cpu;
  if (!(c.cr0 & 0x80000000u) || (linear & 4095) + size > 4096) return nullptr;
  const TlbEntry& t = c.tlb.entry[user ? 1 : 0][(linear >> 12) & (kTlbSize - 1)];
  if ((write ? t.tag_write : t.tag_read) != linear >> 12) return nullptr;
  return reinterpret_cast<uint8_t*>(t.addend + linear);
}

uint32_t readLinear(Machine::Impl& vm, uint32_t linear, unsigned size, bool user) {
  uint32_t v = 0;
  if (const uint8_t* h = tlbHost(vm, linear, size, false, user)) {
    std::memcpy(&v, h, size);
    checkWatch(vm, linear, size, false);
    return v;
  }
  for (unsigned i = 0; i < size;) {
    uint32_t a = linear + i;
    uint64_t phys = translateOrFault(vm, a, Access::Read, user);
    unsigned n = 4096 - (a & 4095);
    if (n > size - i) n = size - i;
    v |= readPhysBus(vm, phys, n) << (8 * i);
    i += n;
  }
  checkWatch(vm, linear, size, false);
  return v;
}

void writeLinear(Machine::Impl& vm, uint32_t linear, unsigned size, uint32_t value, bool user) {
  if (!vm.trace_event.open) {
    if (uint8_t* h = tlbHost(vm, linear, size, true, user)) {
      checkWatch(vm, linear, size, true);
      std::memcpy(h, &value, size);
      return;
    }
  }
  // Translate every page first: a fault on the second page must leave the first unwritten.
  uint32_t second = (linear & ~4095u) + 4096;
  bool crosses = (linear & 4095) + size > 4096;
  uint64_t p1 = translateOrFault(vm, linear, Access::Write, user);
  uint64_t p2 = crosses ? translateOrFault(vm, second, Access::Write, user) : 0;
  checkWatch(vm, linear, size, true);
  if (vm.trace_event.open) {
    vm.trace_event.writes.emplace_back(linear, value);
    vm.trace_event.write_sizes.push_back(size);
  }
  uint8_t bytes[4];
  for (unsigned i = 0; i < size; ++i) bytes[i] = uint8_t(value >> (8 * i));
  unsigned n1 = crosses ? second - linear : size;
  writePhys(vm, p1, bytes, n1);
  if (crosses) writePhys(vm, p2, bytes + n1, size - n1);
}

static void segFault(Machine::Impl& vm, int seg) {
  raiseException(vm, seg == SS ? kVecSS : kVecGP, 0, true);
}

bool segmentAllows(const CpuState& c, int seg, uint32_t off, uint32_t size, bool write) {
  const Segment& s = c.seg[seg];
  return inRealMode(c) ? segmentLimitOk(s, off, size) : segmentAccessOk(s, off, size, write);
}

void checkSeg(Machine::Impl& vm, int seg, uint32_t off, unsigned size, bool write) {
  if (!segmentAllows(vm.cpu, seg, off, size, write)) segFault(vm, seg);
}

void probeSeg(Machine::Impl& vm, int seg, uint32_t off, unsigned size, bool write) {
  checkSeg(vm, seg, off, size, write);
  uint32_t first = vm.cpu.seg[seg].base + off, last = first + size - 1;
  Access kind = write ? Access::Write : Access::Read;
  for (uint32_t page = first & ~4095u;; page += 4096) {
    translateOrFault(vm, page < first ? first : page, kind, userAccess(vm));
    if (page == (last & ~4095u)) break;
  }
}

uint32_t readSeg(Machine::Impl& vm, int seg, uint32_t off, unsigned size) {
  checkSeg(vm, seg, off, size, false);
  return readLinear(vm, vm.cpu.seg[seg].base + off, size, userAccess(vm));
}

void writeSeg(Machine::Impl& vm, int seg, uint32_t off, unsigned size, uint32_t value) {
  checkSeg(vm, seg, off, size, true);
  writeLinear(vm, vm.cpu.seg[seg].base + off, size, value, userAccess(vm));
}

void push(Machine::Impl& vm, unsigned size, uint32_t value) {
  writeSeg(vm, SS, stackOffset(vm.cpu, -int32_t(size)), size, value);
  addToStackPointer(vm.cpu, -int32_t(size));
}

uint32_t pop(Machine::Impl& vm, unsigned size) {
  uint32_t v = readSeg(vm, SS, stackOffset(vm.cpu, 0), size);
  addToStackPointer(vm.cpu, int32_t(size));
  return v;
}

// ---- The slow path of translated code's accesses ----

namespace {

// The bounce buffer for a write of RAM that mem_commit makes (with what is there now, for
// read-modify-write instructions).
uint64_t bounceRam(Machine::Impl& vm, uint64_t phys, unsigned size) {
  BouncedWrite& b = vm.bounce;
  for (unsigned i = 0; i < size; ++i) b.data[i] = vm.mem.read8(phys + i);
  b.pending = true;
  b.mmio = false;
  b.phys[0] = phys;
  b.len[0] = size;
  b.len[1] = 0;
  return reinterpret_cast<uint64_t>(b.data);
}

// Host pointer for an access the inline probe could not answer: fills the TLB for plain RAM;
// page-crossing accesses and addresses outside RAM go through the bounce buffer.
uint64_t hostPointer(Machine::Impl& vm, uint32_t linear, unsigned size, unsigned kind_bits) {
  bool write = kind_bits != 0;
  Access kind = write ? Access::Write : Access::Read;
  bool user = userAccess(vm);
  // A gdb watchpoint or a guest data breakpoint: translated code re-runs the instruction alone,
  // which records the hit (the guest's #DB follows that one instruction).
  if (noteWatchedAccess(vm, linear, size, write, vm.in_single_insn) && !vm.in_single_insn)
    leaveToDispatcher(vm, kJumpRetrySingle);
  uint32_t off = linear & 4095;
  if (off + size > 4096) {
    uint32_t second = (linear & ~4095u) + 4096;
    uint64_t p1 = translateOrFault(vm, linear, kind, user);
    uint64_t p2 = translateOrFault(vm, second, kind, user);
    uint32_t n1 = 4096 - off;
    if (write) {
      guardWatchedWrite(vm, p1, n1);
      guardWatchedWrite(vm, p2, size - n1);
    }
    BouncedWrite& b = vm.bounce;
    for (uint32_t i = 0; i < size; ++i) b.data[i] = vm.mem.read8(i < n1 ? p1 + i : p2 + (i - n1));
    b.pending = write;
    b.mmio = false;
    b.phys[0] = p1; b.len[0] = n1;
    b.phys[1] = p2; b.len[1] = size - n1;
    return reinterpret_cast<uint64_t>(b.data);
  }
  uint64_t phys = translateOrFault(vm, linear, kind, user);
  if (!vm.mem.contains(phys, size) || (write && vm.mem.isReadOnly(phys))) {
    // Outside RAM: a device register, the ROM or the unassigned bus (all-ones, writes dropped);
    // or a write to the ROM's window below 1 MiB, which write8 drops or puts in the RAM hidden
    // under the ROM. Writes read first too, for read-modify-write instructions; no register
    // here has read effects.
    // With exact device events (vm.exact_budget), a write to a device register is re-run
    // alone, so that the block ends right after it: an interrupt it makes deliverable is taken
    // at this instruction's count whatever the blocks look like (a re-run from a snapshot must
    // take it at the same one).
    uint32_t probe;
    if (write && vm.exact_budget && !vm.in_single_insn && isMmio(vm, phys, size) && vm.mmio.read(phys, size, &probe))
      leaveToDispatcher(vm, kJumpRetrySingle);
    BouncedWrite& b = vm.bounce;
    b.mmio = isMmio(vm, phys, size);
    if (b.mmio) {
      uint32_t v = readPhysBus(vm, phys, size, write);
      std::memcpy(b.data, &v, size);
    } else {
      if (!vm.mem.contains(phys, size)) noteUnassigned(vm, phys, size, write);
      for (unsigned i = 0; i < size; ++i) b.data[i] = vm.mem.read8(phys + i);
    }
    b.pending = write;
    b.phys[0] = phys;
    b.len[0] = size;
    b.len[1] = 0;
    return reinterpret_cast<uint64_t>(b.data);
  }
  if (vm.cpu.cr0 & 0x80000000u) ++vm.mmu.stats.hidden_faults;
  if (write && vm.mem.isWatched(phys)) {
    guardWatchedWrite(vm, phys, size);
    // A page table: the store goes to the bounce buffer, and mem_commit sees both values.
    if (vm.mem.isTablePage(phys)) return bounceRam(vm, phys, size);
    if (vm.mem.isWatched(phys)) return reinterpret_cast<uint64_t>(vm.mem.host(phys));
  }
  if (!linearPageWatched(vm, linear)) vm.mmu.fill(linear, phys, kind, user);
  return reinterpret_cast<uint64_t>(vm.mem.host(phys));
}

// --mmu host: a slow path entered from a host fault tells the fault handler whether the access
// will now run without one (the page got mapped for it); sites that keep faulting regardless
// are sent to the soft TLB (dbt/host_fault.h): their blocks are translated again. The request
// is the fault that entered this slow path (CpuState::eip is its instruction's), taken first,
// before the access can raise its #PF; and an earlier fill is forgotten.
void beginHostSlowPath(Machine::Impl& vm) {
  if (const uint8_t* site = takeSoftRequest()) vm.dbt->sendToSoftTlb(site, vm.cpu.eip);
  if (vm.host_mmu) vm.host_mmu->takeLastMapped(false);  // forget an earlier fill
}

uint64_t reportHostFault(Machine::Impl& vm, uint64_t host, unsigned kind) {
  if (vm.host_mmu && vm.host_mmu->takeLastMapped(kind != 0)) hostFaultResolved();
  return host;
}

uint64_t memSlow(CpuState* cpu, uint64_t linear, uint64_t info) {
  Machine::Impl& vm = vmOf(cpu);
  beginHostSlowPath(vm);
  unsigned kind = unsigned((info >> 8) & 0xf);
  return reportHostFault(vm, hostPointer(vm, uint32_t(linear), unsigned(info & 0xff), kind), kind);
}

uint64_t memSlowSeg(CpuState* cpu, uint64_t offset, uint64_t info) {
  Machine::Impl& vm = vmOf(cpu);
  unsigned size = unsigned(info & 0xff);
  unsigned kind = unsigned((info >> 8) & 0xf);
  int seg = int((info >> 12) & 7);
  beginHostSlowPath(vm);
  checkSeg(vm, seg, uint32_t(offset), size, kind != 0);
  return reportHostFault(vm, hostPointer(vm, vm.cpu.seg[seg].base + uint32_t(offset), size, kind), kind);
}

uint64_t memCommit(CpuState* cpu, uint64_t, uint64_t) {
  Machine::Impl& vm = vmOf(cpu);
  BouncedWrite& b = vm.bounce;
  if (!b.pending) return 0;
  b.pending = false;
  if (b.mmio) {
    uint32_t v = 0;
    std::memcpy(&v, b.data, b.len[0]);
    mmioWrite(vm, b.phys[0], b.len[0], v);
    return 0;
  }
  uint32_t done = 0;
  for (int i = 0; i < 2; ++i) {
    if (b.len[i]) writeRam(vm, b.phys[i], b.data + done, b.len[i]);
    done += b.len[i];
  }
  return 0;
}

}  // namespace

void installAccessHooks(DbtHooks& h) {
  h.mem_slow = memSlow;
  h.mem_slow_seg = memSlowSeg;
  h.mem_commit = memCommit;
}

}  // namespace btvm
