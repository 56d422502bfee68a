// Dbt: decode a block with Capstone, classify each instruction by our table, emit it with AsmJit,
// install it in the code cache, and keep the bookkeeping that chaining and invalidation need.
#include <capstone/capstone.h>
#include <fmt/core.h>

#include <cassert>
#include <chrono>
#include <cstring>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "dbt/access_stubs.h"
#include "dbt/assembler.h"
#include "dbt/block_table.h"
#include "dbt/dbt.h"
#include "dbt/decoder.h"
#include "dbt/emitter.h"
#include "dbt/host_fault.h"
#include "dbt/flow_predict.h"
#include "dbt/operands.h"

namespace btvm {

using namespace asmjit;

namespace {

uint64_t nowNs() {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now().time_since_epoch()).count());
}

bool isLockable(unsigned id) {
  switch (id) {
    case X86_INS_ADD: case X86_INS_ADC: case X86_INS_AND: case X86_INS_BTC: case X86_INS_BTR:
    case X86_INS_BTS: case X86_INS_CMPXCHG: case X86_INS_CMPXCHG8B: case X86_INS_DEC:
    case X86_INS_INC: case X86_INS_NEG: case X86_INS_NOT: case X86_INS_OR: case X86_INS_SBB:
    case X86_INS_SUB: case X86_INS_XOR: case X86_INS_XADD: case X86_INS_XCHG:
      return true;
    default:
      return false;
  }
}

// The operand form picks the row for IDs that Capstone shares between meanings.
Form formOf(const cs_insn& insn) {
  const cs_x86& x = insn.detail->x86;
  if (insn.id != X86_INS_MOV && insn.id != X86_INS_PUSH && insn.id != X86_INS_POP) return Form::Plain;
  for (unsigned i = 0; i < x.op_count; ++i) {
    if (x.operands[i].type != X86_OP_REG) continue;
    x86_reg r = x.operands[i].reg;
    bool dst = i == 0;
    if (segIndex(r) >= 0) {
      if (insn.id == X86_INS_PUSH) return Form::FromSeg;
      if (insn.id == X86_INS_POP) return Form::ToSeg;
      return dst ? Form::ToSeg : Form::FromSeg;
    }
    if (crIndex(r) >= 0) return dst ? Form::ToCr : Form::FromCr;
    if (drIndex(r) >= 0) return dst ? Form::ToDr : Form::FromDr;
  }
  return Form::Plain;
}

// Capstone shares IDs between string MOVSD/CMPSD and their SSE namesakes.
bool isSseNamesake(const cs_insn& insn) {
  if (insn.id != X86_INS_MOVSD && insn.id != X86_INS_CMPSD) return false;
  uint8_t op = insn.detail->x86.opcode[0];
  return op != 0xa5 && op != 0xa7;
}

// Capstone decodes for a later CPU; a P6 ignores a REP prefix that later CPUs gave a meaning to
// (F3 0F BC TZCNT and F3 0F BD LZCNT run as BSF and BSR). POPCNT (F3 0F B8) stays #UD: without
// the prefix 0F B8 is no instruction on a P6 either.
void asP6Decodes(cs_insn& insn) {
  if (insn.id == X86_INS_TZCNT) insn.id = X86_INS_BSF;
  else if (insn.id == X86_INS_LZCNT) insn.id = X86_INS_BSR;
}

struct DecodedInsn {
  // Left uninitialized (emplace_back would otherwise zero about 1.7 KB per instruction):
  // Capstone fills the instruction and clears the detail it writes; the bad-byte path below
  // sets what it uses.
  DecodedInsn() {}  // NOLINT: not = default, which would value-initialize
  cs_insn insn;
  cs_detail detail;
  const InsnRow* row;  // nullptr: raise #UD (unimplemented or invalid)
};

}  // namespace

struct Dbt::Impl {
  CpuState& cpu;
  PhysMemory& mem;
  DbtHooks hooks;
  DbtConfig config;
  CodeCache cache;
  Decoder decoder;
  Decoder host_decoder{CS_MODE_64};
  RuntimeStubs stubs{};
  AccessStubs access{};
  DbtStats stats;
  BlockTable blocks{kBlocksExpected};  // cached blocks by key
  std::unordered_map<uint64_t, std::vector<Block*>> by_page;  // physical page -> blocks on it
  BlockArena arena;  // every block (cached or one-off) since the last flush, in code order
  std::vector<DecodedInsn> insns;
  std::vector<BlockEmitter::X87Insn> x87_run;  // reused: one run of native x87 instructions
  FaultSites fault_sites;  // --mmu host: the accesses that may fault (dbt/host_fault.h)
  // --mmu host: instructions (guest EIPs) with an access that kept faulting, translated with
  // the soft-TLB probe instead (sendToSoftTlb). Kept across flushes: the same code would fault
  // the same way; another address space's instruction at the same EIP only takes the probe.
  std::unordered_set<uint32_t> soft_sites;
  InlineCachePool ic_pool{kInlineCacheSlots};
  CodeHolder code;  // reused by translate() (declared before `a`, which attaches to it)
  x86::Assembler a;
  AsmErrorHandler eh;
  BlockEmitter emitter{a, stubs, access, hooks, BlockKey{}, config.mode};  // reused: beginBlock
  static constexpr size_t kInlineCacheSlots = 1u << 18;  // 4 MiB; a full pool falls back

  Impl(CpuState& c, PhysMemory& m, const DbtHooks& h, const DbtConfig& cfg)
      : cpu(c), mem(m), hooks(h), config(cfg), cache(cfg.code_cache_bytes),
        fault_sites(cache.base(), cache.capacity()) {
    insns.reserve(cfg.max_block_insns + 1);
  }
  // The table's start (it doubles as blocks come): small, since every page of it is a page fault
  // at start-up (1 MiB of slots cost a short guest some 2 ms on this project's VM).
  static constexpr size_t kBlocksExpected = 1u << 12;

  size_t fetch(uint64_t phys, uint64_t phys2, uint32_t page_off, uint8_t* buf, size_t len) {
    // Within one page of RAM: one copy from host memory (read8 per byte was a hot spot).
    if (page_off + len <= kPageSize && mem.contains(phys, len)) {
      if (const uint8_t* h = mem.host(phys)) {
        std::memcpy(buf, h, len);
        return len;
      }
    }
    for (size_t i = 0; i < len; ++i) {
      uint64_t off = page_off + i;
      buf[i] = off < kPageSize ? mem.read8(phys + i) : mem.read8(phys2 + (off - kPageSize));
    }
    return len;
  }

  void decodeBlock(const BlockKey& key, uint32_t cs_limit, uint32_t max_insns, Block& b) {
    insns.clear();
    decoder.setCode16(key.flags & block_flag::kCode16);
    uint32_t eip = key.eip;
    uint64_t phys = key.phys;
    uint64_t phys2 = ~0ull;
    for (uint32_t n = 0; n < max_insns; ++n) {
      uint32_t page_off = uint32_t(phys & kPageMask);
      if (n > 0 && page_off == 0) break;  // blocks stay on one page (but their last instruction)
      uint8_t buf[16];
      size_t in_page = kPageSize - page_off;
      size_t avail = in_page < 15 ? in_page : 15;
      uint64_t limit_left = uint64_t(cs_limit) - (eip - 0) + 1;
      if (uint64_t(eip) > cs_limit) break;
      fetch(phys, 0, page_off, buf, avail);
      // Decoded in place into the block's list: the instruction and its detail are not copied.
      DecodedInsn& d = insns.emplace_back();
      bool ok = decoder.decodeInto(buf, avail, eip, &d.insn, &d.detail) && d.insn.size <= limit_left;
      if (!ok && avail < 15) {
        // The instruction may continue on the next page: fetch it only now, since touching that
        // page can fault and a block must not fault for an instruction it does not contain.
        uint64_t p2;
        uint32_t next_linear = key.cs_base + eip + uint32_t(in_page);
        if (!hooks.code_phys(&cpu, next_linear, n == 0, &p2)) break;
        phys2 = p2;
        fetch(phys, phys2, page_off, buf, 15);
        ok = decoder.decodeInto(buf, 15, eip, &d.insn, &d.detail) && d.insn.size <= limit_left;
        if (!ok) phys2 = ~0ull;
      }
      if (!ok) {
        insns.pop_back();
        if (n > 0) break;  // becomes the first instruction of its own block, which raises
        if (uint64_t(eip) + 1 > uint64_t(cs_limit) + 1) break;
        DecodedInsn& bad = insns.emplace_back();
        bad.row = nullptr;
        bad.insn.id = 0;
        bad.insn.address = eip;
        bad.insn.size = 1;
        break;
      }
      asP6Decodes(d.insn);
      d.row = classify(d.insn);
      uint32_t size = d.insn.size;
      if (page_off + size > kPageSize) b.phys_page2 = phys2 & ~uint64_t(kPageMask);
      eip += size;
      phys += size;
      if (!d.row || (d.row->cls & cls::kBlockEnd)) break;
      Handling how = handlingFor(config.mode, *d.row);
      if (how == Handling::Trapped || how == Handling::Patched) break;  // a trap ends the block
      if (page_off + size >= kPageSize) break;
    }
    for (auto& d : insns) d.insn.detail = &d.detail;
  }

  const InsnRow* classify(const cs_insn& insn) {
    const cs_x86& x = insn.detail->x86;
    if (isSseNamesake(insn)) return nullptr;
    if (x.prefix[0] == 0xf0 && (!isLockable(insn.id) || x.op_count == 0 || x.operands[0].type != X86_OP_MEM))
      return &lockUd();
    return findInsn(insn.id, formOf(insn));
  }

  static const InsnRow& lockUd() {
    static const InsnRow r{0, Form::Plain, Emit::Undefined, HelperId::None, 0, ""};
    return r;
  }

  Block* translate(const BlockKey& key, uint32_t cs_limit, uint32_t max_insns, bool cached) {
    if (max_insns == 0 || max_insns > config.max_block_insns) max_insns = config.max_block_insns;
    Block& b = *arena.make();
    b.key = key;
    b.phys_page2 = ~0ull;
    b.cached = cached;
    const bool timed = config.time_phases;
    uint64_t t0 = timed ? nowNs() : 0;
    decodeBlock(key, cs_limit, max_insns, b);
    uint64_t t1 = timed ? nowNs() : 0;

    // One CodeHolder for every block: a soft reset keeps its zone memory, so a block's
    // translation does not allocate and free AsmJit's arenas again (a hot spot of translation).
    code.reset();
    initAssembler(code, a, eh, reinterpret_cast<uint64_t>(cache.next()));
    BlockEmitter& e = emitter;
    e.beginBlock(key);
    e.setHostMmu(config.host_mmu, &soft_sites);
    e.setInlineCaches(cached ? &ic_pool : nullptr);  // a one-off block would waste its slots
    e.setOneOff(!cached);
    e.emitEntry(uint32_t(insns.size()));
    bool open = true;
    uint32_t bytes = 0;
    for (size_t k = 0; k < insns.size(); ++k) {
      const DecodedInsn& d = insns[k];
      bytes += d.insn.size;
      e.setPosition(uint32_t(k), uint32_t(insns.size()));
      if (!d.row) {
        e.emitRaise(hooks.raise_ud, uint32_t(d.insn.address), d.insn.id);
        open = false;
        break;
      }
      if (e.x87Native(d.insn, d.row)) {  // a run: to the last x87 instruction before a helper or branch
        size_t end = k + 1;
        for (size_t j = k + 1; j < insns.size(); ++j) {
          if (e.x87Native(insns[j].insn, insns[j].row)) end = j + 1;
          else if (!BlockEmitter::x87RunFiller(insns[j].row)) break;
        }
        x87_run.clear();
        for (size_t j = k; j < end; ++j) {
          x87_run.push_back({&insns[j].insn, insns[j].row, uint32_t(j), uint32_t(insns.size())});
          if (j > k) bytes += insns[j].insn.size;
        }
        e.emitX87Run(x87_run.data(), x87_run.size());
        k = end - 1;
        continue;
      }
      open = e.emitInsn(d.insn, *d.row);
      if (!open) break;
    }
    if (open) e.emitDirectExit(key.eip + bytes);
    e.emitDeferred();
    uint64_t t2 = timed ? nowNs() : 0;

    size_t size = 0;
    uint8_t* dst = installCode(code, cache, &size);
    if (!dst) {  // cache full: the caller flushes and retries
      arena.unmake();
      return nullptr;
    }
    uint64_t t3 = timed ? nowNs() : 0;
    b.code = dst;
    b.code_size = uint32_t(size);
    arena.placed(&b);
    const uint32_t block_at = uint32_t(dst - cache.base());
    for (const auto& f : e.faultSites()) {
      fault_sites.add(FaultSite{block_at + f.begin, block_at + f.end, block_at + f.resume, f.access});
    }
    b.guest_insns = uint32_t(insns.size());
    b.guest_bytes = bytes;
    b.phys_end = key.phys + bytes;
    for (const auto& ex : e.exits()) {
      Block::Exit x;
      x.jump = dst + ex.jump;
      x.unchained = ex.unchained ? dst + ex.unchained : x.jump + kJmpRel32Len;
      x.target_eip = ex.target_eip;
      if (ex.check) {
        x.check = dst + ex.check;
        x.check_imm = dst + ex.check_imm_end - 8;
        x.check_jump = dst + ex.check_jump;
        assert(x.check_imm[-2] == 0x49 && x.check_imm[-1] == 0xb8);  // MOVABS R8, imm64
      }
      b.exits.push_back(x);
    }
    stats.decode_ns += t1 - t0;
    stats.emit_ns += t2 - t1;
    stats.install_ns += t3 - t2;
    stats.code_bytes += size;
    stats.guest_insns += b.guest_insns;
    stats.guest_bytes += bytes;
    if (cached) ++stats.blocks;
    else ++stats.one_off_blocks;
    if (config.log_in_asm) logInAsm(b);
    if (config.log_out_asm) logOutAsm(b);
    if (cached) registerBlock(&b);
    return &b;
  }

  void registerBlock(Block* b) {
    blocks.insert(b);
    addToPage(b, b->key.phys & ~uint64_t(kPageMask));
    if (b->phys_page2 != ~0ull) addToPage(b, b->phys_page2);
  }

  void addToPage(Block* b, uint64_t page) {
    by_page[page].push_back(b);
    if (!mem.isCodePage(page) && mem.contains(page, kPageSize)) {
      mem.addCodePage(page);
      dropWriteTags(cpu.tlb, mem.base() + page);
    } else {
      mem.addCodePage(page);
    }
  }

  // The exit of a live cached block whose chainable JMP is at `jump`, or null.
  Block::Exit* exitAt(const uint8_t* jump, Block** owner = nullptr) {
    Block* b = arena.blockAt(jump);
    if (!b || !b->valid || !b->cached) return nullptr;
    for (Block::Exit& ex : b->exits)
      if (ex.jump == jump) {
        if (owner) *owner = b;
        return &ex;
      }
    return nullptr;
  }

  void patchJump(uint8_t* jump, const uint8_t* target) {
    size_t len = chainJumpLen(jump);
    int32_t rel = int32_t(target - (jump + len));
    std::memcpy(jump + len - 4, &rel, 4);
  }

  void removeBlock(Block* b) {
    blocks.erase(b->key);
    // Back to the dispatcher path, its own loop's back edge too (b still valid for exitAt): a
    // block sent to the soft TLB goes on running (Dbt::sendToSoftTlb).
    for (uint8_t* in : b->incoming) {
      Block::Exit* ex = exitAt(in);  // always found: a block leaves the lists it is in when it goes
      patchJump(in, ex ? ex->unchained : in + chainJumpLen(in));
      if (ex) ex->chained = nullptr;
    }
    b->incoming.clear();
    b->valid = false;
    for (auto& ex : b->exits) {
      if (ex.chained) {
        auto& inc = ex.chained->incoming;
        inc.erase(std::remove(inc.begin(), inc.end(), ex.jump), inc.end());
      }
    }
    uint64_t pages[2] = {b->key.phys & ~uint64_t(kPageMask), b->phys_page2};
    for (uint64_t p : pages) {
      if (p == ~0ull) continue;
      auto& v = by_page[p];
      v.erase(std::remove(v.begin(), v.end(), b), v.end());
      mem.removeCodePage(p);
      if (v.empty()) by_page.erase(p);
    }
    ++stats.invalidated;
  }

  bool invalidate(uint64_t paddr, uint32_t len) {
    bool any = false;
    uint64_t end = paddr + len;
    for (uint64_t page = paddr & ~uint64_t(kPageMask); page < end; page += kPageSize) {
      auto it = by_page.find(page);
      if (it == by_page.end()) continue;
      std::vector<Block*> hit;
      for (Block* b : it->second) {
        bool overlap = (b->key.phys < end && b->phys_end > paddr);
        if (b->phys_page2 != ~0ull && page == b->phys_page2) overlap = true;  // conservative
        if (overlap) hit.push_back(b);
      }
      for (Block* b : hit) removeBlock(b);
      any |= !hit.empty();
    }
    if (any) flushJumpCache();
    return any;
  }

  // The generations of the modes entered in this epoch (dbt/emit_predict.cpp): the mode is the
  // block key's flags and CS base. A few modes at a time: Linux's kernel runs in two (FS based
  // or not, around its entry and exit paths) and user code in one per TLS layout.
  struct ModeGen {
    uint64_t mode, gen;
  };
  static constexpr size_t kMaxModes = 16;
  std::vector<ModeGen> mode_gens;
  uint64_t cur_mode = ~0ull;

  uint64_t newGeneration() {
    if (cpu.flow_gen_next == 0) {
      // After 2^32 generations the numbers come round again: an entry that old must not match
      // (nor one of key 0), so empty them all and start again at generation 1.
      for (auto& e : cpu.jcache) e = JumpCacheEntry{0, stubs.jcache_miss};
      ic_pool.clearSlots();
      dropPendingCalls();
      mode_gens.clear();
      cpu.flow_gen_next = uint64_t(1) << 32;
    }
    uint64_t g = cpu.flow_gen_next;
    cpu.flow_gen_next += uint64_t(1) << 32;
    return g;
  }
  void setGeneration(uint64_t g) {
    cpu.flow_gen = g;
    cpu.flow_gen_neg = uint64_t(0) - g;
  }
  void enterMode(uint32_t flags, uint32_t cs_base) {
    uint64_t mode = (uint64_t(cs_base) << 32) | flags;
    if (mode == cur_mode) return;
    cur_mode = mode;
    for (const ModeGen& m : mode_gens)
      if (m.mode == mode) {
        setGeneration(m.gen);
        return;
      }
    if (mode_gens.size() >= kMaxModes) mode_gens.clear();  // they get new generations
    uint64_t g = newGeneration();
    mode_gens.push_back(ModeGen{mode, g});
    setGeneration(g);
  }
  // A new epoch: every mode's entries die (nothing needs clearing: their generations are gone).
  void flushJumpCache() {
    mode_gens.clear();
    uint64_t g = newGeneration();
    if (cur_mode != ~0ull) mode_gens.push_back(ModeGen{cur_mode, g});
    setGeneration(g);
  }

  void flushAll() {
    blocks.clear();
    by_page.clear();
    arena.clear();
    cache.flush();
    fault_sites.clear();
    ic_pool.reset();
    mem.clearCodePages();
    flushJumpCache();
    cpu.call_rsp = callStackBase();  // pending CALLs' landings are gone
    ++stats.cache_flushes;
  }

  void logInAsm(const Block& b) {
    fmt::print(stderr, "IN: eip=0x{:08x} phys=0x{:x}\n", b.key.eip, b.key.phys);
    for (const DecodedInsn& d : insns) {
      if (!d.row && d.insn.id == 0) fmt::print(stderr, "0x{:08x}:  (bad)\n", uint32_t(d.insn.address));
      else fmt::print(stderr, "0x{:08x}:  {} {}{}\n", uint32_t(d.insn.address), d.insn.mnemonic, d.insn.op_str,
                      d.row ? "" : "   ; not implemented: #UD");
    }
    fmt::print(stderr, "\n");
  }

  void logOutAsm(const Block& b) {
    fmt::print(stderr, "OUT: [size={}]\n", b.code_size);
    const uint8_t* p = b.code;
    size_t n = b.code_size;
    uint64_t addr = reinterpret_cast<uint64_t>(p);
    cs_insn* insn = cs_malloc(host_decoder.handle());
    while (n && cs_disasm_iter(host_decoder.handle(), &p, &n, &addr, insn))
      fmt::print(stderr, "0x{:012x}:  {} {}\n", insn->address, insn->mnemonic, insn->op_str);
    cs_free(insn, 1);
    fmt::print(stderr, "\n");
  }
};

Dbt::Dbt(CpuState& cpu, PhysMemory& mem, const DbtHooks& hooks, const DbtConfig& config)
    : impl_(std::make_unique<Impl>(cpu, mem, hooks, config)), cpu_(cpu) {
  impl_->stubs = generateRuntimeStubs(impl_->cache);
  impl_->access = generateAccessStubs(impl_->cache, impl_->stubs, hooks.mem_slow, hooks.mem_slow_seg, hooks.mem_commit);
  impl_->cache.sealStubs();
  stubs_ = impl_->stubs;
  // Generations start at 1: an empty entry (key 0) never matches.
  cpu.flow_gen_next = uint64_t(1) << 32;
  cpu.call_rsp = callStackBase();
  for (auto& e : cpu.jcache) e = JumpCacheEntry{0, impl_->stubs.jcache_miss};
  impl_->flushJumpCache();
}

Dbt::~Dbt() = default;

Block* Dbt::find(const BlockKey& key) {
  return impl_->blocks.find(key);
}

Block* Dbt::translate(const BlockKey& key, uint32_t cs_limit, uint32_t max_insns, bool cached) {
  Block* b = impl_->translate(key, cs_limit, max_insns, cached);
  if (!b) {
    impl_->flushAll();
    b = impl_->translate(key, cs_limit, max_insns, cached);
  }
  return b;
}

void Dbt::chainLastExit(Block* target) {
  auto* jump = reinterpret_cast<uint8_t*>(cpu_.last_exit);
  if (!jump || !target->cached || !target->valid) return;
  Block* source = nullptr;
  Block::Exit* exit = impl_->exitAt(jump, &source);
  if (!exit) return;
  Block::Exit& ex = *exit;
  // The dispatcher may have moved on since that jump left (an interrupt or exception delivered,
  // a trap emulated): chain only a block that is where the jump was going, in the same mode.
  if (ex.target_eip != target->key.eip || source->key.cs_base != target->key.cs_base ||
      source->key.flags != target->key.flags)
    return;
  if (ex.chained) {
    // A page check that failed because the target page now maps elsewhere: re-arm it for the
    // block found under the new mapping (processes share linear addresses, not pages).
    if (!ex.check || ex.chained == target) return;
    auto& inc = ex.chained->incoming;
    inc.erase(std::remove(inc.begin(), inc.end(), jump), inc.end());
    ex.chained = nullptr;
  }
  // With paging, a jump within one linear page is chained directly (every way into a page's
  // blocks passes a check of the page's current mapping); a jump to another page goes through
  // the exit's page check, armed here with the target's physical page.
  if (ex.check) {
    uint64_t page = target->key.phys & ~uint64_t(kPageMask);
    uint32_t vpn = (target->key.cs_base + target->key.eip) >> 12;
    if (target->key.flags != source->key.flags || target->key.cs_base != source->key.cs_base ||
        !impl_->mem.contains(page, kPageSize))
      return;
    uint64_t addend = reinterpret_cast<uint64_t>(impl_->mem.base() + page) - (uint64_t(vpn) << 12);
    uint64_t imm = uint64_t(0) - addend;
    std::memcpy(ex.check_imm, &imm, 8);
    impl_->patchJump(ex.check_jump, target->code);
    impl_->patchJump(jump, ex.check);
  } else {
    if ((target->key.flags & block_flag::kPaging) &&
        ((source->key.cs_base + source->key.eip) >> 12) != ((target->key.cs_base + target->key.eip) >> 12))
      return;
    impl_->patchJump(jump, target->code);
  }
  ex.chained = target;
  target->incoming.push_back(jump);
  ++impl_->stats.chains;
}

void Dbt::fillJumpCache(uint32_t eip, const Block* b) {
  uint32_t idx = (eip + (eip >> 12)) & (kJumpCacheSize - 1);
  cpu_.jcache[idx] = JumpCacheEntry{cpu_.flow_gen | eip, b->code};
  ++impl_->stats.jcache_fills;
}

const void* Dbt::jumpCacheCode(uint32_t eip) const {
  const JumpCacheEntry& e = cpu_.jcache[(eip + (eip >> 12)) & (kJumpCacheSize - 1)];
  return e.key == (cpu_.flow_gen | eip) ? e.code : nullptr;
}

void Dbt::flushJumpCache() { impl_->flushJumpCache(); }
void Dbt::enterMode(uint32_t flags, uint32_t cs_base) { impl_->enterMode(flags, cs_base); }
bool Dbt::invalidate(uint64_t paddr, uint32_t len) { return impl_->invalidate(paddr, len); }

void Dbt::sendToSoftTlb(const uint8_t* site, uint32_t eip) {
  Block* b = impl_->arena.blockAt(site);
  if (!b || !b->valid || !b->cached) return;
  impl_->soft_sites.insert(eip);
  // Its code stays where it is (the helper that asked returns into it); the next entry
  // translates it again, and no prediction may lead into the old code any more.
  impl_->removeBlock(b);
  impl_->flushJumpCache();
}
void Dbt::flushAll() { impl_->flushAll(); }
bool Dbt::codeCacheFull() const { return impl_->cache.used() * 8 > impl_->cache.capacity() * 7; }
const DbtStats& Dbt::stats() const { return impl_->stats; }

}  // namespace btvm
