// The guest CPU as translated code and the VMM see it. Translated code holds the guest GPRs and the
// six arithmetic flags in host registers and writes them back here whenever it leaves to the VMM
// (block exit, helper call, fault), so every C++ reader sees an exact state.
#pragma once
#include <cstddef>
#include <cstdint>

#include "mmu/tlb.h"

namespace btvm {

enum Reg : int { EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI };  // hardware encoding order
enum SegReg : int { ES, CS, SS, DS, FS, GS };

namespace flag {
constexpr uint32_t CF = 1u << 0, PF = 1u << 2, AF = 1u << 4, ZF = 1u << 6, SF = 1u << 7,
                   TF = 1u << 8, IF = 1u << 9, DF = 1u << 10, OF = 1u << 11,
                   IOPL = 3u << 12, NT = 1u << 14, RF = 1u << 16, VM = 1u << 17, AC = 1u << 18,
                   ID = 1u << 21;
constexpr uint32_t kArith = CF | PF | AF | ZF | SF | OF;  // the bits kept in host RFLAGS
constexpr uint32_t kFixed1 = 1u << 1;                      // bit 1 always reads 1
}  // namespace flag

// A segment register's hidden part, loaded from a descriptor (or set by the loader).
struct Segment {
  uint16_t selector;
  uint32_t base;
  uint32_t limit;   // effective byte limit (granularity applied)
  uint32_t attr;    // descriptor bits 8..23 of the high dword: type, S, DPL, P, AVL, L, D/B, G
  bool valid;       // false for a null selector in a data segment register
};

struct TableReg {
  uint32_t base;
  uint32_t limit;
};

// Jump cache for indirect branches, probed inline: (flow generation | guest EIP) -> host code of
// its block. The generation names the mode the block was translated for (CS base, CPL, flat and
// based segments) in the current CR3 epoch, so entries of several modes live side by side and a
// guest that goes to its kernel and back keeps them all (dbt/emit_predict.cpp).
constexpr int kJumpCacheBits = 12;
constexpr uint32_t kJumpCacheSize = 1u << kJumpCacheBits;
struct JumpCacheEntry {
  uint64_t key;  // flow_gen | guest EIP; 0 = empty
  const void* code;
};

struct CpuState {
  uint32_t regs[8];   // EAX..EDI; ESP is regs[ESP]
  uint32_t eip;
  uint32_t eflags;    // complete EFLAGS whenever the VMM holds the state
  Segment seg[6];
  Segment ldtr, tr;
  TableReg gdtr, idtr;
  uint32_t cr0, cr2, cr3, cr4;
  // PAE paging: the four PDPTE registers, loaded from the 32-byte PDPT at CR3 only when MOV to
  // CR0/CR3/CR4 says so (SDM Vol. 3A 4.4.1), so later writes to the PDPT in memory do not
  // change translation until the next load (mmu/pae.cpp).
  uint64_t pdpte[4];
  uint32_t dr[8];
  uint8_t cpl;
  bool halted;
  // The x87 FPU: its FNSAVE image (32-bit protected-mode layout, emu/cpu/fpu.h), as the host's
  // FRSTOR/FNSAVE read and write it, with the guest's own FIP/FCS/FOP/FDP/FDS in it.
  alignas(16) uint8_t fpu[108];
  // A run of x87 instructions that translated code executes on the host's x87 itself
  // (dbt/emit_x87.cpp): while fpu_live is set the guest's FPU state is in the host's x87, not in
  // `fpu`, and fpu_ptrs holds the guest's FIP, FCS|FOP, FDP, FDS (the image's bytes 12..27),
  // which the host's own FNSAVE would overwrite with host addresses.
  uint8_t fpu_live;
  alignas(8) uint8_t fpu_ptrs[16];

  // Instruction budget: translated code subtracts each block's length on entry and leaves to the
  // dispatcher when it goes negative. While translated code runs it lives in a host register, as
  // budget_base + budget (dbt/budget.h), and is written back here at every exit and helper call.
  int64_t icount_budget;
  uint64_t budget_base;

  // Translator runtime area (translated code addresses these fields relative to its state register).
  void* vm;                // the owning machine: helpers find their context through it
  uint64_t last_exit;      // host address of the chain jump that left to the dispatcher, or 0
  uint32_t tmp[8];         // values carried between accesses of one instruction (POPA: 8)
  uint64_t tlb_hits;       // counted inline only under --stats
  bool exit_after_insn;    // a helper's write hit translated code: leave after this instruction
  uint32_t trap_helper;    // trap exit (--mode trap/patch): HelperId + 1 to emulate, else 0
  uint32_t trap_arg;       // the helper's arguments, saved by the trapping block
  uint64_t trap_info;
  uint32_t insns_after;    // instructions of the current block after the helper's (for RDTSC)
  // Inline RDTSC (translate mode, virtual clock): TSC = tsc_base - budget - insns_after - 1,
  // the same value hRdtsc computes. The dispatcher sets it before entering translated code;
  // helpers that move the budget's start or the TSC offset keep it (refreshTscBase).
  uint64_t tsc_base;
  // --mmu host: host address of linear address 0 in the current shadow context's reservation,
  // [0] for supervisor accesses, [1] for user ones (mmu/host_mmu.h). Translated code reaches a
  // flat segment's byte at linear L as [host_base[cpl == 3] + L]. Always a live reservation.
  uint64_t host_base[2];

  SoftTlb tlb;
  JumpCacheEntry jcache[kJumpCacheSize];

  // Control-flow prediction (dbt/emit_predict.cpp). flow_gen is the generation (bits 32..63) of
  // the mode translated code runs in: each mode the dispatcher enters gets one, and every mode
  // a new one at each jump-cache flush (CR3 change, INVLPG, blocks freed or invalidated), so
  // jump-cache and inline-cache entries and pending host CALLs of another mode or epoch never
  // match. flow_gen_next: the next generation to hand out (Dbt). flow_gen_neg = -flow_gen,
  // written with it (Dbt::Impl::setGeneration): a CALL's landing subtracts it without flags.
  uint64_t flow_gen, flow_gen_next, flow_gen_neg;
  // Translated code runs on a stack of its own (dbt/call_stack.h). host_rsp: the thread's RSP,
  // saved by `enter`, restored by the epilogue. call_rsp: translated code's RSP between runs
  // (the epilogue saves it, `enter` resumes there), so CALLs made before an exit to the
  // dispatcher still predict their RETs; callStackBase() when nothing is pending.
  uint64_t host_rsp, call_rsp;
};

// Real-address mode: CR0.PE clear.
inline bool inRealMode(const CpuState& c) { return !(c.cr0 & 1); }
// Virtual-8086 mode: EFLAGS.VM set (only in protected mode; CPL is then 3). emu/cpu/v86.h.
inline bool inV86Mode(const CpuState& c) { return (c.eflags & flag::VM) && (c.cr0 & 1); }
// Segment registers hold selector << 4 as their base, with no descriptor: real or v8086 mode.
inline bool realStyleSegments(const CpuState& c) { return inRealMode(c) || inV86Mode(c); }

}  // namespace btvm
