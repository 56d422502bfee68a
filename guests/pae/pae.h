/* The pae guest's shared parts: PAE structures (Intel SDM vol. 3A 4.4), the test layout, the
 * tables, and the probes that catch faults. pae.c sets up and runs the tests; faults.c, tlb.c
 * and pdpte.c hold them by topic. */
#pragma once
#include <stdint.h>

#include "../exceptions/expect.h"
#include "../paging/pg.h"

#define PG_PWT 0x008u
#define PG_PCD 0x010u
#define CR4_PAE 0x20u

/* 512 64-bit entries per page directory or page table. Volatile: the compiler must not move or
 * merge entry writes around the accesses that depend on them. A 64-bit store compiles to two
 * 32-bit stores; tests that care say which half. */
typedef struct { volatile uint64_t e[512]; } __attribute__((aligned(4096))) ptable64;

/* Virtual layout. PDPTE 0: the low 8 MiB identity (kernel, stack, tables): 4 KiB pages for
 * 0..2 MiB, 2 MiB pages above. PDPTE 1: the test area. PDPTE 2: unused (not present).
 * PDPTE 3: the PDPT-caching test. */
#define TVA 0x40000000u       /* PDE 0 of pd1: pt_t, one 4 KiB test page per slot */
#define BIG_VA 0x40200000u    /* PDE 1: 2 MiB page -> physical 4 MiB */
#define RSVD_VA 0x40400000u   /* PDE 2: 2 MiB page with a reserved bit (varies) */
#define PDE_RO_VA 0x40600000u /* PDE 3: read-only PDE -> pt_2 */
#define PDE_SUP_VA 0x40800000u /* PDE 4: supervisor PDE -> pt_2 */
#define PDE_BAD_VA 0x40A00000u /* PDE 5: PDE with a reserved bit -> pt_2 */
#define SPACE_VA 0x40C00000u  /* PDE 6: differs between the two address spaces */
#define MATRIX_VA 0x41000000u /* PDE 8: pt_m, rights of both levels varied */
#define PDPTE2_VA 0x80000000u
#define CACHE_VA 0xC0000000u
#define SLOT(n) (TVA + (n) * PAGE)
#define UW (PG_P | PG_W | PG_U)

/* Two PDPTs (and a broken copy) in one page: CR3 bits 11:5 select which. */
struct pdpts { volatile uint64_t a[4], b[4], bad[4]; };
extern struct pdpts pdpts;
extern ptable64 pd0, pt0, pd1, pd1b, pt_t, pt_2, pt_b, pt_m, pd_c1, pd_c2;
extern uint32_t frame[4][1024];
#define MARK(i) (0xAE5A0000u + (i)) /* first word of frame i */
#define FR(i) ((uint64_t)(uint32_t)frame[i])
#define CR3_A ((uint32_t)&pdpts.a)
#define CR3_B ((uint32_t)&pdpts.b)

/* probe.c */
extern int deprivileged;  /* the kernel runs deprivileged: ring-3 probes are skipped */
extern volatile uint32_t last_cr2;
uint32_t probe(int ring, uint32_t va, int write); /* one access at CPL 0 or 3 */
void expect_trap_at(const char *name, uint32_t vector, uint32_t err);
void fault(const char *name, int ring, uint32_t va, int write, uint32_t err);
void no_fault(const char *name, int ring, uint32_t va, int write);
void rsvd_fault(const char *name, int ring, uint32_t va, int write);
uint32_t cpuid1_edx(void);
void set_wp(int on);
uint32_t try_write_cr(int n, uint32_t v); /* MOV to CR0/3/4 that may #GP: the trap count */

/* The tests. */
void t_not_present(void);
void t_rights(void);
void t_rights_matrix(void);
void t_reserved(void);
void t_invlpg(void);
void t_spaces_and_global(void);
void t_pdpte_gp(void);
void t_pdpte_cached(void);
void t_rewrite(void);
