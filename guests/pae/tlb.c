/* TLB maintenance: INVLPG, two address spaces, global pages, entries written in halves. */
#include "pae.h"

void t_invlpg(void) {
    pt_t.e[8] = FR(0) | UW;
    check_eq("invlpg: before", peek(SLOT(8)), MARK(0));
    pt_t.e[8] = FR(1) | UW; /* until the INVLPG either frame may be seen */
    invlpg(SLOT(8));
    check_eq("invlpg: new frame after INVLPG", peek(SLOT(8)), MARK(1));
    pt_t.e[8] = FR(1) | PG_W | PG_U;
    invlpg(SLOT(8));
    fault("invlpg: unmapped after INVLPG", 0, SLOT(8), 0, 0);
    /* Not present entries are never cached: presenting one needs no INVLPG (SDM 4.10.2.3). Linux
     * writes the high half first, then the low half with P. */
    volatile uint32_t *half = (volatile uint32_t *)&pt_t.e[8];
    half[1] = 0;
    half[0] = (uint32_t)FR(2) | UW;
    check_eq("halves: presented high half first, seen at once", peek(SLOT(8)), MARK(2));
    /* Large page -> INVLPG of any address in it drops the whole 2 MiB. */
    poke(5 * MIB, 0x5A5A0005);
    poke(7 * MIB, 0x7A7A0007);
    pd1.e[1] = (uint64_t)(4 * MIB) | PG_PS | UW;
    check_eq("2M invlpg: before", peek(BIG_VA + MIB), 0x5A5A0005);
    pd1.e[1] = (uint64_t)(6 * MIB) | PG_PS | UW;
    invlpg(BIG_VA + 0x1000);
    check_eq("2M invlpg: another 4K of the 2 MiB page", peek(BIG_VA + MIB), 0x7A7A0007);
}

/* Two address spaces sharing pd0 and pt_t; PDE 6 differs (pt_2 in A, pt_b in B). */
void t_spaces_and_global(void) {
    write_cr4(read_cr4() | CR4_PGE);
    check("cr4.PGE set", read_cr4() & CR4_PGE);
    pt_2.e[0] = FR(0) | UW;
    pt_b.e[0] = FR(1) | UW;
    check_eq("space A: PDE 6 -> frame 0", peek(SPACE_VA), MARK(0));
    write_cr3(CR3_B);
    check_eq("cr3 = PDPT B (bits 11:5 set)", read_cr3(), CR3_B);
    check_eq("space B: PDE 6 -> frame 1", peek(SPACE_VA), MARK(1));
    write_cr3(CR3_A);
    check_eq("space A again: frame 0", peek(SPACE_VA), MARK(0));

    /* B's table changes while A runs: MOV CR3 flushes non-global translations, so B must see
     * it. One 32-bit half each: the low half (frame), then the high half (a reserved bit). */
    volatile uint32_t *half = (volatile uint32_t *)&pt_b.e[0];
    half[0] = (uint32_t)FR(3) | UW;
    write_cr3(CR3_B);
    check_eq("space B: low half written from A is seen", peek(SPACE_VA), MARK(3));
    write_cr3(CR3_A);
    half[1] = 1u << 4; /* bit 36 */
    write_cr3(CR3_B);
    rsvd_fault("space B: high half written from A is seen", 0, SPACE_VA, 0);
    half[1] = 0;
    write_cr3(CR3_A);
    volatile uint32_t *pde_half = (volatile uint32_t *)&pd1b.e[6];
    pde_half[1] = 1u << 8; /* bit 40 of B's PDE 6 */
    write_cr3(CR3_B);
    rsvd_fault("space B: PDE high half written from A is seen", 0, SPACE_VA + 4, 0);
    pde_half[1] = 0;
    write_cr3(CR3_A);
    /* One 8-byte store, as Linux's set_64bit does it: LOCK CMPXCHG8B. */
    uint64_t want = pt_b.e[0], next = FR(2) | UW;
    uint32_t lo = (uint32_t)want, hi = (uint32_t)(want >> 32);
    __asm__ volatile("lock cmpxchg8b %0"
                     : "+m"(pt_b.e[0]), "+a"(lo), "+d"(hi)
                     : "b"((uint32_t)next), "c"((uint32_t)(next >> 32))
                     : "memory", "cc");
    check("cmpxchg8b: the PTE was replaced", pt_b.e[0] == next);
    write_cr3(CR3_B);
    check_eq("space B: PTE replaced by CMPXCHG8B from A is seen", peek(SPACE_VA), MARK(2));
    write_cr3(CR3_A);

    /* A global page in both spaces (pt_t is shared). */
    pt_t.e[9] = FR(0) | UW | PG_G;
    pt_t.e[10] = FR(0) | UW;
    check_eq("global: before", peek(SLOT(9)), MARK(0));
    check_eq("non-global: before", peek(SLOT(10)), MARK(0));
    write_cr3(CR3_B);
    check_eq("global: same page in space B", peek(SLOT(9)), MARK(0));
    pt_t.e[9] = FR(2) | UW | PG_G;
    pt_t.e[10] = FR(2) | UW;
    write_cr3(CR3_A);
    check_eq("cr3 switch: non-global change seen", peek(SLOT(10)), MARK(2));
    printf_s("note: global page across a CR3 switch: %s (either is allowed)\n",
             peek(SLOT(9)) == MARK(0) ? "kept" : "dropped");
    pt_t.e[9] = FR(3) | UW | PG_G;
    invlpg(SLOT(9));
    check_eq("global: INVLPG drops it", peek(SLOT(9)), MARK(3));
    pt_t.e[9] = FR(1) | UW | PG_G;
    write_cr4(read_cr4() & ~CR4_PGE);
    check_eq("global: clearing CR4.PGE flushes it", peek(SLOT(9)), MARK(1));
    write_cr4(read_cr4() | CR4_PGE);
}

/* Live PTEs with A and D preset, which a VMM may re-derive in place at the write: frame flips
 * seen after each INVLPG, a reserved bit in the high half, read-only, not present. */
void t_rewrite(void) {
    uint32_t va = SLOT(20);
    int bad = 0;
    for (uint32_t i = 0; i < 12; i++) {
        pt_t.e[20] = FR(i & 1) | UW | PG_A | PG_D;
        invlpg(va);
        if (peek(va) != MARK(i & 1))
            bad++;
    }
    check_eq("rewrite: frame flips with A/D preset (12 rounds)", bad, 0);
    pt_t.e[20] = FR(2) | UW | PG_A | PG_D;
    invlpg(va);
    check_eq("rewrite: another frame", peek(va), MARK(2));
    volatile uint32_t *half = (volatile uint32_t *)&pt_t.e[20];
    half[1] = 1u << 4; /* bit 36: reserved */
    invlpg(va);
    rsvd_fault("rewrite: reserved bit in the high half", 0, va, 0);
    half[1] = 0;
    invlpg(va);
    check_eq("rewrite: high half cleared again", peek(va), MARK(2));
    uint32_t wp = read_cr0() & CR0_WP;
    set_wp(1);
    no_fault("rewrite: writable", 0, va + 8, 1);
    pt_t.e[20] = FR(2) | PG_P | PG_U | PG_A | PG_D;
    invlpg(va);
    fault("rewrite: RW -> RO, write", 0, va + 8, 1, PF_P | PF_W);
    set_wp(wp);
    pt_t.e[20] = FR(2) | PG_W | PG_U | PG_A | PG_D;
    invlpg(va);
    fault("rewrite: present -> not present, read", 0, va, 0, 0);
}
