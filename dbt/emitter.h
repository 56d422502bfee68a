// The block emitter: turns decoded guest instructions into host code for one block. Internal to
// dbt/; the translator drives it one instruction at a time. Split by concern:
//   emit_access.cpp  the one access path (effective address, inline soft-TLB probe, slow path)
//   emit_alu.cpp     re-emitted integer instructions
//   emit_stack.cpp   PUSH/POP and friends lowered to SS:ESP (SS:SP) accesses
//   emit_flow.cpp    block entry, exits, chaining sites, indirect-branch lookup
//   emit_predict.cpp CALL/RET as host CALL/RET, inline caches of indirect branches
//   emit_helper.cpp  inline calls to VMM helpers
//   emit_string.cpp  LODS, STOS, SCAS, MOVS without REP as accesses
#pragma once
#include <asmjit/x86.h>
#include <capstone/capstone.h>

#include <type_traits>
#include <unordered_set>
#include <vector>

#include "dbt/block.h"
#include "dbt/encoding_memo.h"
#include "dbt/operands.h"
#include "dbt/runtime.h"
#include "patcher/insn_table.h"
#include "patcher/modes.h"

namespace btvm {

struct DbtHooks;
struct InlineCacheSlot;
class InlineCachePool;

// A guest memory operand: segment, base, index, scale, displacement, as Capstone decoded it.
struct GuestMem {
  int seg;            // SegReg
  int base = -1;      // guest register number or -1
  int index = -1;
  int shift = 0;      // log2(scale)
  int32_t disp = 0;
  bool addr16 = false;
};

enum class MemKind { Read, Write, ReadWrite };

// --mmu host, a folded address: the op addresses the guest's own address expression, not R10:
// off GS, gs:[base32 + index32 * scale + disp] with the address-size prefix where GS's base is
// R15's (dbt/host_regs.h; the host's 32-bit address generation wraps the sum as the guest's
// does), else [R15 + one register * scale + small disp] (a sum past 4 GiB lands in the view's
// guards).
struct Fold {
  bool folded = false;  // else the op addresses [r10 + ...]
  GuestMem m{};         // the guest's address (32-bit, flat segment); neither register: absolute
  bool on() const { return folded; }
};

struct AccessStubs;
class RawBuf;

// What an access does with its memory operand, passed down to the access path and called there
// at once, never stored (the slow paths copy the op's bytes instead: emit_access.cpp). A plain
// reference to the caller's lambda: std::function allocated for most captures.
class MemOp {
 public:
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, MemOp>>>
  MemOp(const F& f)  // NOLINT: lambdas convert implicitly, as they did to std::function
      : obj_(&f), call_([](const void* o, const asmjit::x86::Mem& m) { (*static_cast<const F*>(o))(m); }) {}
  void operator()(const asmjit::x86::Mem& m) const { call_(obj_, m); }

 private:
  const void* obj_;
  void (*call_)(const void*, const asmjit::x86::Mem&);
};

class BlockEmitter {
 public:
  BlockEmitter(asmjit::x86::Assembler& a, const RuntimeStubs& stubs, const AccessStubs& access,
               const DbtHooks& hooks, const BlockKey& key, VirtMode mode);
  // Starts the next block with this emitter: a translator keeps one, so that the lists below
  // keep their capacity (allocating them again for every block was a tenth of emit's cost).
  void beginBlock(const BlockKey& key);

  // Block structure (emit_flow.cpp).
  void emitEntry(uint32_t guest_insns);
  // A 5-byte patchable exit to a known guest EIP. Returns the index into exits().
  void emitDirectExit(uint32_t target_eip);
  // Target EIP in R10 (zero-extended), through the jump cache; a hit also fills `fill`.
  void emitIndirectExit(InlineCacheSlot* fill = nullptr);
  // Where indirect JMP/CALL sites take their inline caches from (none: jump cache only).
  void setInlineCaches(InlineCachePool* pool) { ic_pool_ = pool; }
  // A one-off block (one instruction stepped, a block cut at a device event or a breakpoint)
  // must hand control back to the dispatcher: its RET and indirect branches leave instead of
  // going on through the jump cache (its direct exits are never chained).
  void setOneOff(bool one_off) { one_off_ = one_off; }
  void emitExitToDispatcher(uint32_t next_eip);  // state.eip = next_eip, not chainable
  void emitExitStateEip();           // state.eip already set by a helper
  void emitHelperExit();             // to the code a block-ending helper returned (R11)
  void emitDeferred();               // slow paths, after the block's last instruction

  // Where the next instruction stands in its block (helpers learn how many follow it).
  void setPosition(uint32_t index, uint32_t count) { insns_after_ = count - 1 - index; }
  // One guest instruction (dispatches on the table row). Returns false if the block ends here.
  bool emitInsn(const cs_insn& insn, const InsnRow& row);
  // Runs of x87 instructions on the host's x87 (emit_x87.cpp): which instructions a run may
  // hold, and one run (index and count: the instruction's place in the block, as setPosition).
  struct X87Insn {
    const cs_insn* insn;
    const InsnRow* row;
    uint32_t index, count;
  };
  bool x87Native(const cs_insn& insn, const InsnRow* row) const;
  void emitX87Run(const X87Insn* run, size_t n);
  // An instruction that may sit inside a run between x87 instructions (no helper, no branch).
  static bool x87RunFiller(const InsnRow* row);
  // FLDCW: natively, followed by a check that may store the state and leave the run.
  static bool x87SetsControl(const cs_insn& insn);
  void emitRaise(HelperFn fn, uint32_t eip, uint64_t arg);  // #UD and friends

  // The access path (emit_access.cpp).
  GuestMem guestMem(const cs_x86_op& op, const cs_x86& x) const;
  void emitEffectiveAddress(const GuestMem& m);    // -> R10D (segment offset)
  // `op` may be given the guest's own address registers in its memory operand (a Fold): an op
  // that changes a guest register before its access, or swaps a high byte register
  // (emitWithHighByteFix), passes fold = false.
  void emitAccess(const GuestMem& m, unsigned size, MemKind kind, const MemOp& op, bool fold = true);
  void emitAccessAtR10(int seg, unsigned size, MemKind kind, const MemOp& op);
  bool folds(const GuestMem& m, MemKind kind) const;  // emitAccess addresses the fold (no R10D)

  struct ExitSite {
    uint32_t jump;  // offset of the exit's JMP rel32 (E9) or Jcc rel32 (0F 8x) in the block's code
    uint32_t target_eip;
    uint32_t unchained = 0;  // a Jcc's exit path (where it jumps until chained); a JMP's follows it
    // Exits to another linear page under paging: the page check that a chain enters through
    // (see emitPageCheck), offsets in the block's code; 0 otherwise.
    uint32_t check = 0, check_imm_end = 0, check_jump = 0;
  };
  const std::vector<ExitSite>& exits() const { return exits_; }

  // --mmu host: flat-segment accesses go straight to [host_base + linear] (emitHostAccess),
  // but those of the instructions (guest EIPs) in `soft`, which take the soft-TLB probe.
  void setHostMmu(bool on, const std::unordered_set<uint32_t>* soft = nullptr);
  // Host code of each such access (its op, [begin, end)) and where a fault in it resumes, as
  // offsets in the block's code (AsmJit labels cost about as much as encoding an instruction).
  struct FaultSiteOffsets {
    uint32_t begin, end, resume;
    bool access;  // a guest access, which a host MMU fault may send to the soft TLB
  };
  const std::vector<FaultSiteOffsets>& faultSites() const { return fault_sites_; }
  void emitPageCheck(ExitSite& site, size_t exit_path);

 private:
  bool emitGeneric(const cs_insn& insn);
  bool emitHelperCall(const cs_insn& insn, const InsnRow& row);  // the VMM helper itself
  bool emitDivideInline(const cs_insn& insn, const InsnRow& row);  // emit_divide.cpp
  void emitBitMem(const cs_insn& insn);
  void emitLea(const cs_insn& insn);
  void emitXlat(const cs_insn& insn);
  void emitPush(const cs_insn& insn);
  void emitPop(const cs_insn& insn);
  void emitPusha(const cs_insn& insn);
  void emitPopa(const cs_insn& insn);
  void emitLeave(const cs_insn& insn);
  uint32_t branchTarget(const cs_insn& insn) const;
  void emitJmp(const cs_insn& insn);
  void emitJcc(const cs_insn& insn);
  bool needsPageCheck(uint32_t target_eip) const;  // a direct exit to it (emitPageCheck)
  void emitLoop(const cs_insn& insn);
  void emitCall(const cs_insn& insn);
  void emitRet(const cs_insn& insn);
  uint32_t emitHostCall(asmjit::Label target);  // emit_predict.cpp
  void emitBranchExitPath(uint32_t jump, uint32_t target_eip);
  void emitLanding(uint32_t ret_eip);
  void emitReturnExit();
  void emitCachedIndirectExit();
  void emitSlotCheck(asmjit::Label hit);
  void emitSwitchExit(int index_reg);
  void emitInlineCacheFill(InlineCacheSlot* slot, int32_t jc_entry_code);
  bool emitHelper(const cs_insn& insn, const InsnRow& row);
  bool emitStringInline(const cs_insn& insn, const InsnRow& row);  // emit_string.cpp
  void emitStringSteps(int reg1, int reg2, unsigned size);

  // Mode of the block (its key): code size (CS.D) and stack size (SS.B).
  bool code16() const { return key_.flags & block_flag::kCode16; }
  bool stack16() const { return key_.flags & block_flag::kStack16; }
  unsigned opSize(const cs_x86& x) const { return operandSize(x, code16()); }

  // Stack primitives: a push of `size` bytes whose value `store` writes to the given slot; ESP
  // moves only after the store succeeded, so a fault leaves every register as it was. With
  // SS.B = 0 the stack pointer is SP: offsets wrap at 64 KiB and ESP[31:16] stays.
  void pushValue(unsigned size, const MemOp& store);
  // value -> dst (R8D, or R10D with a 32-bit stack: addToSp clobbers R10 with SS.B = 0),
  // zero-extended; ESP += size
  void popValue(unsigned size, const asmjit::x86::Gp& dst = asmjit::x86::r8d);
  GuestMem stackMem(int32_t delta) const;  // the same as an address: [ESP + delta] in SS
  void addToSp(int32_t delta);       // the stack pointer += delta (clobbers R10)
  // value -> dst, zero-extended (R8D, or R10D: an access computes its address there first)
  void loadOperand(const cs_x86_op& op, const cs_x86& x, unsigned size,
                   const asmjit::x86::Gp& dst = asmjit::x86::r8d);
  void callHelper(HelperFn fn);      // R10, R9 set by the caller
  void setEip(uint32_t eip);
  void emitWithHighByteFix(asmjit::InstId id, asmjit::Operand* ops, unsigned count);
  bool segmentFlat(int seg, MemKind kind) const;
  bool segmentBased(int seg, MemKind kind) const;
  void emitRdtscInline();
  void position(const X87Insn& i);  // insn_eip_, next_eip_, insns_after_ for it
  void emitX87Reload();
  void emitX87MaskCheck(asmjit::Label rest);
  void emitX87MakeLive(asmjit::Label slow);
  bool x87_live_ = false;  // emitting a native x87 run: slow paths reload the state
  // The pointers of a run's last x87 instructions not stored yet (FIP and FCS|FOP; FDS, as the
  // segment register's selector; FDP when absolute): the slow path of each access in the run
  // stores them before its helper, which may raise a fault (emit_x87.cpp).
  struct X87Pointers {
    bool pending = false, fdp_pending = false;
    uint32_t fip = 0, fdp = 0;
    uint16_t fop = 0;
    int fds_seg = -1;
  };
  X87Pointers x87_ptrs_;
  void emitX87Pointers(const X87Pointers& p);
  // Where an access's op was emitted ([begin, end) in the code buffer): its slow paths copy it.
  struct OpBytes {
    uint32_t begin = 0, end = 0;
    bool on_host_base = false;  // addresses [r10 + r15] or the fold (the host-MMU hit path),
                                // else [r10 + r11]
    Fold fold;
    uint32_t plain_begin = 0, plain_end = 0;  // a fold's op on [r10 + r11], in plain_ops_
  };
  // One access as its deferred paths need it (emit_access.cpp).
  struct AccessSite {
    unsigned size;
    bool user, based;
    uint32_t eip, after;
    uint64_t info;
    MemKind kind;
    int32_t seg_base;
    Fold fold;  // --mmu host: R10 is not set; the slow paths compute it first
    bool x87 = false;  // inside a native x87 run: helper calls store the live state, reload it
    X87Pointers x87_ptrs;  // to store before its helper (inside a run)
  };
  struct DeferredAccess {
    AccessSite site;
    uint32_t slow_rel32 = 0;  // the offset of a JMP rel32 to the slow path to patch, or 0
    uint32_t back = 0;      // where both paths continue (an offset: always emitted already)
    OpBytes op;
    bool host = false;  // --mmu host: a fault site, resumed at the slow path
    uint32_t fault_site = 0;  // host: its entry in fault_sites_, whose resume and soft it fills
    struct {
      bool valid;
      asmjit::x86::Gp a, b;
    } swap{};
  };
  // Calls `op` (on [r10 + r15] or [r10 + r11]), or copies `copy` to run on [r10 + r11].
  OpBytes emitOp(const MemOp* op, OpBytes copy, unsigned size, bool on_host_base = false, Fold fold = {});
  AccessSite accessSite(int seg, unsigned size, MemKind kind) const;
  asmjit::x86::Mem effectiveAddress(const GuestMem& m) const;  // needs a register in it
  asmjit::x86::Mem foldOperand(const GuestMem& m, unsigned size) const;  // the fold's operand
  void emitFoldedAddress(RawBuf& r, const Fold& f);  // R10D = the folded address, as the guest wraps it
  void copyOp(RawBuf& r, OpBytes op);
  void emitSlowPath(const DeferredAccess& d);
  void emitSoftAccess(const AccessSite& s, const MemOp& op);
  void emitHostAccess(const AccessSite& s, const MemOp& op);

  asmjit::x86::Assembler& a_;
  const RuntimeStubs& stubs_;
  const AccessStubs& access_;
  const DbtHooks& hooks_;
  BlockKey key_;
  VirtMode mode_;
  uint32_t insn_eip_ = 0;        // EIP of the instruction being emitted
  uint32_t next_eip_ = 0;
  uint32_t insns_after_ = 0;
  std::vector<DeferredAccess> deferred_;  // slow paths, emitted after the block
  uint32_t budget_insns_ = 0;             // emitEntry's charge, given back by emitBudgetExit
  size_t budget_site_ = SIZE_MAX;          // emitEntry's entry in fault_sites_, if emitted
  void emitBudgetExit();
  std::vector<ExitSite> exits_;
  bool host_mmu_ = false;
  const std::unordered_set<uint32_t>* soft_sites_ = nullptr;
  bool softSite() const;
  bool gs_fold_ = false;  // host_mmu_ on a host with FSGSBASE: folds address gs:[...] (Fold)
  std::vector<FaultSiteOffsets> fault_sites_;
  // The block's folded ops as they run on [r10 + r11] (OpBytes::plain_begin), for the copies in
  // slow paths: assembled beside each fold and taken out of the code.
  std::vector<uint8_t> plain_ops_;
  // The high-byte swap emitWithHighByteFix put around the op being emitted, if any.
  struct HiSwap {
    bool valid = false;
    asmjit::x86::Gp a, b;
  };
  HiSwap hi_swap_;
  InlineCachePool* ic_pool_ = nullptr;
  bool one_off_ = false;
  EncodingMemo reg_only_;  // emitGeneric: register-only instructions already encoded
};

}  // namespace btvm
