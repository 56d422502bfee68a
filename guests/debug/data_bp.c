/* Data and I/O breakpoints (SDM vol. 3 17.2.5, 17.3.1.2): a trap-class #DB after the access
 * (saved EIP: the next instruction), DR6.Bn for every matching enabled breakpoint, R/W 01
 * writes only, 11 reads and writes, LEN masking the low address bits; from translated moves,
 * from REP MOVS/STOS (after the iteration, RF = 1 in the frame unless it was the last), from
 * the processor's own pushes (PUSHF, an interrupt frame), and I/O ports with CR4.DE. */
#include "debug.h"

static volatile uint32_t wvar[4] __attribute__((aligned(16)));
static uint8_t src[16] __attribute__((aligned(16))), dst[16] __attribute__((aligned(16)));
extern const uint32_t isr_table[256];

static void t_moves(void) {
    volatile uint8_t *bytes = (volatile uint8_t *)wvar;
    uint32_t next, v;

    db_arm();
    WR_DR(0, &wvar[1]);
    WR_DR(7, DR7_BP(0, 1, 3)); /* writes of wvar[1], 4 bytes */
    __asm__ volatile("movl $2f, %[n]\n\tmovl $0x1234, %[v]\n2:" : [n] "=m"(next), [v] "=m"(wvar[1])::"memory");
    expect_eq("write bp: one #DB", trap_count, 1);
    expect_db("write bp", 0, next, DR6_FIXED | 1);
    expect("write bp: frame RF = 0", !(trap_log[0].eflags & FL_RF));
    expect_eq("write bp: the store was done", wvar[1], 0x1234);
    v = wvar[1];
    expect_eq("write bp: a read does not trap", trap_count, 1);
    bytes[7] = 1;
    expect_eq("write bp: byte at +3 traps", trap_count, 2);
    bytes[8] = 1;
    bytes[3] = 1;
    expect_eq("write bp: bytes at +4 and -1 do not", trap_count, 2);
    db_reset();

    /* LEN masks the low bits of DRn: a 4-byte breakpoint at wvar[1] + 2 covers wvar[1]. */
    db_arm();
    WR_DR(1, (uint32_t)&wvar[1] + 2);
    WR_DR(7, DR7_BP(1, 1, 3));
    bytes[4] = 2;
    db_reset();
    const char *old = qemu_gap("QEMU 7.2 does not align DRn down to LEN");
    expect_eq("write bp unaligned DR1: byte at the aligned start traps", trap_count, 1);
    expect_eq("write bp unaligned DR1: DR6", db_dr6[0], DR6_FIXED | 2);
    qemu_gap(old);

    /* R/W = 11: reads trap too; two breakpoints hit by one access both show. */
    db_arm();
    WR_DR(0, &wvar[1]);
    WR_DR(1, (uint32_t)&wvar[1] + 2);
    WR_DR(7, DR7_BP(0, 3, 3) | DR7_BP(1, 3, 1));
    __asm__ volatile("movl $2f, %[n]\n\tmovl %[v], %%eax\n2:" : [n] "=m"(next) : [v] "m"(wvar[1]) : "eax", "memory");
    db_reset();
    expect_eq("read/write bp: read traps", trap_count, 1);
    old = qemu_gap("QEMU 7.2 reports only the first data breakpoint an access hits");
    expect_db("read/write bp", 0, next, DR6_FIXED | 3);
    qemu_gap(old);
    (void)v;
}

static void t_strings(void) {
    uint32_t insn, ecx = 16;
    uint8_t *esi = src, *edi = dst;
    for (int i = 0; i < 16; i++) {
        src[i] = (uint8_t)(0xa0 + i);
        dst[i] = 0;
    }
    db_arm();
    WR_DR(0, &dst[5]);
    WR_DR(7, DR7_BP(0, 1, 0));
    __asm__ volatile("movl $1f, %[i]\n\tcld\n1:\trep movsb\n"
                     : [i] "=m"(insn), "+c"(ecx), "+S"(esi), "+D"(edi)
                     :
                     : "memory");
    db_reset();
    expect_eq("rep movsb bp: one #DB", trap_count, 1);
    expect_db("rep movsb bp", 0, insn, DR6_FIXED | 1);
    expect_eq("rep movsb bp: ECX after the iteration", trap_log[0].ecx, 10);
    expect_eq("rep movsb bp: EDI after the iteration", trap_log[0].edi, (uint32_t)&dst[6]);
    expect_eq("rep movsb bp: ESI after the iteration", trap_log[0].esi, (uint32_t)&src[6]);
    const char *old = qemu_gap("QEMU 7.2 pushes RF = 0 for a trap inside a REP");
    expect("rep movsb bp: frame RF = 1 (not the last iteration)", trap_log[0].eflags & FL_RF);
    qemu_gap(old);
    expect_eq("rep movsb bp: resumed to the end", ecx, 0);
    expect("rep movsb bp: all copied", memcmp(src, dst, 16) == 0);

    /* A hit in the last iteration: the instruction is done, the frame is a plain trap's. */
    uint32_t next;
    ecx = 16;
    edi = dst;
    db_arm();
    WR_DR(0, &dst[15]);
    WR_DR(7, DR7_BP(0, 1, 0));
    __asm__ volatile("movl $2f, %[n]\n\tcld\n\trep stosb\n2:"
                     : [n] "=m"(next), "+c"(ecx), "+D"(edi)
                     : "a"(0x5a)
                     : "memory");
    db_reset();
    expect_eq("rep stosb bp last: one #DB", trap_count, 1);
    old = qemu_gap("QEMU 7.2 traps after a REP's last iteration with EIP still at the REP");
    expect_db("rep stosb bp last", 0, next, DR6_FIXED | 1);
    qemu_gap(old);
    expect_eq("rep stosb bp last: ECX", trap_log[0].ecx, 0);
    expect("rep stosb bp last: frame RF = 0", !(trap_log[0].eflags & FL_RF));
    expect_eq("rep stosb bp last: stored", dst[15], 0x5a);
}

static void t_processor_writes(void) {
    uint32_t next, flags;
    /* PUSHF onto a watched stack slot (the VMM's helper stores it). */
    db_arm();
    __asm__ volatile("leal -4(%%esp), %%eax\n\tmovl %%eax, %%dr0\n\t"
                     "movl %[d7], %%eax\n\tmovl %%eax, %%dr7\n\t"
                     "movl $2f, %[n]\n\t"
                     "pushfl\n2:\tpopl %[f]\n\t"
                     "movl %[off], %%eax\n\tmovl %%eax, %%dr7\n\t"
                     : [n] "=m"(next), [f] "=r"(flags)
                     : [d7] "i"(DR7_BP(0, 1, 3)), [off] "i"(0)
                     : "eax", "memory");
    expect_eq("pushf bp: one #DB", trap_count, 1);
    expect_db("pushf bp", 0, next, DR6_FIXED | 1);

    /* INT n writes its frame onto a watched slot (saved EIP, 12 bytes down): the #DB follows
     * the INT instruction, i.e. comes before the handler's first instruction. */
    if (on_qemu) {
        printf_s("GAP  int frame bp: not run (QEMU 7.2 aborts on an assertion when an interrupt frame hits a watchpoint)\n");
        return;
    }
    db_arm();
    __asm__ volatile("leal -12(%%esp), %%eax\n\tmovl %%eax, %%dr0\n\t"
                     "movl %[d7], %%eax\n\tmovl %%eax, %%dr7\n\t"
                     "movl $2f, %[n]\n\t"
                     "int $0x40\n2:\t"
                     "movl %[off], %%eax\n\tmovl %%eax, %%dr7\n\t"
                     : [n] "=m"(next)
                     : [d7] "i"(DR7_BP(0, 1, 3)), [off] "i"(0)
                     : "eax", "memory");
    expect_eq("int frame bp: #DB then the INT", trap_count, 2);
    expect_db("int frame bp", 0, isr_table[0x40], DR6_FIXED | 1);
    expect_eq("int frame bp: then vector 0x40", trap_log[1].vector, 0x40);
    expect_eq("int frame bp: INT's saved eip", trap_log[1].eip, next);
    (void)flags;
}

static void t_io(void) {
    uint32_t next;
    write_cr4(read_cr4() | CR4_DE);
    db_arm();
    WR_DR(2, 0x80);
    WR_DR(7, DR7_BP(2, 2, 0)); /* I/O port 0x80, 1 byte */
    __asm__ volatile("movl $2f, %[n]\n\toutb %%al, $0x80\n2:" : [n] "=m"(next) : "a"(0) : "memory");
    (void)inb(0x81);
    db_reset();
    write_cr4(read_cr4() & ~CR4_DE);
    expect_eq("io bp: one #DB (out 0x80, not in 0x81)", trap_count, 1);
    expect_db("io bp", 0, next, DR6_FIXED | 4);
}

void t_data_breakpoints(void) {
    t_moves();
    t_strings();
    t_processor_writes();
    t_io();
}
