/* ptupdate: a kernel editing its live page tables, each effect checked right after the
 * invalidation the Intel SDM requires (vol. 3A 4.10.4: INVLPG or a CR3 load; none for an entry
 * that was not present, since only present entries are cached (4.10.2.3, 4.10.3.1); and a #PF
 * invalidates the TLB entries for the faulting address (4.10.4.1)). Remap, unmap, read-only and
 * back, a PDE pointed at another page table, and edits through the recursive mapping (PDE 1023
 * points at the directory itself), including an edit of the entry that maps a page table.
 * Then rewrites of a live PTE (the same value, ignored bits, A or D cleared, RW -> RO, present
 * -> not present), one PTE changed over and over, PTEs written by REP MOVSD / REP STOSD, and
 * demand paging (the #PF handler writes the PTE and the access re-runs). */
#include "../exceptions/expect.h"
#include "../paging/pg.h"

#define V 0x00800000u         /* PDE 2: the test region */
#define W 0x00C00000u         /* PDE 3: not present until made through the recursive map */
#define REC 1023u
#define PT_WIN(pdi) ((volatile uint32_t *)(0xFFC00000u + (pdi) * PAGE)) /* page table pdi */
#define PD_WIN ((volatile uint32_t *)0xFFFFF000u)                       /* the directory */
#define RW (PG_P | PG_W)

static ptable pd, pt0, pt_a, pt_b, pt_c;
static uint32_t frame[6][1024] __attribute__((aligned(PAGE)));
#define MARK(i) (0xFA0E0000u + (i))
#define FR(i) ((uint32_t)frame[i])

/* ---------------------------------------------------------------- faults */

static volatile uint32_t last_cr2;
static void cr2_hook(struct trap_frame *f) { (void)f; last_cr2 = read_cr2(); }

static uint32_t try_access(uint32_t va, int write, uint32_t value) {
    uint32_t v = 0xEEEEEEEE;
    trap_arm();
    trap_hook = cr2_hook;
    last_cr2 = 0xBADBAD;
    if (write)
        __asm__ volatile(TRY("movl %1, (%0)") ::"r"(va), "r"(value) : "memory");
    else
        __asm__ volatile(TRY("movl (%1), %0") : "+r"(v) : "r"(va) : "memory");
    return v;
}

static void fault(const char *name, uint32_t va, int write, uint32_t err) {
    try_access(va, write, 0xBAD);
    expect_fault(name, 14, err);
    expect_eq(cat(name, "cr2"), last_cr2, va);
}

static void reads(const char *name, uint32_t va, uint32_t want) {
    check_eq(name, try_access(va, 0, 0), want);
    expect_none(name);
}

static void writes(const char *name, uint32_t va, uint32_t value) {
    try_access(va, 1, value);
    expect_none(name);
}

/* ---------------------------------------------------------------- tests */

static void t_remap(void) {
    pt_a.e[0] = FR(0) | RW;
    reads("remap: first frame", V, MARK(0));
    pt_a.e[0] = FR(1) | RW;
    invlpg(V);
    reads("remap: INVLPG, second frame", V, MARK(1));
    writes("remap: write", V + 4, 0x12340001);
    check_eq("remap: write reached the second frame", frame[1][1], 0x12340001);
    check_eq("remap: first frame untouched", frame[0][1], 0);
}

static void t_unmap(void) {
    pt_a.e[0] = FR(1) | PG_W; /* P = 0 */
    invlpg(V);
    fault("unmap: read", V + 8, 0, 0);
    fault("unmap: write", V + 8, 1, PF_W);
    pt_a.e[0] = FR(1) | RW; /* not-present entries are never cached: no INVLPG */
    reads("unmap: mapped again without INVLPG", V, MARK(1));
}

static void t_protection(void) {
    write_cr0(read_cr0() | CR0_WP);
    pt_a.e[0] = FR(1) | PG_P;
    invlpg(V);
    fault("read-only: write", V + 12, 1, PF_P | PF_W);
    reads("read-only: read", V, MARK(1));
    pt_a.e[0] = FR(1) | RW;
    invlpg(V);
    writes("read-write again: write", V + 12, 0x12340003);
    check_eq("read-write again: landed", frame[1][3], 0x12340003);
    /* The #PF of a write to a read-only page drops that page's translations: making it
     * writable needs no INVLPG afterwards. */
    pt_a.e[0] = FR(1) | PG_P;
    invlpg(V);
    fault("read-only once more: write", V + 16, 1, PF_P | PF_W);
    pt_a.e[0] = FR(1) | RW;
    writes("writable after the #PF, no INVLPG", V + 16, 0x12340004);
    check_eq("writable after the #PF: landed", frame[1][4], 0x12340004);
}

static void t_pde_switch(void) {
    pt_a.e[1] = FR(2) | RW;
    pt_b.e[1] = FR(3) | RW;
    pt_b.e[5] = FR(4) | RW;
    reads("PDE: through page table A", V + PAGE, MARK(2));
    pd.e[PDX(V)] = (uint32_t)&pt_b | RW;
    invlpg(V + PAGE); /* also drops every cached PDE (paging-structure caches) */
    reads("PDE -> page table B, INVLPG", V + PAGE, MARK(3));
    reads("PDE -> page table B, never-used page", V + 5 * PAGE, MARK(4));
    pd.e[PDX(V)] = (uint32_t)&pt_a | RW;
    reload_cr3();
    reads("PDE -> page table A again, CR3 reload", V + PAGE, MARK(2));
    reads("PDE -> page table A again, page 0", V, MARK(1));
}

static void t_recursive(void) {
    pd.e[REC] = (uint32_t)&pd | RW;
    check_eq("recursive: directory seen through itself", PD_WIN[PDX(V)], pd.e[PDX(V)]);
    check_eq("recursive: PDE 1023 through itself", PD_WIN[REC] & PG_FRAME, (uint32_t)&pd);
    check_eq("recursive: page table A through the window", PT_WIN(PDX(V))[1], pt_a.e[1]);
    /* Edit a PTE through the window. */
    PT_WIN(PDX(V))[0] = FR(4) | RW;
    check_eq("recursive: window write reached page table A", pt_a.e[0], FR(4) | RW);
    check("recursive: window write set D in the PDE (it maps the window page)",
          pd.e[PDX(V)] & PG_D);
    invlpg(V);
    reads("recursive: PTE edited through the window, INVLPG", V, MARK(4));
    /* Add a page table through the directory's window, then a PTE through the new window
     * page: nothing under PDE 3 was present before, so no INVLPG is needed for either. */
    PD_WIN[PDX(W)] = (uint32_t)&pt_c | RW;
    check_eq("recursive: new PDE written through the window", pd.e[PDX(W)], (uint32_t)&pt_c | RW);
    PT_WIN(PDX(W))[7] = FR(5) | RW;
    check_eq("recursive: new PTE reached page table C", pt_c.e[7], FR(5) | RW);
    reads("recursive: new mapping, never used before", W + 7 * PAGE, MARK(5));
    PT_WIN(PDX(W))[7] = 0;
    invlpg(W + 7 * PAGE);
    fault("recursive: unmapped through the window", W + 7 * PAGE, 0, 0);
    /* PDE 2 is also the PTE that maps page table A's window page: point it at B. The window
     * page and V + PAGE were used through A, so both need an INVLPG. */
    PD_WIN[PDX(V)] = (uint32_t)&pt_b | RW;
    invlpg((uint32_t)PT_WIN(PDX(V)));
    invlpg(V + PAGE);
    check_eq("recursive: window now shows page table B", PT_WIN(PDX(V))[5], pt_b.e[5]);
    reads("recursive: region now through page table B", V + PAGE, MARK(3));
}

static void t_never_accessed(void) {
    pd.e[PDX(V)] = (uint32_t)&pt_a | RW;
    reload_cr3();
    pt_a.e[20] = FR(5) | RW; /* V + 20 pages was never mapped nor touched */
    reads("never-accessed page: new PTE, no INVLPG", V + 20 * PAGE, MARK(5));
    pt_a.e[21] = FR(0) | RW;
    writes("never-accessed page: write, no INVLPG", V + 21 * PAGE + 8, 0x12340021);
    check_eq("never-accessed page: write landed", frame[0][2], 0x12340021);
}

/* A/D and rights kept exact across rewrites of a live PTE (a VMM may keep a mapping when the
 * translation is unchanged, and must drop or change it when it is not). */
static void t_rewrite(void) {
    volatile uint32_t *pte = &pt_a.e[40];
    uint32_t va = V + 40 * PAGE;
    *pte = FR(0) | RW | PG_A | PG_D;
    invlpg(va);
    writes("rewrite: write through a dirty PTE", va + 32, 0x12340040);
    for (int i = 0; i < 6; i++)
        *pte = FR(0) | RW | PG_A | PG_D; /* the same value, again and again */
    reads("rewrite: same value, read", va + 32, 0x12340040);
    writes("rewrite: same value, write", va + 36, 0x12340041);
    check_eq("rewrite: same value, write landed", frame[0][9], 0x12340041);
    *pte = FR(0) | RW | PG_A | PG_D | 0xE00u | PG_G; /* ignored bits only (CR4.PGE is off) */
    reads("rewrite: ignored bits, read", va + 36, 0x12340041);
    /* D cleared, INVLPG: the next write sets it again (SDM 4.8). */
    *pte = FR(0) | RW | PG_A;
    invlpg(va);
    reads("rewrite: D cleared, read", va + 32, 0x12340040);
    check("rewrite: D cleared, a read leaves it clear", !(*pte & PG_D));
    writes("rewrite: D cleared, write", va + 40, 0x12340042);
    check("rewrite: D cleared, the write set it again", *pte & PG_D);
    /* A cleared, INVLPG: the next read sets it again. */
    *pte = FR(0) | RW | PG_D;
    invlpg(va);
    reads("rewrite: A cleared, read", va + 40, 0x12340042);
    check("rewrite: A cleared, the read set it again", *pte & PG_A);
    /* A page written through (mapped writable) made read-only: the next write faults at once
     * after the INVLPG, and reads still see what was written. */
    *pte = FR(0) | PG_P | PG_A | PG_D;
    invlpg(va);
    fault("rewrite: RW -> RO, write", va + 44, 1, PF_P | PF_W);
    reads("rewrite: RW -> RO, read", va + 40, 0x12340042);
    check_eq("rewrite: RW -> RO, nothing written", frame[0][11], 0);
    /* Present -> not present: the next read faults. */
    *pte = FR(0) | PG_W | PG_A | PG_D;
    invlpg(va);
    fault("rewrite: present -> not present, read", va + 40, 0, 0);
}

/* One page's PTE changed many times over (a VMM may stop mapping a page whose translation keeps
 * changing): every change is seen at once after its INVLPG. */
static void t_churn(void) {
    volatile uint32_t *pte = &pt_a.e[41];
    uint32_t va = V + 41 * PAGE;
    int bad_flip = 0, bad_ro = 0, bad_np = 0;
    for (uint32_t i = 0; i < 24; i++) {
        uint32_t f = 2 + (i & 1);
        *pte = FR(f) | RW | PG_A | PG_D;
        invlpg(va);
        if (try_access(va, 0, 0) != MARK(f) || trap_count)
            bad_flip++;
        try_access(va + 64, 1, 0x12350000u + i);
        if (trap_count || frame[f][16] != 0x12350000u + i)
            bad_flip++;
        *pte = FR(f) | PG_P | PG_A | PG_D;
        invlpg(va);
        try_access(va + 68, 1, 0xBAD);
        if (trap_count != 1 || trap_log[0].error_code != (PF_P | PF_W) || frame[f][17] == 0xBAD)
            bad_ro++;
        *pte = 0;
        invlpg(va);
        try_access(va, 0, 0);
        if (trap_count != 1 || trap_log[0].error_code != 0 || last_cr2 != va)
            bad_np++;
    }
    check_eq("churn: frame flips seen at once (24 rounds)", bad_flip, 0);
    check_eq("churn: RO after RW faults the write (24 rounds)", bad_ro, 0);
    check_eq("churn: not present faults the read (24 rounds)", bad_np, 0);
}

/* PTEs written by string instructions: REP MOVSD copies four entries in, REP STOSD clears them. */
static void t_string(void) {
    static uint32_t entries[4];
    uint32_t va = V + 48 * PAGE;
    for (uint32_t i = 0; i < 4; i++)
        entries[i] = FR(i) | RW | PG_A;
    uint32_t d = (uint32_t)&pt_a.e[48], s = (uint32_t)entries, n = 4;
    __asm__ volatile("cld\n\trep movsl" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
    int bad = 0;
    for (uint32_t i = 0; i < 4; i++)
        if (try_access(va + i * PAGE, 0, 0) != MARK(i) || trap_count)
            bad++;
    check_eq("string: four PTEs by REP MOVSD, read through", bad, 0);
    d = (uint32_t)&pt_a.e[48], n = 4;
    __asm__ volatile("cld\n\trep stosl" : "+D"(d), "+c"(n) : "a"(0) : "memory");
    for (uint32_t i = 0; i < 4; i++)
        invlpg(va + i * PAGE);
    bad = 0;
    for (uint32_t i = 0; i < 4; i++) {
        try_access(va + i * PAGE, 0, 0);
        if (trap_count != 1 || trap_log[0].error_code != 0 || last_cr2 != va + i * PAGE)
            bad++;
    }
    check_eq("string: four PTEs cleared by REP STOSD, reads fault", bad, 0);
}

/* Demand paging: the #PF handler writes the PTE and returns to the faulting access, which runs
 * again and must see the new page (with A, and D for a write, set by that access). */
static volatile uint32_t *demand_pte;
static volatile uint32_t demand_value;
static void demand_hook(struct trap_frame *f) {
    (void)f;
    last_cr2 = read_cr2();
    *demand_pte = demand_value;
}

static void t_demand(void) {
    uint32_t va = V + 60 * PAGE;
    int bad_read = 0, bad_ad = 0, bad_write = 0;
    demand_pte = &pt_a.e[60];
    for (uint32_t i = 0; i < 24; i++) {
        uint32_t f = 4 + (i & 1);
        uint32_t a = (i & 2) ? PG_A : 0; /* A preset or left to the access */
        *demand_pte = 0;
        invlpg(va);
        trap_arm();
        trap_hook = demand_hook;
        demand_value = FR(f) | RW | a;
        uint32_t v;
        __asm__ volatile("movl (%1), %0" : "=r"(v) : "r"(va) : "memory");
        if (v != MARK(f) || trap_count != 1 || last_cr2 != va)
            bad_read++;
        if (!(*demand_pte & PG_A) || (*demand_pte & PG_D))
            bad_ad++;
        *demand_pte = 0;
        invlpg(va);
        trap_arm();
        trap_hook = demand_hook;
        demand_value = FR(f) | RW | a | ((i & 4) ? PG_D : 0);
        __asm__ volatile("movl %1, 4(%0)" ::"r"(va), "r"(0x12360000u + i) : "memory");
        if (frame[f][1] != 0x12360000u + i || trap_count != 1)
            bad_write++;
        if ((*demand_pte & (PG_A | PG_D)) != (PG_A | PG_D))
            bad_ad++;
    }
    trap_arm();
    check_eq("demand paging: the read re-runs on the new page (24 rounds)", bad_read, 0);
    check_eq("demand paging: the write re-runs on the new page (24 rounds)", bad_write, 0);
    check_eq("demand paging: A and D as the access set them (24 rounds)", bad_ad, 0);
}

void kmain(uint32_t magic, uint32_t mbi) {
    (void)mbi;
    expect_eq("multiboot magic", magic, MULTIBOOT_LOADER_MAGIC);
    detect_reference();
    gdt_install_flat();
    idt_install();
    trap_catch(14, 14);
    for (int i = 0; i < 6; i++)
        frame[i][0] = MARK(i);
    pg_identity_low(&pd, &pt0, PG_W);
    pd.e[PDX(V)] = (uint32_t)&pt_a | RW;
    paging_on(&pd);

    t_remap();
    t_unmap();
    t_protection();
    t_pde_switch();
    t_recursive();
    t_never_accessed();
    t_rewrite();
    t_churn();
    t_string();
    t_demand();
    expect_finish("ptupdate");
}
