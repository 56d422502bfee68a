// The one access path: every guest memory access of translated code is emitted here.
//
// Flat segment (base 0, 4 GiB limit, right kind), inline, without touching the guest's flags:
//     r10d = effective address
//     r9 = rcx                         ; JRCXZ is the only flag-free compare-and-branch
//     r11d = bits 12.. of r10d         ; TLB index (RORX, then SHRX by 32 - kTlbBits)
//     r8d  = ~((r10d + size - 1) >> 12) ; page of the last byte: a page-crossing access misses
//     ecx  = tlb[idx].tag - page(last byte)
//     jrcxz hit ; rcx = r9 ; jmp slow
//   hit: rcx = r9 ; r11 = tlb[idx].addend ; op [r10 + r11]
//   slow (after the block): r9 = eip/insns_after/size/kind ; call the slow stub (r11 = host
//        pointer - r10) ; op [r10 + r11], a copy of the hit path's bytes ; writes: mem_commit ;
//        jmp back (dbt/access_stubs.h)
// "Based" segments (flat but for a nonzero base: Linux's per-CPU FS) take the same probe on
// base + offset, with an access past offset 2^32 - 1 forced to miss; their slow path is the
// segment helper. Other segments: always the helper, which checks limit and rights and adds the base.
// --mmu host replaces the probe of flat and based segments by one access off the address space's
// base (emitHostAccess, below), for flat ones often addressing the guest's registers themselves
// (folds); the slow path stays the same.
#include <cstddef>

#include <cstring>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "dbt/access_stubs.h"
#include "dbt/assembler.h"
#include "dbt/dbt.h"
#include "dbt/emitter.h"
#include "dbt/helper_info.h"
#include "dbt/host_regs.h"
#include "dbt/operands.h"
#include "dbt/raw_emit.h"
#include "mmu/host_mmu.h"

namespace btvm {

using namespace asmjit;
using namespace host;

BlockEmitter::BlockEmitter(x86::Assembler& a, const RuntimeStubs& stubs, const AccessStubs& access,
                           const DbtHooks& hooks, const BlockKey& key, VirtMode mode)
    : a_(a), stubs_(stubs), access_(access), hooks_(hooks), key_(key), mode_(mode) {}

void BlockEmitter::beginBlock(const BlockKey& key) {
  key_ = key;
  insn_eip_ = next_eip_ = insns_after_ = 0;
  deferred_.clear();
  budget_insns_ = 0;
  budget_site_ = SIZE_MAX;
  exits_.clear();
  fault_sites_.clear();
  hi_swap_ = HiSwap{};
  x87_live_ = false;
  x87_ptrs_ = X87Pointers{};
  plain_ops_.clear();
}

GuestMem BlockEmitter::guestMem(const cs_x86_op& op, const cs_x86& x) const {
  GuestMem m;
  m.base = gprIndex(op.mem.base);
  m.index = gprIndex(op.mem.index);
  m.shift = op.mem.scale == 8 ? 3 : op.mem.scale == 4 ? 2 : op.mem.scale == 2 ? 1 : 0;
  m.disp = int32_t(op.mem.disp);
  m.addr16 = x.addr_size == 2;
  int seg = segIndex(op.mem.segment);
  if (seg < 0) seg = (m.base == ESP || m.base == EBP) ? SS : DS;
  m.seg = seg;
  return m;
}

void BlockEmitter::emitEffectiveAddress(const GuestMem& m) {
  if (m.base < 0 && m.index < 0) {
    a_.mov(x86::r10d, m.addr16 ? uint32_t(m.disp) & 0xffff : uint32_t(m.disp));
    return;
  }
  a_.lea(x86::r10d, effectiveAddress(m));
  if (m.addr16) a_.movzx(x86::r10d, x86::r10w);
}

// The guest address as a host memory operand of its registers, for a 32-bit LEA: 64-bit address
// arithmetic truncated to 32 bits wraps exactly as the guest's would.
x86::Mem BlockEmitter::effectiveAddress(const GuestMem& m) const {
  return m.base >= 0 ? (m.index >= 0 ? x86::ptr(kGuest64[m.base], kGuest64[m.index], m.shift, m.disp)
                                     : x86::ptr(kGuest64[m.base], m.disp))
                     : x86::ptr_abs(uint64_t(int64_t(m.disp)), kGuest64[m.index], m.shift);
}

bool BlockEmitter::segmentFlat(int seg, MemKind kind) const {
  unsigned shift = kind == MemKind::Read ? block_flag::kFlatShift : block_flag::kFlatWriteShift;
  return key_.flags & (1u << (shift + seg));
}

bool BlockEmitter::segmentBased(int seg, MemKind kind) const {
  unsigned shift = kind == MemKind::Read ? block_flag::kBasedShift : block_flag::kBasedWriteShift;
  return key_.flags & (1u << (shift + seg));
}

void BlockEmitter::setEip(uint32_t eip) { RawBuf(a_).storeImm32(int32_t(offsetof(CpuState, eip)), eip); }

void BlockEmitter::callHelper(HelperFn fn) {
  RawBuf(a_).movR11(reinterpret_cast<uint64_t>(fn)).call(stubs_.thunk);
}

void BlockEmitter::setHostMmu(bool on, const std::unordered_set<uint32_t>* soft) {
  host_mmu_ = on;
  soft_sites_ = soft;
  gs_fold_ = on && hostGsBase();
}

// --mmu host, flat segment, 32-bit addressing: no LEA or MOV into R10, the op addresses the
// guest's address itself (Fold): gs:[the guest's address] where GS's base follows R15
// (dbt/host_regs.h), else [R15 + one register * scale + disp] or [R15 + disp] (foldOperand).
// The slow paths compute R10D first.
bool BlockEmitter::folds(const GuestMem& m, MemKind kind) const {
  if (!host_mmu_ || m.addr16 || !segmentFlat(m.seg, kind) || softSite()) return false;
  if (gs_fold_) return true;
  // The sum is not wrapped to 32 bits: it stays within the guards around the view
  // (HostMmu::kHighGuardBytes), where an access the guest wraps takes the slow path. Only small
  // displacements: a large one is an address of its own more often than an offset (Linux's
  // [reg + 0xc0xxxxxx]) and would land in a guard each time.
  constexpr int32_t kDispLimit = 1 << 28;
  static_assert(HostMmu::kReserveBytes + HostMmu::kHighGuardBytes >= 8 * 0xFFFFFFFFull + kDispLimit + 16 &&
                    HostMmu::kLowGuardBytes >= kDispLimit,
                "the largest unwrapped sum of a fold must stay inside the view's guards");
  if (m.base < 0 && m.index < 0) return m.disp >= 0;
  bool one_reg = m.base < 0 || m.index < 0;  // R15 takes the other place of the address
  return one_reg && m.disp > -kDispLimit && m.disp < kDispLimit;
}

// --mmu host, an instruction whose access kept faulting (Dbt::sendToSoftTlb): the soft-TLB probe.
bool BlockEmitter::softSite() const { return soft_sites_ && !soft_sites_->empty() && soft_sites_->count(insn_eip_); }

void BlockEmitter::emitAccess(const GuestMem& m, unsigned size, MemKind kind, const MemOp& op, bool fold) {
  if (fold && folds(m, kind)) {
    AccessSite s = accessSite(m.seg, size, kind);
    s.fold = Fold{true, m};
    emitHostAccess(s, op);
    return;
  }
  emitEffectiveAddress(m);
  emitAccessAtR10(m.seg, size, kind, op);
}

void BlockEmitter::emitFoldedAddress(RawBuf& r, const Fold& f) {
  if (f.m.base < 0 && f.m.index < 0) {
    r.flush();
    a_.mov(x86::r10d, uint32_t(f.m.disp));
    return;
  }
  if (f.m.index < 0) {
    r.lea(x86::r10d, kGuest64[f.m.base], f.m.disp);
    return;
  }
  r.flush();
  a_.lea(x86::r10d, effectiveAddress(f.m));
}

// The fold's operand. GS: gs:[the guest's address] with 32-bit registers (the address-size
// prefix); no register: [disp32] as an absolute address, which AsmJit encodes with the
// address-size prefix from 2^31 up (below, sign and zero extension agree). Else off R15: the
// register's upper half is zero, as every 32-bit write leaves it.
x86::Mem BlockEmitter::foldOperand(const GuestMem& m, unsigned size) const {
  if (!gs_fold_) {
    if (m.base >= 0) return x86::ptr(kHostBase, kGuest64[m.base], 0, m.disp, size);
    if (m.index >= 0) return x86::ptr(kHostBase, kGuest64[m.index], m.shift, m.disp, size);
    return x86::ptr(kHostBase, m.disp, size);
  }
  x86::Mem g = m.base >= 0    ? x86::ptr(guest32(m.base), m.disp, size)
               : m.index >= 0 ? x86::ptr(uint64_t(uint32_t(m.disp)), guest32(m.index), m.shift, size)
                              : x86::ptr_abs(uint64_t(uint32_t(m.disp)), size);
  if (m.base >= 0 && m.index >= 0) g.setIndex(guest32(m.index), m.shift);
  g.setSegment(x86::gs);
  return g;
}

BlockEmitter::AccessSite BlockEmitter::accessSite(int seg, unsigned size, MemKind kind) const {
  unsigned kind_bits = kind == MemKind::Read ? 0 : kind == MemKind::Write ? 1 : 2;
  AccessSite s;
  s.size = size;
  s.user = (key_.flags & block_flag::kCplMask) == 3;
  s.based = !segmentFlat(seg, kind) && segmentBased(seg, kind);
  s.eip = insn_eip_;
  s.after = insns_after_;
  s.info = hinfo::memInfo(size, kind_bits, seg);
  s.kind = kind;
  s.seg_base = int32_t(offsetof(CpuState, seg) + seg * sizeof(Segment) + offsetof(Segment, base));
  s.x87 = x87_live_;
  if (x87_live_) s.x87_ptrs = x87_ptrs_;
  return s;
}

void BlockEmitter::emitAccessAtR10(int seg, unsigned size, MemKind kind, const MemOp& op) {
  AccessSite s = accessSite(seg, size, kind);
  if (!segmentFlat(seg, kind) && !s.based) {
    emitX87Pointers(s.x87_ptrs);
    RawBuf(a_).movR9(packSlowArgs(s.eip, s.after, s.info)).call(access_.slow_seg);
    if (s.x87) emitX87Reload();
    op(x86::ptr(x86::r10, x86::r11, 0, 0, size));
    if (kind != MemKind::Read) RawBuf(a_).movR9d(uint32_t(s.info)).call(access_.commit);
    if (kind != MemKind::Read && s.x87) emitX87Reload();
    return;
  }
  if (host_mmu_ && !softSite()) {
    emitHostAccess(s, op);
    return;
  }
  emitSoftAccess(s, op);
}

// The op on the memory operand [r10 + r11]: emitted by `op`, or (null) copied from where it was
// emitted before; either way the bytes are position-independent (registers, CpuState fields,
// no labels), so the same bytes serve the hit path and the slow path.
BlockEmitter::OpBytes BlockEmitter::emitOp(const MemOp* op, OpBytes copy, unsigned size, bool on_host_base,
                                          Fold fold) {
  OpBytes at;
  at.begin = uint32_t(a_.offset());
  if (op && fold.on()) {
    // The op as its copies run it, assembled here and taken out again (AsmJit's Mem cannot be
    // turned into [r10 + r11] in the copy's bytes: prefixes, ModRM and SIB all change).
    (*op)(x86::ptr(x86::r10, x86::r11, 0, 0, size));
    at.plain_begin = uint32_t(plain_ops_.size());
    plain_ops_.insert(plain_ops_.end(), a_.bufferData() + at.begin, a_.bufferPtr());
    at.plain_end = uint32_t(plain_ops_.size());
    a_.setOffset(at.begin);
    (*op)(foldOperand(fold.m, size));
    at.on_host_base = true;
    at.fold = fold;
  } else if (op) {
    (*op)(x86::ptr(x86::r10, on_host_base ? kHostBase : x86::r11, 0, 0, size));
    at.on_host_base = on_host_base;
  } else {
    RawBuf r(a_);
    copyOp(r, copy);
  }
  at.end = uint32_t(a_.offset());
  return at;
}

// A copy of an op where R11 = host pointer - R10. An op that addresses [r10 + r15] (the host-MMU
// hit path) runs with R15 borrowed for R11's value, and R15 is the base again afterwards; a
// folded op is copied as it was assembled on [r10 + r11].
void BlockEmitter::copyOp(RawBuf& r, OpBytes op) {
  if (!op.on_host_base) {
    r.copy(op.begin, op.end);
    return;
  }
  if (op.fold.on()) {
    r.bytes(plain_ops_.data() + op.plain_begin, op.plain_end - op.plain_begin);
    return;
  }
  r.fixed([](x86::Assembler& a) { a.mov(kHostBase, x86::r11); });
  r.copy(op.begin, op.end);
  bool user = (key_.flags & block_flag::kCplMask) == 3;
  r.load(kHostBase, kState, int32_t(offsetof(CpuState, host_base) + (user ? 8 : 0)));
}

namespace {

// What the soft-TLB probe's bytes depend on: the access size, the TLB half (user), the tag (read
// or write), a based segment's base field, and --stats' hit counter.
// host_head: not the probe but the head of a --mmu host access to a based segment (emitHostAccess),
// which has the same one label-dependent field.
struct ProbeShape {
  unsigned size;
  bool user, write, based, count_hits;
  int32_t seg_base;
  bool host_head = false;
  uint64_t key() const {
    return uint64_t(size) | uint64_t(user) << 8 | uint64_t(write) << 9 | uint64_t(based) << 10 |
           uint64_t(count_hits) << 11 | uint64_t(host_head) << 12 | uint64_t(uint32_t(seg_base)) << 32;
  }
};

// The head of a --mmu host access to a based segment, up to its op (see emitHostAccess).
void emitHostBasedHead(x86::Assembler& a, const ProbeShape& p, Label slow, size_t* jmp_at) {
  Label ok = a.newLabel();
  a.mov(x86::r9, x86::rcx);
  a.mov(x86::r10d, x86::r10d);
  a.lea(x86::rcx, x86::ptr(x86::r10, int32_t(p.size - 1)));
  a.rorx(x86::rcx, x86::rcx, 32);
  a.mov(x86::ecx, x86::ecx);
  a.mov(x86::r11d, x86::dword_ptr(kState, p.seg_base));
  a.lea(x86::r10d, x86::ptr(x86::r10, x86::r11));
  a.jecxz(x86::rcx, ok);
  a.mov(x86::rcx, x86::r9);
  *jmp_at = a.offset();
  a.jmp(slow);
  a.bind(ok);
  a.mov(x86::rcx, x86::r9);
}

// The probe, up to the op:
//     head: (based: add the base) ; index ; compare ; jrcxz hit ; mov rcx, r9
//     jmp slow                                     ; E9 rel32: slow is bound after the block
//     hit: mov rcx, r9 ; r11 = addend (--stats: count the hit)
void emitProbe(x86::Assembler& a, const ProbeShape& p, Label slow, size_t* jmp_at) {
  int32_t tlb = int32_t(offsetof(CpuState, tlb) + (p.user ? sizeof(TlbEntry) * kTlbSize : 0));
  int32_t tag = p.write ? int32_t(offsetof(TlbEntry, tag_write)) : int32_t(offsetof(TlbEntry, tag_read));
  Label hit = a.newLabel();
  a.mov(x86::r9, x86::rcx);
  if (p.based) {
    // r10d is the offset. An access whose last byte passes offset 2^32 - 1 exceeds the limit
    // (#GP, from the helper): ecx = that carry << 21, added to the page compare below, makes it
    // miss (no valid or invalid tag is 2^21 above a page number). Then r10d = base + offset.
    a.mov(x86::r10d, x86::r10d);
    a.lea(x86::rcx, x86::ptr(x86::r10, int32_t(p.size - 1)));
    a.rorx(x86::rcx, x86::rcx, 32);
    a.mov(x86::ecx, x86::ecx);
    a.rorx(x86::ecx, x86::ecx, 11);
    a.mov(x86::r11d, x86::dword_ptr(kState, p.seg_base));
    a.lea(x86::r10d, x86::ptr(x86::r10, x86::r11));
  }
  // SHRX takes its count in a register: R11, then ECX once the based carry is folded in.
  a.mov(x86::r11d, 12);
  a.lea(x86::r8d, x86::ptr(x86::r10, int32_t(p.size - 1)));
  a.shrx(x86::r8d, x86::r8d, x86::r11d);
  a.not_(x86::r8d);
  if (p.based) a.lea(x86::r8d, x86::ptr(x86::r8, x86::rcx));
  a.mov(x86::ecx, 32 - kTlbBits);
  a.rorx(x86::r11d, x86::r10d, 12 + kTlbBits);  // index bits to the top
  a.shrx(x86::r11d, x86::r11d, x86::ecx);
  a.lea(x86::r11, x86::ptr(x86::r11, x86::r11));  // index * 2; the scale of 8 below makes 16
  a.mov(x86::ecx, x86::dword_ptr(kState, x86::r11, 3, tlb + tag));
  a.lea(x86::ecx, x86::ptr(x86::rcx, x86::r8, 0, 1));
  a.jecxz(x86::rcx, hit);
  a.mov(x86::rcx, x86::r9);
  *jmp_at = a.offset();
  a.jmp(slow);
  a.bind(hit);
  a.mov(x86::rcx, x86::r9);
  a.mov(x86::r11, x86::qword_ptr(kState, x86::r11, 3, tlb + int32_t(offsetof(TlbEntry, addend))));
  if (p.count_hits) {
    a.mov(x86::r8, st(offsetof(CpuState, tlb_hits), 8));
    a.lea(x86::r8, x86::ptr(x86::r8, 1));
    a.mov(st(offsetof(CpuState, tlb_hits), 8), x86::r8);
  }
}

// The probe's bytes, assembled once per shape by emitProbe itself and then copied: the
// encoder's cost (about 150 host instructions per host instruction) was most of a block's
// translation. Its one label-dependent field, the JMP's rel32 to the slow path, is patched when
// the slow path is emitted (no AsmJit label: creating and binding them cost as much again).
struct ProbeBytes {
  std::vector<uint8_t> bytes;
  size_t rel32_at;  // the JMP's rel32
};


const ProbeBytes& probeBytes(const ProbeShape& p) {
  thread_local std::unordered_map<uint64_t, ProbeBytes> cache;
  auto it = cache.find(p.key());
  if (it != cache.end()) return it->second;
  CodeHolder code;
  x86::Assembler a;
  AsmErrorHandler eh;
  initAssembler(code, a, eh);
  Label slow = a.newLabel();
  size_t at = 0;
  if (p.host_head) emitHostBasedHead(a, p, slow, &at);
  else emitProbe(a, p, slow, &at);
  size_t end = a.offset();
  a.bind(slow);
  code.flatten();
  code.resolveUnresolvedLinks();
  const uint8_t* b = code.textSection()->data();
  int32_t rel;
  std::memcpy(&rel, b + at + 1, 4);
  if (b[at] != 0xe9 || at + kJmpRel32Len + size_t(rel) != end)
    throw std::logic_error("emit_access: the probe template's JMP is not a rel32 to its end");
  ProbeBytes out;
  out.bytes.assign(b, b + end);
  std::memset(out.bytes.data() + at + 1, 0, 4);
  out.rel32_at = at + 1;
  return cache.emplace(p.key(), std::move(out)).first->second;
}

}  // namespace

// The inline soft-TLB probe and the access; its slow path (deferred) continues after the op.
void BlockEmitter::emitSoftAccess(const AccessSite& s, const MemOp& op) {
  ProbeShape shape{s.size, s.user, s.kind != MemKind::Read, s.based, bool(key_.flags & block_flag::kCountTlb),
                   s.based ? s.seg_base : 0};
  const ProbeBytes& bytes = probeBytes(shape);
  size_t start = a_.offset();
  a_.embed(bytes.bytes.data(), bytes.bytes.size());
  DeferredAccess d;
  d.op = emitOp(&op, OpBytes{}, s.size);
  d.site = s;
  d.slow_rel32 = uint32_t(start + bytes.rel32_at);
  d.back = d.op.end;
  deferred_.push_back(d);
}

// The slow path of one access, after the block: `slow` is entered with R10D = the linear address
// (based: base + offset), the guest state as at the access; it ends by jumping to `back`.
void BlockEmitter::emitSlowPath(const DeferredAccess& d) {
  const AccessSite& s = d.site;
  if (d.slow_rel32) {  // the probe's JMP to here
    int32_t rel = int32_t(int64_t(a_.offset()) - int64_t(d.slow_rel32 + 4));
    std::memcpy(a_.bufferData() + d.slow_rel32, &rel, 4);
  }
  emitX87Pointers(s.x87_ptrs);
  RawBuf r(a_);  // one buffer for the whole path, but around the x87 reloads
  if (s.fold.on()) emitFoldedAddress(r, s.fold);
  if (s.based) {  // back to the offset (r10d - base, flag-free): the helper checks the limit
    r.load(x86::r8d, kState, s.seg_base).fixed([](x86::Assembler& a) {
      a.not_(x86::r8d);
      a.lea(x86::r10d, x86::ptr(x86::r10, x86::r8, 0, 1));
    });
  }
  r.movR9(packSlowArgs(s.eip, s.after, s.info)).call(s.based ? access_.slow_seg : access_.slow_flat);
  if (s.x87) {
    r.flush();
    emitX87Reload();
  }
  copyOp(r, d.op);
  if (s.kind != MemKind::Read) r.movR9d(uint32_t(s.info)).call(access_.commit);
  if (s.kind != MemKind::Read && s.x87) {
    r.flush();
    emitX87Reload();
  }
  r.jmpBack(d.back);
}

// --mmu host, flat segment: the access itself, off the address space's base (mmu/host_mmu.h),
// which R15 holds (dbt/host_regs.h):
//     op [r10 + r15]
// R10 holds the linear address zero-extended (every path to here writes R10D), so the access
// stays inside the 4 GiB reservation and its guard page. A page that is not mapped there (or
// not writable) faults; the host fault handler (dbt/host_fault.h) finds the faulting
// instruction among the block's fault sites and resumes at the site's slow path, which is the
// soft TLB's: it walks, raises #PF precisely, emulates watched and MMIO writes, crosses pages,
// and maps the page for next time. An op that swapped a high byte register before its access
// (emitWithHighByteFix) is resumed at a stub that swaps it back first.
// A site that faults again and again without getting mapped (a page table, MMIO, a page with
// code, true #PFs) gets its block translated again with the soft-TLB probe for every access
// (Dbt::sendToSoftTlb, dbt/host_fault.h), so no access costs much more than under --mmu soft.
// A "based" segment adds its base first (R10D = base + offset, flag-free); an access whose last
// byte passes offset 2^32 - 1 goes to the segment helper's slow path (limit: #GP/#SS), as in
// the soft probe:
//     r9 = rcx ; ecx = carry of (offset + size - 1) ; r10d += base ; jrcxz ok ; rcx = r9 ; jmp slow
//     ok: rcx = r9 ; ... as above
void BlockEmitter::emitHostAccess(const AccessSite& s, const MemOp& op) {
  uint32_t slow_rel32 = 0;
  if (s.based) {
    ProbeShape shape{s.size, false, false, true, false, s.seg_base, true};
    const ProbeBytes& head = probeBytes(shape);
    slow_rel32 = uint32_t(a_.offset() + head.rel32_at);
    a_.embed(head.bytes.data(), head.bytes.size());
  }
  hi_swap_ = HiSwap{};
  uint32_t begin = uint32_t(a_.offset());
  OpBytes at = emitOp(&op, OpBytes{}, s.size, true, s.fold);
  if (s.fold.on() && hi_swap_.valid)
    throw std::logic_error("emit_access: a high-byte swap inside a folded access (pass fold = false)");
  uint32_t end = uint32_t(a_.offset());
  DeferredAccess d;
  d.site = s;
  d.slow_rel32 = slow_rel32;
  d.back = end;
  d.op = at;
  d.host = true;
  d.swap.valid = hi_swap_.valid;
  d.swap.a = hi_swap_.a;
  d.swap.b = hi_swap_.b;
  d.fault_site = uint32_t(fault_sites_.size());
  fault_sites_.push_back(FaultSiteOffsets{begin, end, 0, true});  // resume: emitDeferred
  deferred_.push_back(d);
}

void BlockEmitter::emitDeferred() {
  for (const DeferredAccess& d : deferred_) {
    if (d.host) {
      fault_sites_[d.fault_site].resume = uint32_t(a_.offset());
      if (d.swap.valid) a_.xchg(d.swap.a, d.swap.b);
    }
    emitSlowPath(d);
  }
  deferred_.clear();
  emitBudgetExit();
}

}  // namespace btvm
