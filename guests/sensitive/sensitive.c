/* sensitive: a kernel's tour of the instructions that make x86 hard to virtualize.
 *
 * The 17 sensitive-but-unprivileged instructions of Robin and Irvine (USENIX Security 2000) read
 * or change privileged state without trapping outside ring 0; the privileged ones trap there.
 * Each line shows what a real CPU gives this kernel at CPL 0, in the state the kernel set up
 * itself (its GDT, IDT, LDT, TSS, CR0, IF), and what this run gave. Under a correct VMM (btvm
 * --mode translate or patch, QEMU) all agree. Under btvm --mode trap the kernel really runs at
 * CPL 3 against the VMM's tables: the sensitive lines show the VMM's state, or fault, and the
 * run ends in FAIL on purpose. privileged.c has the privileged half, tour.c the bookkeeping. */
#include "tour.h"

uint32_t cr0_start;
uint8_t tss[104];
uint64_t ldt[2];

/* Written by the far-transfer tests' asm, by name. */
volatile uint16_t far_cs;   /* CS seen at the landing site */
volatile uint32_t far_back; /* 1 once control came back */
volatile struct __attribute__((packed)) { uint32_t off; uint16_t sel; } far_ptr; /* way back */

static volatile uint32_t int_reached, int_cs;
static void int_handler(struct trap_frame *f) {
    int_reached = 1;
    int_cs = f->cs & 0xFFFF;
}

static void setup(void) {
    gdt_install_flat();
    idt_install();
    catch_install();
    idt_set_handler(INT_VECTOR, int_handler);
    pic_mask_all(); /* we set IF below: no device interrupts wanted */
    gdt_set(SEL_TSS >> 3, (uint32_t)tss, sizeof tss - 1, 0x89, 0); /* available 32-bit TSS */
    gdt_set(SEL_LDT >> 3, (uint32_t)ldt, sizeof ldt - 1, 0x82, 0); /* LDT */
    gdt_set(SEL_DATA0 >> 3, 0, 0xFFFFF, GDT_DATA_RW, GDT_FLAGS_32_4K);
    gdt_set(SEL_CODE2 >> 3, 0, 0xFFFFF, GDT_CODE_RX, GDT_FLAGS_32_4K);
    arm();
    __asm__ volatile(CATCH("lldt %w0\n\tltr %w1") ::"r"(SEL_LDT), "r"(SEL_TSS) : "memory");
    no_fault(SETUP, "LLDT+LTR");
    __asm__ volatile("movl %%cr0, %0" : "=r"(cr0_start));
    report(SETUP, "CR0 at start", "PE=1 PG=0",
           fmt("PE=%u PG=%u", cr0_start & 1, cr0_start >> 31));
}

/* ------------------------------------------------------------------ descriptor tables, CR0, TR */

static void table_register(const char *name, int idt, uint32_t base, uint32_t limit) {
    struct dtr d = {0, 0};
    arm();
    if (idt)
        __asm__ volatile(CATCH("sidt %0") : "+m"(d) : : "memory");
    else
        __asm__ volatile(CATCH("sgdt %0") : "+m"(d) : : "memory");
    report(SENSITIVE, name, fmt("%08x/%04x", base, limit), fmt("%08x/%04x", d.base, d.limit));
}

static void t_tables(void) {
    table_register("SGDT", 0, gdt_address(), GDT_ENTRIES * 8 - 1);
    table_register("SIDT", 1, idt_address(), 256 * 8 - 1);

    uint16_t sel = 0;
    arm();
    __asm__ volatile(CATCH("sldt %0") : "+r"(sel) : : "memory");
    report(SENSITIVE, "SLDT", fmt("%04x", SEL_LDT), fmt("%04x", sel));

    uint32_t msw = 0; /* SMSW r32 also copies CR0's upper bits on P6 and later: compare 15:0 */
    arm();
    __asm__ volatile(CATCH("smsw %0") : "+r"(msw) : : "memory");
    report(SENSITIVE, "SMSW", fmt("%04x", cr0_start & 0xFFFF), fmt("%04x", msw & 0xFFFF));

    sel = 0;
    arm();
    __asm__ volatile(CATCH("str %0") : "+r"(sel) : : "memory");
    report(SENSITIVE, "STR", fmt("%04x", SEL_TSS), fmt("%04x", sel));
}

/* ------------------------------------------------------------------ EFLAGS */

static const char *if_iopl(uint32_t f) { return fmt("IF=%u IOPL=%u", (f >> 9) & 1, (f >> 12) & 3); }
static const char *if_only(uint32_t f) { return fmt("IF=%u", (f >> 9) & 1); }

static void t_flags(void) {
    uint32_t f = 0;
    __asm__ volatile("sti");
    arm();
    __asm__ volatile(CATCH("pushfl\n\tpopl %0") : "+r"(f) : : "memory");
    report(SENSITIVE, "PUSHF", "IF=1 IOPL=0", if_iopl(f));

    /* From IF=1, POPF of an image with IF=0. At CPL > IOPL it leaves IF alone, silently. */
    f = 0;
    arm();
    __asm__ volatile(CATCH("pushfl\n\tandl $~0x200, (%%esp)\n\tpopfl\n\tpushfl\n\tpopl %0")
                     : "+r"(f) : : "memory", "cc");
    report(SENSITIVE, "POPF", "IF=0", if_only(f));
    __asm__ volatile("cli");
}

/* ------------------------------------------------------------------ descriptor checks */

static void t_descriptors(void) {
    /* LAR: our code segment, G=1 D=1 P=1 DPL=0 execute/read; bits 19:16 are undefined and the
     * accessed bit is set by the CPU, so both are masked. */
    uint32_t r = 0;
    uint8_t zf = 0;
    arm();
    __asm__ volatile(CATCH("larl %2, %0\n\tsetz %1") : "+r"(r), "+q"(zf) : "r"((uint32_t)KERNEL_CS)
                     : "memory", "cc");
    report(SENSITIVE, "LAR", "ZF=1 00c09a00", fmt("ZF=%u %08x", zf, r & 0x00F0FE00));

    r = 0, zf = 0;
    arm();
    __asm__ volatile(CATCH("lsll %2, %0\n\tsetz %1") : "+r"(r), "+q"(zf) : "r"((uint32_t)KERNEL_DS)
                     : "memory", "cc");
    report(SENSITIVE, "LSL", "ZF=1 ffffffff", fmt("ZF=%u %08x", zf, r));

    zf = 0;
    arm();
    __asm__ volatile(CATCH("verr %w1\n\tsetz %0") : "+q"(zf) : "r"((uint32_t)KERNEL_CS) : "memory", "cc");
    report(SENSITIVE, "VERR", "ZF=1", fmt("ZF=%u", zf));

    zf = 0;
    arm();
    __asm__ volatile(CATCH("verw %w1\n\tsetz %0") : "+q"(zf) : "r"((uint32_t)SEL_DATA0) : "memory", "cc");
    report(SENSITIVE, "VERW", "ZF=1", fmt("ZF=%u", zf));
}

/* ------------------------------------------------------------------ segment registers */

static void t_segments(void) {
    uint32_t v = 0;
    arm();
    __asm__ volatile(CATCH("pushl %%cs\n\tpopl %0") : "+r"(v) : : "memory");
    report(SENSITIVE, "PUSH CS", fmt("%04x", KERNEL_CS), fmt("%04x", v & 0xFFFF));

    /* POP SS needs RPL = DPL = CPL: at CPL 0 our RPL-0 selector loads; SS is put back after. */
    v = 0;
    arm();
    __asm__ volatile(CATCH("movw %%ss, %%dx\n\tpushl %1\n\tpopl %%ss\n\tmovw %%ss, %w0\n\t"
                           "movw %%dx, %%ss")
                     : "+r"(v) : "i"(KERNEL_DS) : "edx", "memory");
    report(SENSITIVE, "POP SS", fmt("%04x", KERNEL_DS), fmt("%04x", v & 0xFFFF));

    uint16_t cs = 0, ss = 0;
    arm();
    __asm__ volatile(CATCH("movw %%cs, %0\n\tmovw %%ss, %1") : "+r"(cs), "+r"(ss) : : "memory");
    report(SENSITIVE, "MOV r,CS/SS", fmt("%04x/%04x", KERNEL_CS, KERNEL_DS), fmt("%04x/%04x", cs, ss));

    /* MOV DS of our DPL-0 data selector; nothing touches DS until the old value is back. */
    uint16_t ds = 0;
    arm();
    __asm__ volatile(CATCH("movw %%ds, %%dx\n\tmovw %w1, %%ds\n\tmovw %%ds, %0\n\tmovw %%dx, %%ds")
                     : "+r"(ds) : "r"((uint32_t)SEL_DATA0) : "edx", "memory");
    report(SENSITIVE, "MOV DS,r", fmt("%04x", SEL_DATA0), fmt("%04x", ds));
}

/* ------------------------------------------------------------------ far transfers, INT n */

/* Each lands at label 1 in SEL_CODE2, notes CS there and comes back; a fault skips the rest. */
static void far_report(const char *name) {
    report(SENSITIVE, name, fmt("CS=%04x, back", SEL_CODE2),
           fmt("CS=%04x, %s", far_cs, far_back ? "back" : "not back"));
    far_cs = 0, far_back = 0;
}

/* Sets far_ptr to label 2 in the current code segment: the way home by an indirect far JMP. */
#define HOME "movl $2f, far_ptr\n\tmovw %%cs, far_ptr+4\n\t"

static void t_far(void) {
    arm();
    __asm__ volatile(CATCH("lcall %0, $1f\n\tmovl $1, far_back\n\tjmp 9f\n"
                           "1:\tmovw %%cs, far_cs\n\tlret")
                     : : "i"(SEL_CODE2) : "memory");
    far_report("far CALL");

    arm();
    __asm__ volatile(CATCH(HOME "ljmp %0, $1f\n"
                           "1:\tmovw %%cs, far_cs\n\tljmp *far_ptr\n"
                           "2:\tmovl $1, far_back")
                     : : "i"(SEL_CODE2) : "memory");
    far_report("far JMP");

    arm();
    __asm__ volatile(CATCH(HOME "pushl %0\n\tpushl $1f\n\tlret\n"
                           "1:\tmovw %%cs, far_cs\n\tljmp *far_ptr\n"
                           "2:\tmovl $1, far_back")
                     : : "i"(SEL_CODE2) : "memory");
    far_report("far RET");

    arm();
    __asm__ volatile(CATCH("int %0") : : "i"(INT_VECTOR) : "memory");
    report(SENSITIVE, "INT n", fmt("handler, CS=%04x", KERNEL_CS),
           int_reached ? fmt("handler, CS=%04x", int_cs) : "no handler");
}

/* ------------------------------------------------------------------ the classic failures */

static void t_idioms(void) {
    /* A critical section that relies on POPF to give IF back. */
    uint32_t f = 0;
    __asm__ volatile("sti");
    arm();
    __asm__ volatile(CATCH("pushfl\n\tcli\n\tnop\n\tpopfl\n\tpushfl\n\tpopl %0")
                     : "+r"(f) : : "memory", "cc");
    report(IDIOM, "pushf;cli;popf", "IF=1", if_only(f));
    __asm__ volatile("cli");

    f = 0;
    arm();
    __asm__ volatile(CATCH("cli\n\tpushfl\n\tpopl %0") : "+r"(f) : : "memory");
    report(IDIOM, "cli;pushf", "IF=0", if_only(f));
    t_timer_idiom();
}

void kmain(uint32_t magic, uint32_t mbi) {
    (void)mbi;
    serial_puts("sensitive: what each sensitive or privileged instruction gives this kernel,\n"
                "against what a real CPU gives it at ring 0 with its own GDT, IDT, LDT, TSS and CR0.\n");
    check_eq("multiboot magic", magic, MULTIBOOT_LOADER_MAGIC);
    setup();
    serial_puts("-- sensitive but unprivileged (Robin and Irvine): no trap outside ring 0\n");
    t_tables();
    t_flags();
    t_descriptors();
    t_segments();
    t_far();
    serial_puts("-- the classic failure: code that trusts EFLAGS.IF\n");
    t_idioms();
    serial_puts("-- privileged: trap outside ring 0, so a VMM can emulate them\n");
    privileged_tour();
    summary();
}
