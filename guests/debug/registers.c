/* MOV to and from DR0-DR7 (SDM vol. 2 MOV DR; vol. 3 17.2): fixed bits of DR6 and DR7, DR4/DR5
 * as aliases of DR6/DR7 unless CR4.DE, and general detect (DR7.GD). */
#include "debug.h"

void t_registers(void) {
    db_reset();
    check_eq("DR6 written 0 reads its reserved ones", RD_DR(6), DR6_FIXED);
    WR_DR(6, 0xFFFFFFFFu);
    const char *old = qemu_gap("QEMU 7.2 keeps DR6 bit 12 as written");
    expect_eq("DR6 written ~0: bit 12 reads 0", RD_DR(6), 0xFFFFEFFFu);
    qemu_gap(old);
    WR_DR(6, 0);
    check_eq("DR7 written 0: bit 10 reads 1", RD_DR(7), DR7_FIXED);
    WR_DR(7, 0x300); /* LE and GE: no breakpoint */
    check_eq("DR7 LE/GE kept", RD_DR(7), 0x700);
    WR_DR(7, 0xd800); /* bits 11, 12, 14, 15: reserved, read as 0 */
    old = qemu_gap("QEMU 7.2 keeps DR7's reserved bits as written");
    expect_eq("DR7 reserved bits read 0", RD_DR(7), DR7_FIXED);
    qemu_gap(old);
    WR_DR(7, 0);
    WR_DR(0, 0x12345678);
    WR_DR(1, 0x9abcdef0);
    WR_DR(2, 0xfffffffc);
    WR_DR(3, 0x00000001);
    check_eq("DR0 round trip", RD_DR(0), 0x12345678);
    check_eq("DR1 round trip", RD_DR(1), 0x9abcdef0);
    check_eq("DR2 round trip", RD_DR(2), 0xfffffffc);
    check_eq("DR3 round trip", RD_DR(3), 0x00000001);

    /* CR4.DE = 0: DR4 and DR5 are DR6 and DR7. */
    write_cr4(read_cr4() & ~CR4_DE);
    check_eq("DR4 reads DR6", RD_DR(4), DR6_FIXED);
    WR_DR(5, 0x100);
    check_eq("DR5 writes DR7", RD_DR(7), 0x500);
    WR_DR(4, 0x4000);
    check_eq("DR4 writes DR6", RD_DR(6), DR6_FIXED | DR6_BS);
    check_eq("DR5 reads DR7", RD_DR(5), 0x500);
    db_reset();

    /* CR4.DE = 1: DR4 and DR5 are reserved, #UD. */
    write_cr4(read_cr4() | CR4_DE);
    uint32_t v = 0;
    trap_arm();
    __asm__ volatile(TRY("mov %%dr4, %0") : "+r"(v)::"memory");
    expect_db_fault("mov from dr4 with CR4.DE", 6);
    trap_arm();
    __asm__ volatile(TRY("mov %0, %%dr5") ::"r"(v) : "memory");
    expect_db_fault("mov to dr5 with CR4.DE", 6);
    write_cr4(read_cr4() & ~CR4_DE);

    /* General detect: the next MOV DR is a fault-class #DB with DR6.BD, and entering the
     * handler clears GD so that it may use the debug registers (SDM 17.2.4, 17.3.1.2). */
    old = qemu_gap("QEMU 7.2 does not implement DR7.GD");
    db_arm();
    WR_DR(7, DR7_GD);
    __asm__ volatile(TRY("mov %%dr0, %0") : "=r"(v)::"memory");
    expect_db_fault("general detect: mov from dr0", 1);
    expect_eq("general detect: DR6.BD in the handler", db_dr6[0], DR6_FIXED | DR6_BD);
    expect_eq("general detect: GD cleared on entry", db_dr7[0], DR7_FIXED);
    expect_eq("general detect: DR7 after", RD_DR(7), DR7_FIXED);
    db_arm();
    WR_DR(7, DR7_GD);
    WR_DR(6, 0); /* trapped: the write does not happen, the handler clears DR6 itself */
    expect_eq("general detect: mov to dr6 trapped", trap_count, 1);
    qemu_gap(old);
    db_reset();
}
