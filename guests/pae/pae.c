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
#include "../exceptions/expect.h"
#include "../paging/pg.h"
#include "pae.h"

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

/* Two PDPTs in one page: CR3 bits 11:5 select which. */
static struct { volatile uint64_t a[4], b[4], bad[4]; } pdpts __attribute__((aligned(PAGE)));
static ptable64 pd0, pt0, pd1, pd1b, pt_t, pt_2, pt_b, pt_m, pd_c1, pd_c2;
static uint32_t frame[4][1024] __attribute__((aligned(PAGE)));
#define MARK(i) (0xAE5A0000u + (i)) /* first word of frame i */
#define FR(i) ((uint64_t)(uint32_t)frame[i])
#define CR3_A ((uint32_t)&pdpts.a)
#define CR3_B ((uint32_t)&pdpts.b)

static uint8_t ustack[4096] __attribute__((aligned(16)));
#define USTACK_TOP ((uint32_t)ustack + sizeof ustack)

/* ---------------------------------------------------------------- catching faults */

static volatile uint32_t last_cr2;
static void cr2_hook(struct trap_frame *f) { (void)f; last_cr2 = read_cr2(); }
static void arm(void) {
    trap_arm();
    trap_hook = cr2_hook;
    last_cr2 = 0xBADBAD;
}

volatile uint32_t u_va;
static uint32_t do_read(void) {
    uint32_t v = 0xEEEEEEEE;
    __asm__ volatile(TRY("movl (%1), %0") : "+r"(v) : "r"(u_va) : "memory");
    return v;
}
static uint32_t do_write(void) {
    __asm__ volatile(TRY("movl %1, (%0)") ::"r"(u_va), "r"(0x5EED0000 | (u_va >> 12)) : "memory");
    return 0;
}
static uint32_t probe(int ring, uint32_t va, int write) {
    u_va = va;
    arm();
    if (ring == 3)
        return ring3_run(write ? (void *)do_write : (void *)do_read, USTACK_TOP, USER_EFLAGS);
    return write ? do_write() : do_read();
}

/* One fault of this vector and error code at the instruction under test. The saved CS and
 * EFLAGS are the exceptions guest's business: they are not checked here, so that this guest
 * also passes where the kernel runs deprivileged (btvm --mode trap), in which MOV r,CS and
 * PUSHF, both sensitive, show the VMM's real state instead of the guest's. */
static void expect_trap_at(const char *name, uint32_t vector, uint32_t err) {
    expect_eq(cat(name, "one trap"), trap_count, 1);
    expect_eq(cat(name, "vector"), trap_log[0].vector, vector);
    expect_eq(cat(name, "error code"), trap_log[0].error_code, err);
    expect_eq(cat(name, "saved eip"), trap_log[0].eip, trap_insn);
}

/* Ring-3 probes need a real ring 3 below the kernel. Deprivileged (MOV r,CS shows RPL 3 in our
 * ring 0, as under a trap-and-emulate VMM), they are skipped, each with a SKIP line. */
static int deprivileged;

static void fault(const char *name, int ring, uint32_t va, int write, uint32_t err) {
    if (ring == 3 && deprivileged) {
        printf_s("SKIP %s (deprivileged kernel: no ring-3 probes)\n", name);
        return;
    }
    probe(ring, va, write);
    expect_trap_at(name, 14, err);
    if (ring == 3)
        expect_eq(cat(name, "saved cs"), trap_log[0].cs, USER_CS);
    expect_eq(cat(name, "cr2"), last_cr2, va);
}
static void no_fault(const char *name, int ring, uint32_t va, int write) {
    if (ring == 3 && deprivileged) {
        printf_s("SKIP %s (deprivileged kernel: no ring-3 probes)\n", name);
        return;
    }
    probe(ring, va, write);
    expect_none(name);
}
/* A reserved-bit fault: SDM 4.7, RSVD is reported with P = 1. */
static void rsvd_fault(const char *name, int ring, uint32_t va, int write) {
    const char *old = qemu_gap("QEMU 7.2 TCG reports a reserved-bit #PF with P = 0");
    fault(name, ring, va, write, PF_P | PF_RSVD | (write ? PF_W : 0) | (ring == 3 ? PF_U : 0));
    qemu_gap(old);
}

static uint32_t cpuid1_edx(void) {
    uint32_t a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1));
    return d;
}

static void set_wp(int on) { write_cr0(on ? read_cr0() | CR0_WP : read_cr0() & ~CR0_WP); }

/* MOV to a control register that may raise #GP(0): returns the trap count. */
static uint32_t try_write_cr(int n, uint32_t v) {
    arm();
    if (n == 0)
        __asm__ volatile(TRY("movl %0, %%cr0") ::"r"(v) : "memory");
    else if (n == 3)
        __asm__ volatile(TRY("movl %0, %%cr3") ::"r"(v) : "memory");
    else
        __asm__ volatile(TRY("movl %0, %%cr4") ::"r"(v) : "memory");
    return trap_count;
}

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

/* ---------------------------------------------------------------- faults */

static void t_not_present(void) {
    pt_t.e[4] = FR(3) | PG_W | PG_U; /* P = 0 */
    fault("not-present PTE read", 0, SLOT(4) + 0x10, 0, 0);
    fault("not-present PTE write", 0, SLOT(4) + 0x14, 1, PF_W);
    pt_t.e[4] = (0xFFFull << 40) | FR(3) | PG_W | PG_U; /* reserved bits, but not present */
    fault("not-present PTE with reserved bits: P = 0, no RSVD", 0, SLOT(4), 0, 0);
    fault("not-present PTE, user write", 3, SLOT(4), 1, PF_W | PF_U);
    pd1.e[7] = 0;
    fault("not-present PDE", 0, TVA + 7 * 2 * MIB + 0x20, 0, 0);
    fault("not-present PDPTE", 0, PDPTE2_VA + 0x1230, 1, PF_W);
    fault("not-present PDPTE, user", 3, PDPTE2_VA, 0, PF_U);
}

static void t_rights(void) {
    pt_t.e[5] = FR(3) | PG_P | PG_U; /* read-only */
    set_wp(1);
    no_fault("read-only PTE: read", 0, SLOT(5), 0);
    fault("WP=1: supervisor write to a read-only PTE", 0, SLOT(5) + 0x20, 1, PF_P | PF_W);
    check("read-only: the faulting write left D clear", !(pt_t.e[5] & PG_D));
    set_wp(0);
    no_fault("WP=0: supervisor write to a read-only PTE", 0, SLOT(5) + 0x20, 1);
    check_eq("WP=0: the write landed", frame[3][8], 0x5EED0000 | (SLOT(5) >> 12));
    fault("WP=0: user write to a read-only PTE", 3, SLOT(5) + 0x24, 1, PF_P | PF_W | PF_U);
    set_wp(1);
    pt_t.e[6] = FR(0) | PG_P | PG_W; /* supervisor */
    fault("user read of a supervisor PTE", 3, SLOT(6) + 0x44, 0, PF_P | PF_U);
    fault("user write to a supervisor PTE", 3, SLOT(6) + 0x48, 1, PF_P | PF_W | PF_U);
    no_fault("user write to a user page", 3, SLOT(1) + 0x30, 1);

    pt_2.e[0] = FR(2) | UW;
    pd1.e[3] = (uint32_t)&pt_2 | PG_P | PG_U; /* read-only PDE over a writable PTE */
    pd1.e[4] = (uint32_t)&pt_2 | PG_P | PG_W; /* supervisor PDE over a user PTE */
    no_fault("read-only PDE: read", 3, PDE_RO_VA, 0);
    fault("WP=1: supervisor write under a read-only PDE", 0, PDE_RO_VA + 0x40, 1, PF_P | PF_W);
    fault("user write under a read-only PDE", 3, PDE_RO_VA + 0x44, 1, PF_P | PF_W | PF_U);
    fault("user read under a supervisor PDE", 3, PDE_SUP_VA + 4, 0, PF_P | PF_U);
    no_fault("supervisor write under a supervisor PDE", 0, PDE_SUP_VA + 8, 1);
}

/* Every U/S and R/W of the PDE and the PTE, for reads and writes at CPL 0 and 3, WP 0 and 1
 * (SDM 4.6: rights combine over both levels; supervisor writes ignore R/W when WP = 0). */
static void t_rights_matrix(void) {
    static const char *const rw_name[] = {"read", "write"};
    uint32_t bad = 0, n = 0;
    if (deprivileged)
        printf_s("SKIP rights matrix at CPL 3 (deprivileged kernel: no ring-3 probes)\n");
    pt_m.e[0] = FR(3) | UW;
    for (uint32_t m = 0; m < 64; m++) {
        uint32_t pde_us = m & 1, pde_rw = (m >> 1) & 1, pte_us = (m >> 2) & 1;
        uint32_t pte_rw = (m >> 3) & 1, wp = (m >> 4) & 1, ring = (m >> 5) & 1 ? 3 : 0;
        if (ring == 3 && deprivileged)
            continue;
        pd1.e[8] = (uint32_t)&pt_m | PG_P | (pde_us ? PG_U : 0) | (pde_rw ? PG_W : 0);
        pt_m.e[0] = FR(3) | PG_P | (pte_us ? PG_U : 0) | (pte_rw ? PG_W : 0);
        invlpg(MATRIX_VA);
        set_wp(wp);
        for (int write = 0; write < 2; write++) {
            uint32_t us = pde_us && pte_us, rw = pde_rw && pte_rw;
            int ok = ring == 3 ? us && (!write || rw) : !write || !wp || rw;
            uint32_t va = MATRIX_VA + 0x100 + 4 * m;
            probe(ring, va, write);
            uint32_t want_err = PF_P | (write ? PF_W : 0) | (ring == 3 ? PF_U : 0);
            int good = ok ? trap_count == 0
                          : trap_count == 1 && trap_log[0].vector == 14 &&
                                trap_log[0].error_code == want_err && last_cr2 == va;
            if (ok && write)
                good = good && frame[3][(0x100 + 4 * m) / 4] == (0x5EED0000 | (va >> 12));
            n++;
            if (!good) {
                bad++;
                printf_s("FAIL rights: PDE U/S=%u R/W=%u, PTE U/S=%u R/W=%u, WP=%u, CPL %u %s: "
                         "%s, %u traps, error %x\n", pde_us, pde_rw, pte_us, pte_rw, wp, ring,
                         rw_name[write], ok ? "should pass" : "should fault", trap_count,
                         trap_log[0].error_code);
            }
        }
    }
    set_wp(1);
    check_eq("rights matrix: every combination as the SDM says (failures above)", bad, 0);
    printf_s("note: rights matrix: %u accesses\n", n);
    pd1.e[8] = 0;
    invlpg(MATRIX_VA);
}

static void t_reserved(void) {
    /* SDM 4.4.2 and tables 4-8 to 4-11; 6.15: RSVD is reported with P = 1. */
    pt_t.e[7] = (1ull << 36) | FR(0) | UW;
    rsvd_fault("PTE bit 36 (above MAXPHYADDR)", 0, SLOT(7), 0);
    rsvd_fault("PTE bit 36, user write", 3, SLOT(7) + 4, 1);
    pt_t.e[7] = (1ull << 63) | FR(0) | UW;
    rsvd_fault("PTE bit 63 (no XD on a P6)", 0, SLOT(7) + 8, 1);
    pt_t.e[7] = (1ull << 51) | FR(0) | PG_P | PG_W; /* supervisor: RSVD comes before U/S */
    rsvd_fault("PTE bit 51, user read of a supervisor page", 3, SLOT(7) + 12, 0);
    pt_t.e[7] = FR(0) | UW;
    invlpg(SLOT(7));
    no_fault("PTE fixed: no fault", 0, SLOT(7), 0);

    pt_2.e[1] = FR(1) | UW;
    pd1.e[5] = (1ull << 40) | (uint32_t)&pt_2 | UW;
    rsvd_fault("PDE bit 40", 0, PDE_BAD_VA + 0x1000, 0);
    rsvd_fault("PDE bit 40, user write", 3, PDE_BAD_VA + 0x1004, 1);

    pd1.e[2] = (uint64_t)(4 * MIB) | (1u << 13) | PG_PS | UW;
    rsvd_fault("2M PDE bit 13", 0, RSVD_VA + 0x100, 0);
    pd1.e[2] = (uint64_t)(4 * MIB) | (1u << 20) | PG_PS | UW;
    invlpg(RSVD_VA);
    rsvd_fault("2M PDE bit 20, user write", 3, RSVD_VA + 0x104, 1);
    pd1.e[2] = (uint64_t)(4 * MIB) | (1ull << 62) | PG_PS | UW;
    invlpg(RSVD_VA);
    rsvd_fault("2M PDE bit 62", 0, RSVD_VA + 0x108, 0);

    /* The PAT bits are reserved when CPUID says there is no PAT, as on a Pentium II (SDM tables
     * 4-9 and 4-11). QEMU's pentium2 model offers PAT. */
    pd1.e[2] = (uint64_t)(4 * MIB) | (1u << 12) | PG_PS | UW;
    invlpg(RSVD_VA);
    pt_t.e[7] = FR(0) | UW | 0x80;
    invlpg(SLOT(7));
    if (cpuid1_edx() & (1u << 16)) {
        printf_s("note: CPUID offers PAT: the PAT bits are not reserved\n");
        no_fault("2M PDE bit 12 (PAT)", 0, RSVD_VA + 0x10C, 0);
        no_fault("PTE bit 7 (PAT)", 0, SLOT(7) + 16, 0);
    } else {
        rsvd_fault("2M PDE bit 12 (PAT, not supported)", 0, RSVD_VA + 0x10C, 0);
        rsvd_fault("PTE bit 7 (PAT, not supported)", 0, SLOT(7) + 16, 0);
    }
    pt_t.e[7] = FR(0) | UW;
    invlpg(SLOT(7));
    pd1.e[2] = 0;
    invlpg(RSVD_VA);
}

/* ---------------------------------------------------------------- TLB maintenance */

static void t_invlpg(void) {
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
static void t_spaces_and_global(void) {
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

/* ---------------------------------------------------------------- PDPTE registers */

static void t_pdpte_gp(void) {
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

static void t_pdpte_cached(void) {
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
    t_spaces_and_global();
    t_pdpte_gp();
    t_pdpte_cached();
    t_pg_toggle();
    expect_finish("pae");
}
