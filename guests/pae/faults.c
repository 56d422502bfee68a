/* Faults: not present, rights (and every combination of them), reserved bits. */
#include "pae.h"

void t_not_present(void) {
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

void t_rights(void) {
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
void t_rights_matrix(void) {
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

void t_reserved(void) {
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
