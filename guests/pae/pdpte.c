/* The PDPTE registers: #GP at a load with a reserved bit, and the PDPT cached until a load. */
#include "pae.h"

void t_pdpte_gp(void) {
    /* A copy of PDPT A with a reserved bit in the unused PDPTE 2, so that a CPU that takes it
     * anyway (QEMU) still runs. */
    const char *old = qemu_gap("QEMU 7.2 TCG does not check PDPTEs at MOV to CR0/CR3/CR4");
    static const int bits[] = {1, 2, 5, 6, 7, 8, 36, 63};
    for (unsigned i = 0; i < sizeof bits / sizeof bits[0]; i++) {
        for (int j = 0; j < 4; j++)
            pdpts.bad[j] = pdpts.a[j];
        pdpts.bad[2] = (uint32_t)&pd1 | PG_P | (1ull << bits[i]);
        uint32_t bad = (uint32_t)&pdpts.bad;
        char name[48] = "MOV CR3: PDPTE with reserved bit ";
        name[33] = (char)('0' + bits[i] / 10);
        name[34] = (char)('0' + bits[i] % 10);
        try_write_cr(3, bad);
        expect_trap_at(name, 13, 0);
        expect_eq(cat(name, "CR3 unchanged"), read_cr3(), CR3_A);
        write_cr3(CR3_A);
    }
    pdpts.bad[2] = (uint32_t)&pd1 | (1ull << 5) | (1ull << 40); /* not present: not checked */
    try_write_cr(3, (uint32_t)&pdpts.bad);
    expect_none("MOV CR3: not-present PDPTE with reserved bits");
    expect_eq("MOV CR3: not-present PDPTE: CR3 loaded", read_cr3(), (uint32_t)&pdpts.bad);
    write_cr3(CR3_A);

    /* MOV CR0 setting PG loads the PDPTEs from CR3. */
    pdpts.bad[2] = (uint32_t)&pd1 | PG_P | (1ull << 2);
    uint32_t cr0 = read_cr0();
    write_cr0(cr0 & ~CR0_PG);
    write_cr3((uint32_t)&pdpts.bad); /* paging off: nothing is loaded, nothing checked */
    try_write_cr(0, cr0);
    expect_trap_at("MOV CR0 (PG=1) with a bad PDPTE", 13, 0);
    expect("MOV CR0 (PG=1) with a bad PDPTE: PG still clear", !(read_cr0() & CR0_PG));
    write_cr0(cr0 & ~CR0_PG);
    write_cr3(CR3_A);
    write_cr0(cr0);
    check("PG on again with PDPT A", read_cr0() & CR0_PG);

    /* MOV CR4 changing PGE loads them from CR3 too: PDPT A is broken in memory meanwhile. */
    uint32_t cr4 = read_cr4();
    uint64_t saved = pdpts.a[2];
    pdpts.a[2] = (uint32_t)&pd1 | PG_P | (1ull << 8);
    try_write_cr(4, cr4 ^ CR4_PGE);
    expect_trap_at("MOV CR4 (PGE) with a bad PDPTE in memory", 13, 0);
    expect_eq("MOV CR4 (PGE) with a bad PDPTE: CR4 unchanged", read_cr4(), cr4);
    try_write_cr(4, cr4); /* no PAE/PGE/PSE change: no load, no fault */
    expect_none("MOV CR4 without a PAE/PGE/PSE change: no load");
    pdpts.a[2] = saved;
    write_cr4(cr4);
    write_cr3(CR3_A);
    qemu_gap(old);
}

void t_pdpte_cached(void) {
    pd_c1.e[0] = (uint64_t)(4 * MIB) | PG_PS | UW;
    pd_c2.e[0] = (uint64_t)(6 * MIB) | PG_PS | UW;
    poke(4 * MIB, 0xCAC40001);
    poke(6 * MIB, 0xCAC60002);
    pdpts.a[3] = (uint32_t)&pd_c1 | PG_P;
    write_cr3(CR3_A); /* load PDPTE 3 */
    check_eq("PDPTE 3 -> pd_c1", peek(CACHE_VA), 0xCAC40001);
    pdpts.a[3] = (uint32_t)&pd_c2 | PG_P; /* the PDPT in memory changes ... */
    invlpg(CACHE_VA);                     /* ... and the TLB entry goes: INVLPG loads no PDPTE */
    const char *old = qemu_gap("QEMU 7.2 TCG reads the PDPT at every walk instead of PDPTE registers");
    expect_eq("PDPT write not seen before a load (SDM 4.4.1)", peek(CACHE_VA), 0xCAC40001);
    pdpts.a[2] = (uint32_t)&pd1 | PG_P;
    fault("PDPTE 2 made present in memory: still not present", 0, PDPTE2_VA + 0x200000, 0, 0);
    qemu_gap(old);
    write_cr3(CR3_A);
    check_eq("MOV CR3 loads the new PDPTE 3", peek(CACHE_VA), 0xCAC60002);
    check_eq("MOV CR3 loads the new PDPTE 2", peek(PDPTE2_VA + 0x200000), peek(BIG_VA));
    pdpts.a[3] = (uint32_t)&pd_c1 | PG_P;
    write_cr4(read_cr4() ^ CR4_PGE); /* a PGE change loads them too */
    write_cr4(read_cr4() ^ CR4_PGE);
    check_eq("MOV CR4 (PGE) loads the PDPTEs", peek(CACHE_VA), 0xCAC40001);
    pdpts.a[2] = 0;
    pdpts.a[3] = 0;
    write_cr3(CR3_A);
    fault("PDPTE 3 cleared and loaded: not present", 0, CACHE_VA, 0, 0);
}
