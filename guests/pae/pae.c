/* pae: PAE paging, checked against the Intel SDM vol. 3A 4.4 (PAE paging), 4.6 (rights), 4.7
 * (#PF error code), 4.8 (A/D) and 4.10 (TLBs), as a P6 does it: 36-bit physical addresses, no
 * execute-disable (bit 63 reserved), no PAT (PTE bit 7 and 2 MiB PDE bit 12 reserved).
 * 4 KiB and 2 MiB pages, A/D bits in 64-bit entries, not-present / rights / reserved-bit faults
 * with their error codes from CPL 0 and 3, CR0.WP, INVLPG, global pages across CR3 switches,
 * CR4.PGE, 64-bit entries written as two 32-bit halves, the #GP of MOV to CR0/CR3/CR4 when a
 * present PDPTE has a reserved bit, and the PDPTE registers: the PDPT is read at those loads
 * only, so a later write to it changes nothing until the next load.
 * Where QEMU 7.2 departs from the SDM or a PC, the check prints as GAP there (and counts
 * everywhere else): its TCG reads the PDPT at every walk (no PDPTE registers, no #GP at the
 * load), reports a reserved-bit #PF with P = 0, and reads unassigned memory as 0. Its pentium2
 * model offers PAT, so the PAT bits are checked as CPUID says. Where a stale translation MAY
 * survive, nothing is checked. Ring-3 probes need a real ring 3 below the kernel; where the
 * kernel runs deprivileged (btvm --mode trap) they print SKIP. */
#include "pae.h"

struct pdpts pdpts __attribute__((aligned(PAGE)));
ptable64 pd0, pt0, pd1, pd1b, pt_t, pt_2, pt_b, pt_m, pd_c1, pd_c2;
uint32_t frame[4][1024] __attribute__((aligned(PAGE)));

/* ---------------------------------------------------------------- setup */

static void build_tables(void) {
    for (uint32_t i = 0; i < 512; i++)
        pt0.e[i] = (uint64_t)(i * PAGE) | UW;
    pd0.e[0] = (uint32_t)&pt0 | UW;
    for (uint32_t i = 1; i < 4; i++)
        pd0.e[i] = (uint64_t)(i * 2 * MIB) | PG_PS | UW;
    pd1.e[0] = (uint32_t)&pt_t | UW; /* A and D clear: nothing under it touched yet */
    for (int i = 0; i < 4; i++) {
        pdpts.a[i] = pdpts.b[i] = 0;
        frame[i][0] = MARK(i);
    }
    pdpts.a[0] = pdpts.b[0] = (uint32_t)&pd0 | PG_P;
    pdpts.a[1] = (uint32_t)&pd1 | PG_P;
    pdpts.b[1] = (uint32_t)&pd1b | PG_P;
    pd1b.e[0] = (uint32_t)&pt_t | UW; /* the test pages are shared, PDE 6 is not */
    pd1b.e[6] = (uint32_t)&pt_b | UW;
    pd1.e[6] = (uint32_t)&pt_2 | UW;
}

static void t_enable(void) {
    uint32_t d = cpuid1_edx();
    printf_s("note: CPUID.1:EDX = %08x: PAE %s, PSE-36 %s, PAT %s\n", d, (d >> 6) & 1 ? "yes" : "no",
             (d >> 17) & 1 ? "yes" : "no", (d >> 16) & 1 ? "yes" : "no");
    write_cr3(CR3_A);
    write_cr4(read_cr4() | CR4_PAE);
    check("cr4.PAE set (paging off)", read_cr4() & CR4_PAE);
    write_cr0(read_cr0() | CR0_PG);
    check("cr0.PG set: PAE paging on", read_cr0() & CR0_PG);
    check_eq("cr3 = PDPT", read_cr3(), CR3_A);
    static volatile uint32_t var = 0x1D3A7171;
    check_eq("identity: data readable", var, 0x1D3A7171);
    var = 0x2D3A7171;
    check_eq("identity: data writable", var, 0x2D3A7171);
    check("identity: PDE 0 accessed", pd0.e[0] & PG_A);
    check("identity: PTE of var accessed and dirty",
          (pt0.e[((uint32_t)&var >> 12) & 511] & (PG_A | PG_D)) == (PG_A | PG_D));
    check("identity: 2 MiB PDE not touched yet", !(pd0.e[3] & PG_A));
}

/* ---------------------------------------------------------------- mappings, A/D */

static void t_4k(void) {
    pt_t.e[0] = FR(0) | UW;
    pt_t.e[1] = FR(1) | UW;
    check_eq("4K: read through a fresh PTE", peek(SLOT(0)), MARK(0));
    check("4K: PDE accessed", pd1.e[0] & PG_A);
    check_eq("4K: PTE accessed, not dirty", (uint32_t)pt_t.e[0] & (PG_A | PG_D), PG_A);
    poke(SLOT(1) + 8, 0xD1D1);
    check_eq("4K: write alone sets A and D", (uint32_t)pt_t.e[1] & (PG_A | PG_D), PG_A | PG_D);
    check_eq("4K: write reached its frame", frame[1][2], 0xD1D1);
    check("4K: PDE D bit (ignored) left alone", !(pd1.e[0] & PG_D));
    /* Bits 35:32 of a frame: physical 4 GiB + frame 2, above RAM (reads all-ones on a PC bus). */
    pt_t.e[2] = (1ull << 32) | FR(2) | UW;
    uint32_t v = peek(SLOT(2));
    check_eq("4K: frame above 4 GiB: high half kept by the A update", (uint32_t)(pt_t.e[2] >> 32), 1);
    check("4K: frame above 4 GiB: accessed", pt_t.e[2] & PG_A);
    check("4K: frame above 4 GiB: not frame 2 below 4 GiB", v != MARK(2));
    poke(SLOT(2) + 4, 0x12345678);
    const char *old = qemu_gap("QEMU 7.2 reads unassigned physical memory as 0");
    expect_eq("4K: frame above RAM reads all-ones, as an unclaimed PC bus", v, 0xFFFFFFFF);
    expect_eq("4K: frame above RAM: a write is dropped", peek(SLOT(2) + 4), 0xFFFFFFFF);
    qemu_gap(old);
    pt_t.e[3] = FR(3) | UW | PG_PWT | PG_PCD | (7u << 9); /* cache bits, ignored bits */
    check_eq("4K: PWT, PCD, bits 11:9 are no reserved bits", peek(SLOT(3)), MARK(3));
}

static void t_2m(void) {
    pd1.e[1] = (uint64_t)(4 * MIB) | PG_PS | UW; /* CR4.PSE is clear: PS needs no PSE in PAE */
    check("2M: CR4.PSE clear", !(read_cr4() & CR4_PSE));
    poke(6 * MIB - 4, 0x2A2A0001); /* through the identity map */
    check_eq("2M: read through the 2 MiB page", peek(BIG_VA + 2 * MIB - 4), 0x2A2A0001);
    check_eq("2M: read sets A, not D", (uint32_t)pd1.e[1] & (PG_A | PG_D), PG_A);
    poke(BIG_VA + 0x12344, 0x2A2A0002);
    check("2M: write sets D", pd1.e[1] & PG_D);
    check_eq("2M: write seen through the identity map", peek(4 * MIB + 0x12344), 0x2A2A0002);
    check("2M: identity 2 MiB PDE accessed", pd0.e[2] & PG_A);
}

static void t_pg_toggle(void) {
    paging_off();
    check("PG off: cr0.PG clear", !(read_cr0() & CR0_PG));
    check("PG off: cr4.PAE still set", read_cr4() & CR4_PAE);
    poke(4 * MIB + 0x10, 0x4B4B0010); /* physical, paging off */
    poke(6 * MIB + 0x10, 0x6B6B0010);
    pd1.e[1] = (uint64_t)(4 * MIB) | PG_PS | UW; /* was 6 MiB: changed while paging is off */
    write_cr0(read_cr0() | CR0_PG);
    check_eq("PG on again: PDE changed while off is seen", peek(BIG_VA + 0x10), 0x4B4B0010);
}

void kmain(uint32_t magic, uint32_t mbi) {
    (void)mbi;
    expect_eq("multiboot magic", magic, MULTIBOOT_LOADER_MAGIC);
    detect_reference();
    gdt_install_flat();
    idt_install();
    ring3_setup();
    trap_catch(13, 14);
    deprivileged = (read_cs() & 3) != 0;
    if (deprivileged)
        printf_s("note: MOV r,CS shows RPL %u in ring 0: running deprivileged\n", read_cs() & 3);
    build_tables();
    t_enable();
    t_4k();
    t_2m();
    t_not_present();
    t_rights();
    t_rights_matrix();
    t_reserved();
    t_invlpg();
    t_rewrite();
    t_spaces_and_global();
    t_pdpte_gp();
    t_pdpte_cached();
    t_pg_toggle();
    expect_finish("pae");
}
