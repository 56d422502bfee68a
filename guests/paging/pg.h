/* Paging and ring-3 helpers shared by the MMU guests (paging, usermode, ctxswitch, ptupdate,
 * overcommit). 32-bit paging as in the Intel SDM vol. 3A ch. 4; #PF as in 6.15.
 *
 * Ring 3: ring3_setup() adds user code/data descriptors (DPL 3) and a TSS to the library's GDT.
 * ring3_run(entry, esp, eflags) IRETs to entry at CPL 3 on the given user stack; when entry
 * returns, its EAX comes back as ring3_run's result (through int 0x81, a DPL-3 gate). A trap
 * handler can end the ring-3 run early with ring3_abort(frame, result). The kernel stack for
 * traps from ring 3 (TSS.ESP0) is the stack ring3_run was called on, just below its frame. */
#pragma once
#include "guest.h"
#include "idt.h"

/* Page-directory and page-table entry bits (SDM tables 4-4 to 4-6). */
#define PG_P 0x001u
#define PG_W 0x002u   /* R/W */
#define PG_U 0x004u   /* U/S */
#define PG_A 0x020u   /* accessed */
#define PG_D 0x040u   /* dirty (PTE, 4 MiB PDE) */
#define PG_PS 0x080u  /* PDE: maps a 4 MiB page (CR4.PSE = 1) */
#define PG_G 0x100u   /* global (CR4.PGE = 1) */
#define PG_FRAME 0xFFFFF000u

/* #PF error code bits (SDM 6.15, figure 6-11). */
#define PF_P 1u    /* 0: not present, 1: protection (or reserved-bit) violation */
#define PF_W 2u    /* the access was a write */
#define PF_U 4u    /* the access was at CPL 3 */
#define PF_RSVD 8u /* a reserved bit was set in a paging-structure entry */

#define CR0_WP 0x00010000u
#define CR0_PG 0x80000000u
#define CR4_PSE 0x10u
#define CR4_PGE 0x80u

#define PAGE 4096u
#define MIB (1024u * 1024u)
#define PDX(va) ((uint32_t)(va) >> 22)
#define PTX(va) (((uint32_t)(va) >> 12) & 0x3FFu)

/* A page directory or page table: 1024 entries in one page. Volatile: the compiler must not
 * move or merge entry writes around the accesses that depend on them. */
typedef struct { volatile uint32_t e[1024]; } __attribute__((aligned(4096))) ptable;

static inline uint32_t read_cr0(void) { uint32_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline uint32_t read_cr2(void) { uint32_t v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline uint32_t read_cr3(void) { uint32_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline uint32_t read_cr4(void) { uint32_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void write_cr0(uint32_t v) { __asm__ volatile("mov %0, %%cr0" ::"r"(v) : "memory"); }
static inline void write_cr3(uint32_t v) { __asm__ volatile("mov %0, %%cr3" ::"r"(v) : "memory"); }
static inline void write_cr4(uint32_t v) { __asm__ volatile("mov %0, %%cr4" ::"r"(v) : "memory"); }
static inline void invlpg(uint32_t va) { __asm__ volatile("invlpg (%0)" ::"r"(va) : "memory"); }
static inline void reload_cr3(void) { write_cr3(read_cr3()); }

static inline uint32_t peek(uint32_t va) { return *(volatile uint32_t *)va; }
static inline void poke(uint32_t va, uint32_t v) { *(volatile uint32_t *)va = v; }

/* pd[0] -> pt, which identity-maps 0..4 MiB (the kernel image, its stack and bss) with 4 KiB
 * pages; PTEs and the PDE get `flags` (P is added). Other PDEs are left alone. */
void pg_identity_low(ptable *pd, ptable *pt, uint32_t flags);
void paging_on(ptable *pd);  /* CR3 = pd, then CR0.PG = 1 */
void paging_off(void);       /* CR0.PG = 0 (the running code must be identity-mapped) */

/* Multiboot v1 information (flags bit 0: memory sizes, bit 2: command line). */
uint32_t mb_mem_top(uint32_t mbi);                   /* end of RAM above 1 MiB, 0 if unknown */
int mb_has_word(uint32_t mbi, const char *word);     /* a space-separated word of the cmdline */

/* Ring 3. Slots 3..5 of the library's GDT. */
#define USER_CS 0x1B  /* code, DPL 3, flat; RPL 3 */
#define USER_DS 0x23  /* data, DPL 3, flat; RPL 3 */
#define TSS_SEL 0x28
#define RING3_FIRST_FREE 6 /* first GDT slot the helpers leave free */
#define VEC_EXIT 0x81
#define USER_EFLAGS 0x202u /* IF = 1 (both PICs masked by ring3_setup), IOPL = 0 */

extern uint32_t tss[26];          /* 32-bit TSS: tss[1] = ESP0, tss[2] = SS0 */
extern uint16_t ring3_sregs[4];   /* DS, ES, FS, GS loaded before the IRET (USER_DS each) */

void ring3_setup(void);
uint32_t ring3_run(void *entry, uint32_t user_esp, uint32_t eflags);
void ring3_abort(struct trap_frame *f, uint32_t result);
