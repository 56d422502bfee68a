/* The x87 pointers when a page fault stops an instruction: FIP, FOP, FDP and FDS keep the last
 * non-control x87 instruction that executed (SDM vol. 1, 8.1.8), since the faulting one did not.
 * The faulting access comes right after an FLD1 with only moves between them, and FNSTSW (which
 * leaves the pointers alone) after it, so that all of it is one run of the translator's native
 * x87 code, whose pointer stores the fault must see. */
#include "x87.h"
#include "../paging/pg.h"

#define BAD 0x00800000u /* PDE 2 not present */

static ptable pd, pt;
static double g_x = 1.5, g_row[3] = {0.5, 2.5, 4.5};

struct env32 {
    uint16_t fcw, r0, fsw, r1, ftw, r2;
    uint32_t fip;
    uint16_t fcs, fop;
    uint32_t fdp;
    uint16_t fds, r3;
};



static void check_env(const char *name, const struct env32 *e, uint32_t fld1_at, uint32_t fdp) {
    expect_eq(cat(name, "one trap"), trap_count, 1);
    expect_eq(cat(name, "#PF"), trap_log[0].vector, 14);
    expect_eq(cat(name, "saved eip"), trap_log[0].eip, trap_insn);
    expect_eq(cat(name, "fip: the fld1"), e->fip, fld1_at);
    const char *old = qemu_gap("QEMU stores no FOP");
    expect_eq(cat(name, "fop: the fld1's"), e->fop & 0x7FF, 0x1E8);
    qemu_gap(old);
    expect_eq(cat(name, "fdp: the fldl before"), e->fdp, fdp);
    expect_eq(cat(name, "fds"), e->fds, read_ds());
    expect_eq(cat(name, "two loaded"), SW_TOP(e->fsw), 6);
}

void t_pointers(void) {
    struct env32 env;
    uint32_t fld1_at;
    uint32_t bad = BAD;
    uint16_t sw;
    /* U: --mode trap runs this kernel deprivileged, where supervisor pages fault (as that mode
     * means to show); the faults checked here are not-present ones in every mode. */
    pg_identity_low(&pd, &pt, PG_W | PG_U);
    paging_on(&pd);
    trap_catch(14, 14);

    fninit();
    trap_arm();
    __asm__ volatile("fldl %[x]\n\tmovl $3f, %[ip]\n3:\tfld1\n\t" TRY_NO_FLAGS("fldl (%[bad])")
                     "fnstsw %[sw]\n\tfnstenv %[env]"
                     : [env] "=m"(env), [ip] "=m"(fld1_at), [sw] "=m"(sw) : [x] "m"(g_x), [bad] "r"(bad) : "memory");
    check_env("x87 load faults", &env, fld1_at, (uint32_t)&g_x);

    /* The load before through base + index * 8 - 8: g_row[1]. */
    fninit();
    trap_arm();
    __asm__ volatile("fldl -8(%[row],%[i],8)\n\tmovl $3f, %[ip]\n3:\tfld1\n\t" TRY_NO_FLAGS("fstl (%[bad])")
                     "fnstsw %[sw]\n\tfnstenv %[env]"
                     : [env] "=m"(env), [ip] "=m"(fld1_at), [sw] "=m"(sw)
                     : [row] "r"(g_row), [i] "r"(2), [bad] "r"(bad) : "memory");
    check_env("x87 store faults", &env, fld1_at, (uint32_t)&g_row[1]);

    fninit();
    trap_arm();
    __asm__ volatile("fldl %[x]\n\tmovl $3f, %[ip]\n3:\tfld1\n\t" TRY_NO_FLAGS("movl (%[bad]), %%eax")
                     "fnstsw %[sw]\n\tfnstenv %[env]"
                     : [env] "=m"(env), [ip] "=m"(fld1_at), [sw] "=m"(sw) : [x] "m"(g_x), [bad] "r"(bad) : "eax", "memory");
    check_env("integer load faults", &env, fld1_at, (uint32_t)&g_x);

    fninit();
    paging_off();
}
