/* usermode: ring 3 under paging, checked against the Intel SDM vol. 3A ch. 5 (protection), 6
 * (interrupts: 6.12 stack switch, 6.15 #GP and #PF) and 7 (TSS), and the IRET instruction page.
 * A TSS gives the ring-0 stack (SS0:ESP0); IRET enters ring 3; INT 0x80 is a DPL-3 trap gate for
 * system calls (arguments and results in registers); privileged instructions at ring 3 raise
 * #GP(0) with the user SS:ESP on the kernel stack; a user access to a supervisor page raises #PF
 * with U/S set; INT n through a DPL-0 gate raises #GP(n*8+2) and the handler returns to ring 0;
 * IRET to ring 3 nulls DS/ES/FS/GS that hold segments of DPL < 3; SYSEXIT and SYSENTER move
 * between the levels through IA32_SYSENTER_CS/ESP/EIP, and fault with a null SYSENTER_CS.
 * Ring-3 code is ordinary kernel code (its pages are user pages) entered through ring3_run. */
#include "../exceptions/expect.h"
#include "../paging/pg.h"

#define SEL_D1 0x30 /* data, DPL 1, flat (GDT slot 6) */
#define SYS_ADD 1   /* eax = ebx + ecx + edx, edx = ebx ^ ecx */
#define SYS_CHECK 2 /* check(ebx = name, ecx = ok) from ring 3 */
#define ABORTED 0xAB0127u
#define QEMU_NO_LIMITS "QEMU TCG does not check data accesses against segment limits or rights"

static ptable pd, pt0;
static uint8_t super_page[PAGE] __attribute__((aligned(PAGE))); /* U/S = 0 */
static uint8_t hole_page[PAGE] __attribute__((aligned(PAGE)));  /* P = 0 */
static uint8_t ustack[8192] __attribute__((aligned(16)));
#define USTACK_TOP ((uint32_t)ustack + sizeof ustack)

/* Shared with ring-3 code, which names them in asm through SS. */
volatile uint32_t u_esp, u_va, k_cr0;
volatile uint32_t u_state[8];
uint8_t k_idtr[6];

/* ---------------------------------------------------------------- kernel side */

static volatile uint32_t h_cr2, h_esp, h_ss, h_frame_end, h_if, abort_next, sc_count;

static void record_user_frame(struct trap_frame *f) {
    h_cr2 = read_cr2();
    h_esp = f->user_esp;
    h_ss = f->user_ss & 0xFFFF;
    h_frame_end = (uint32_t)(&f->user_ss + 1);
    h_if = read_eflags() & FL_IF;
}

static void fault_hook(struct trap_frame *f) {
    record_user_frame(f);
    if (abort_next)
        ring3_abort(f, ABORTED); /* back to ring 0: ring3_run returns ABORTED */
}

static void syscall_handler(struct trap_frame *f) {
    sc_count++;
    switch (f->eax) {
    case SYS_ADD:
        record_user_frame(f);
        f->eax = f->ebx + f->ecx + f->edx;
        f->edx = f->ebx ^ f->ecx;
        break;
    case SYS_CHECK:
        check((const char *)f->ebx, f->ecx);
        f->eax = 0;
        break;
    default:
        f->eax = 0xFFFFFFFF;
    }
}

static void arm(void) {
    trap_arm();
    trap_hook = fault_hook;
    abort_next = 0;
    u_esp = h_esp = h_ss = h_frame_end = 0;
    h_cr2 = 0xBADBAD;
}

static uint32_t run(void *fn) { return ring3_run(fn, USTACK_TOP, USER_EFLAGS); }

/* One trap taken at ring 3 by the instruction under TRY: vector, error code, what the CPU
 * pushed (CS with RPL 3, EIP of the faulting instruction, EFLAGS, the user SS:ESP) and where
 * (right below ESP0 of the TSS). */
static void user_fault(const char *name, void *fn, uint32_t vector, uint32_t err) {
    arm();
    uint32_t r = run(fn);
    expect_eq(cat(name, "one trap"), trap_count, 1);
    expect_eq(cat(name, "vector"), trap_log[0].vector, vector);
    expect_eq(cat(name, "error code"), trap_log[0].error_code, err);
    expect_eq(cat(name, "saved eip"), trap_log[0].eip, trap_insn);
    expect_eq(cat(name, "saved cs (RPL 3)"), trap_log[0].cs, USER_CS);
    expect_eq(cat(name, "saved eflags"), trap_log[0].eflags & ~FL_RF, trap_flags);
    expect_eq(cat(name, "saved user ss"), h_ss, USER_DS);
    expect_eq(cat(name, "saved user esp"), h_esp, u_esp);
    expect_eq(cat(name, "frame ends at TSS.ESP0"), h_frame_end, tss[1]);
    expect_eq(cat(name, "returned to ring 3"), r, 0);
}

/* ---------------------------------------------------------------- ring-3 code */

/* Entry state after the IRET: ESP, CS, SS, DS, ES, FS, GS, EFLAGS. Touches memory only
 * through SS, since DS/ES/FS/GS may be null. */
uint32_t u_entry_state(void);
__asm__(".text\n"
        "u_entry_state:\n\t"
        "movl %esp, %ss:u_state\n\t"
        "movw %cs, %ss:u_state+4\n\t"
        "movw %ss, %ss:u_state+8\n\t"
        "movw %ds, %ss:u_state+12\n\t"
        "movw %es, %ss:u_state+16\n\t"
        "movw %fs, %ss:u_state+20\n\t"
        "movw %gs, %ss:u_state+24\n\t"
        "pushfl\n\t"
        "popl %ss:u_state+28\n\t"
        "movl $0x600D, %eax\n\t"
        "ret\n");

static uint32_t sys(uint32_t nr, uint32_t a, uint32_t b, uint32_t *c) {
    __asm__ volatile("int $0x80" : "+a"(nr), "+d"(*c) : "b"(a), "c"(b) : "memory");
    return nr;
}

static void ucheck(const char *name, int ok) {
    uint32_t nr = SYS_CHECK;
    __asm__ volatile("int $0x80" : "+a"(nr) : "b"(name), "c"(ok) : "memory");
}

static uint32_t u_syscalls(void) {
    uint32_t edx = 3;
    ucheck("ring 3: CS = user code, RPL 3", read_cs() == USER_CS);
    ucheck("ring 3: SS = user data", read_ss() == USER_DS);
    ucheck("syscall: result in eax", sys(SYS_ADD, 100, 20, &edx) == 123);
    ucheck("syscall: second result in edx", edx == (100 ^ 20));
    uint32_t nr = SYS_ADD, si = 0x51515151, di = 0xD1D1D1D1, bp = 2;
    __asm__ volatile("pushl %%ebp\n\t"
                     "movl $0xB0B0B0B0, %%ebp\n\t"
                     "movl %%esp, %%ss:u_esp\n\t"
                     "int $0x80\n\t"
                     "movl %%ebp, %%ecx\n\t"
                     "popl %%ebp"
                     : "+a"(nr), "+S"(si), "+D"(di), "+c"(bp) : "b"(1), "d"(3) : "memory");
    ucheck("syscall: esi, edi, ebp kept", si == 0x51515151 && di == 0xD1D1D1D1 && bp == 0xB0B0B0B0);
    ucheck("syscall: eax = 1 + 2 + 3", nr == 6);
    return 0xC0FFEE;
}

#define USER_PROBE(fn, prep, insn, ...)                                                        \
    static uint32_t fn(void) {                                                                 \
        __asm__ volatile(prep "\n\tmovl %%esp, %%ss:u_esp\n\t" TRY(insn) ::: "memory", ##__VA_ARGS__); \
        return 0;                                                                              \
    }
USER_PROBE(u_cli, "", "cli")
USER_PROBE(u_sti, "", "sti")
USER_PROBE(u_mov_cr0, "movl %%ss:k_cr0, %%eax", "movl %%eax, %%cr0", "eax")
USER_PROBE(u_mov_from_cr3, "", "movl %%cr3, %%eax", "eax")
USER_PROBE(u_lidt, "", "lidt %%ss:k_idtr")
USER_PROBE(u_invlpg, "", "invlpg (%%esp)")
USER_PROBE(u_outb, "movb $0, %%al", "outb %%al, $0x80", "eax")
USER_PROBE(u_hlt, "", "hlt")
USER_PROBE(u_read, "movl %%ss:u_va, %%ecx", "movl (%%ecx), %%eax", "eax", "ecx")
USER_PROBE(u_write, "movl %%ss:u_va, %%ecx", "movl %%eax, (%%ecx)", "eax", "ecx")
USER_PROBE(u_int30, "", "int $0x30")
USER_PROBE(u_int3, "", "int3")

/* ---------------------------------------------------------------- tests */

static void t_iret_to_ring3(void) {
    memset((void *)u_state, 0, sizeof u_state);
    check_eq("iret: entry ran, result back through int 0x81", run(u_entry_state), 0x600D);
    check_eq("iret: user esp (exit address pushed)", u_state[0], USTACK_TOP - 4);
    check_eq("iret: cs", u_state[1], USER_CS);
    check_eq("iret: ss", u_state[2], USER_DS);
    check_eq("iret: ds", u_state[3], USER_DS);
    check_eq("iret: eflags (IF = 1, IOPL = 0)", u_state[7], USER_EFLAGS);
    check_eq("back at ring 0: cs", read_cs(), KERNEL_CS);
}

static void t_syscalls(void) {
    uint8_t *gate = idt_gate(0x80);
    gate[5] = 0xEF; /* present, DPL 3, 32-bit trap gate */
    idt_set_handler(0x80, syscall_handler);
    sc_count = 0;
    check_eq("syscalls: ring-3 code returned", run(u_syscalls), 0xC0FFEE);
    check_eq("syscalls: taken", sc_count, 8);
    /* The last SYS_ADD: */
    check_eq("syscall: saved user ss", h_ss, USER_DS);
    check_eq("syscall: saved user esp", h_esp, u_esp);
    check_eq("syscall: frame ends at TSS.ESP0", h_frame_end, tss[1]);
    check_eq("syscall: trap gate leaves IF = 1", h_if, FL_IF);
}

static void t_privileged(void) {
    user_fault("cli at ring 3", u_cli, 13, 0);
    user_fault("sti at ring 3", u_sti, 13, 0);
    user_fault("mov cr0 at ring 3", u_mov_cr0, 13, 0);
    user_fault("mov from cr3 at ring 3", u_mov_from_cr3, 13, 0);
    user_fault("lidt at ring 3", u_lidt, 13, 0);
    user_fault("invlpg at ring 3", u_invlpg, 13, 0);
    user_fault("outb at ring 3, IOPL 0", u_outb, 13, 0);
    user_fault("hlt at ring 3", u_hlt, 13, 0);
}

static void t_user_page_faults(void) {
    u_va = (uint32_t)super_page + 0x10;
    user_fault("user read of a supervisor page", u_read, 14, PF_P | PF_U);
    check_eq("user read of a supervisor page: cr2", h_cr2, u_va);
    u_va = (uint32_t)super_page + 0x20;
    user_fault("user write to a supervisor page", u_write, 14, PF_P | PF_W | PF_U);
    check_eq("user write to a supervisor page: cr2", h_cr2, u_va);
    u_va = (uint32_t)hole_page + 0x30;
    user_fault("user read of a not-present page", u_read, 14, PF_U);
    check_eq("user read of a not-present page: cr2", h_cr2, u_va);
    super_page[0x10] = 0x5A;
    check_eq("kernel reads the supervisor page", super_page[0x10], 0x5A);
}

/* A DPL-0 gate named by INT n from ring 3: #GP with error code n*8 + 2 (IDT, EXT = 0), the
 * saved EIP is the INT instruction, and here the handler returns to ring 0, not to ring 3. */
static void int_dpl0(const char *name, void *fn, uint32_t vector) {
    arm();
    abort_next = 1;
    check_eq(cat(name, "handler returned to ring 0"), run(fn), ABORTED);
    expect_eq(cat(name, "one trap"), trap_count, 1);
    expect_eq(cat(name, "#GP"), trap_log[0].vector, 13);
    expect_eq(cat(name, "error code"), trap_log[0].error_code, vector * 8 + 2);
    expect_eq(cat(name, "saved eip = the INT"), trap_log[0].eip, trap_insn);
    expect_eq(cat(name, "saved cs (RPL 3)"), trap_log[0].cs, USER_CS);
    expect_eq(cat(name, "saved user esp"), h_esp, u_esp);
    check_eq(cat(name, "now at ring 0"), read_cs(), KERNEL_CS);
}

static void t_null_segments(void) {
    gdt_set(SEL_D1 >> 3, 0, 0xFFFFF, GDT_PRESENT | GDT_DPL(1) | 0x12, GDT_FLAGS_32_4K);
    ring3_sregs[0] = KERNEL_DS;  /* DS: DPL 0 */
    ring3_sregs[1] = USER_DS;    /* ES: DPL 3 */
    ring3_sregs[2] = SEL_D1 | 1; /* FS: DPL 1 */
    ring3_sregs[3] = 0;          /* GS: null */
    memset((void *)u_state, 0xFF, sizeof u_state);
    check_eq("iret nulls: entry ran", run(u_entry_state), 0x600D);
    check_eq("iret nulls: DS (DPL 0) -> 0", u_state[3] & 0xFFFF, 0);
    check_eq("iret keeps: ES (DPL 3)", u_state[4] & 0xFFFF, USER_DS);
    check_eq("iret nulls: FS (DPL 1) -> 0", u_state[5] & 0xFFFF, 0);
    check_eq("iret keeps: GS null", u_state[6] & 0xFFFF, 0);
    check_eq("iret loads: SS", u_state[2] & 0xFFFF, USER_DS);
    /* A data access through the nulled DS is #GP(0). */
    u_va = (uint32_t)ustack;
    const char *old = qemu_gap(QEMU_NO_LIMITS);
    arm();
    run(u_read);
    if (trap_count == 0 && on_qemu) {
        expect("read through a nulled DS: #GP", 0);
    } else {
        expect_eq("read through a nulled DS: vector", trap_log[0].vector, 13);
        expect_eq("read through a nulled DS: error code", trap_log[0].error_code, 0);
        expect_eq("read through a nulled DS: saved eip", trap_log[0].eip, trap_insn);
    }
    qemu_gap(old);
    for (int i = 0; i < 4; i++)
        ring3_sregs[i] = USER_DS;
}

/* ---------------------------------------------------------------- SYSENTER / SYSEXIT */

void sysenter_roundtrip(uint32_t out[7]);
extern uint8_t kstack_top[], ustack_top[]; /* in sysenter.asm */

static void wrmsr(uint32_t msr, uint32_t lo) { __asm__ volatile("wrmsr" ::"c"(msr), "a"(lo), "d"(0)); }

static void t_sysenter(void) {
    uint32_t id[4];
    __asm__ volatile("cpuid" : "=a"(id[0]), "=b"(id[1]), "=c"(id[2]), "=d"(id[3]) : "a"(1));
    check_eq("cpuid: SEP", id[3] & (1u << 11), 1u << 11);
    uint32_t out[7] = {0};
    sysenter_roundtrip(out);
    check_eq("sysexit: user cs = SYSENTER_CS + 16 | 3", out[0], USER_CS);
    check_eq("sysexit: user ss = SYSENTER_CS + 24 | 3", out[1], USER_DS);
    check_eq("sysexit: esp = ecx", out[6], (uint32_t)ustack_top);
    check_eq("sysenter: cs = SYSENTER_CS", out[2], KERNEL_CS);
    check_eq("sysenter: ss = SYSENTER_CS + 8", out[3], KERNEL_DS);
    check_eq("sysenter: esp = SYSENTER_ESP", out[5], (uint32_t)kstack_top);
    check_eq("sysenter: IF cleared", out[4] & FL_IF, 0);
    wrmsr(0x174, 0); /* a null SYSENTER_CS: both instructions raise #GP(0) */
    trap_arm();
    __asm__ volatile(TRY("sysenter") ::: "memory");
    expect_fault("sysenter with SYSENTER_CS = 0", 13, 0);
    trap_arm();
    __asm__ volatile(TRY("sysexit") ::: "memory");
    expect_fault("sysexit with SYSENTER_CS = 0", 13, 0);
}

void kmain(uint32_t magic, uint32_t mbi) {
    (void)mbi;
    expect_eq("multiboot magic", magic, MULTIBOOT_LOADER_MAGIC);
    detect_reference();
    gdt_install_flat();
    idt_install();
    ring3_setup();
    trap_catch(13, 14);
    k_cr0 = read_cr0();
    __asm__ volatile("sidt %0" : "=m"(k_idtr));

    pg_identity_low(&pd, &pt0, PG_W | PG_U); /* ring-3 code and data live in the kernel image */
    pt0.e[PTX(super_page)] &= ~PG_U;
    pt0.e[PTX(hole_page)] &= ~PG_P;
    paging_on(&pd);
    write_cr0(read_cr0() | CR0_WP);
    k_cr0 = read_cr0();
    check_eq("tss: SS0", tss[2], KERNEL_DS);

    t_iret_to_ring3();
    t_syscalls();
    t_privileged();
    t_user_page_faults();
    int_dpl0("int 0x30 to a DPL-0 gate", u_int30, 0x30);
    int_dpl0("int3 to a DPL-0 gate", u_int3, 3);
    t_null_segments();
    t_sysenter();
    expect_finish("usermode");
}
