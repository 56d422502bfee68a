/* ctxswitch: address-space switches by CR3 (Intel SDM vol. 3A 4.10.4.1: MOV to CR3 invalidates
 * the TLB entries of non-global pages). Four processes, each with its own page directory that
 * maps the same user address UVA to its own physical page (its data and its user stack).
 *  1. ring 0: a round-robin loop loads each CR3 in turn, checks the pattern it left in its page
 *     last time, and writes the next one;
 *  2. ring 3: the four processes run in user mode and yield with INT 0x80; the kernel saves the
 *     trap frame, loads the next CR3 and returns into the next process (a real context switch);
 *  3. ping-pong between two of them, for benchmarks: 10,000 switches, or 1,000,000 with the
 *     multiboot command-line word "bench"; prints the count;
 *  4. CR0.WP, CR0.PG and CR4.PGE toggled 1,000 times each (as kernels do around copies and TLB
 *     flushes): the address space stays the same, so the mappings must too (and a VMM should
 *     not rebuild its shadow tables for it: tests/mmu checks the context count). */
#include "../paging/pg.h"

#define NPROC 4
#define UVA 0x00400000u /* PDE 1 of every process: its private page */
#define PAT_WORDS 64
#define SYS_YIELD 1
#define SWITCHES 10000u
#define BENCH_SWITCHES 1000000u

struct uarea { /* at UVA; the rest of the page is the process's user stack */
    uint32_t id, rounds;
    uint32_t pattern[PAT_WORDS];
};

static ptable pd[NPROC], pt_user[NPROC], pt0;
static uint32_t frame[NPROC][1024] __attribute__((aligned(PAGE))); /* the private pages */

static uint32_t pat(uint32_t id, uint32_t round, uint32_t i) {
    return (id + 1) * 0x9E3779B1u ^ round * 0x00010001u ^ i;
}

static void init_page(uint32_t p) {
    struct uarea *u = (struct uarea *)frame[p]; /* through the identity map */
    u->id = p;
    u->rounds = 0;
    for (uint32_t i = 0; i < PAT_WORDS; i++)
        u->pattern[i] = pat(p, 0, i);
}

/* "what (process p)", in a static buffer that the next call reuses. */
static const char *nm(const char *what, uint32_t p) {
    static char buf[96];
    size_t n = strlen(what);
    memcpy(buf, what, n);
    memcpy(buf + n, " (process 0)", 13);
    buf[n + 10] = (char)('0' + p);
    return buf;
}

static uint32_t errors;
static void error(const char *what, uint32_t p, uint32_t got, uint32_t want) {
    if (errors++ < 5)
        printf_s("  mismatch: %s, process %u: got 0x%08x, want 0x%08x\n", what, p, got, want);
}

/* ---------------------------------------------------------------- 1. ring 0 */

static void t_ring0_round_robin(void) {
    volatile struct uarea *u = (volatile struct uarea *)UVA;
    uint32_t rounds[NPROC] = {0};
    errors = 0;
    for (uint32_t n = 0; n < SWITCHES; n++) {
        uint32_t p = n % NPROC;
        write_cr3((uint32_t)&pd[p]);
        if (u->id != p)
            error("id", p, u->id, p);
        if (u->rounds != rounds[p])
            error("rounds", p, u->rounds, rounds[p]);
        for (uint32_t i = 0; i < PAT_WORDS; i++)
            if (u->pattern[i] != pat(p, rounds[p], i))
                error("pattern", p, u->pattern[i], pat(p, rounds[p], i));
        u->rounds = ++rounds[p];
        for (uint32_t i = 0; i < PAT_WORDS; i++)
            u->pattern[i] = pat(p, rounds[p], i);
    }
    write_cr3((uint32_t)&pd[0]);
    check_eq("ring 0 round robin: each CR3 saw only its own page", errors, 0);
    for (uint32_t p = 0; p < NPROC; p++) {
        struct uarea *f = (struct uarea *)frame[p];
        check_eq(nm("ring 0 round robin: rounds in the physical page", p), f->rounds, SWITCHES / NPROC);
        check_eq(nm("ring 0 round robin: last pattern word", p), f->pattern[PAT_WORDS - 1],
                 pat(p, SWITCHES / NPROC, PAT_WORDS - 1));
    }
}

/* ---------------------------------------------------------------- 2./3. ring 3 */

struct proc {
    struct trap_frame frame; /* user state while not running */
    uint32_t rounds;         /* yields seen by the kernel */
};
static struct proc procs[NPROC];
static uint32_t cur, nactive, switches, limit;

static void yield(uint32_t id, uint32_t round, uint32_t bad) {
    uint32_t nr = SYS_YIELD;
    __asm__ volatile("int $0x80" : "+a"(nr) : "b"(id), "c"(round), "d"(bad) : "memory");
}

/* Ring 3. A local on the user stack (same address in every process) must keep its value. */
static void worker_main(void) {
    volatile struct uarea *u = (volatile struct uarea *)UVA;
    volatile uint32_t my_id = u->id;
    for (;;) {
        uint32_t bad = my_id != u->id, r = u->rounds;
        for (uint32_t i = 0; i < PAT_WORDS; i++)
            bad += u->pattern[i] != pat(my_id, r, i);
        r++;
        for (uint32_t i = 0; i < PAT_WORDS; i++)
            u->pattern[i] = pat(my_id, r, i);
        u->rounds = r;
        yield(my_id, r, bad);
    }
}

static void pingpong_main(void) {
    volatile struct uarea *u = (volatile struct uarea *)UVA;
    for (;;) {
        u->rounds++;
        yield(u->id, u->rounds, 0);
    }
}

/* INT 0x80: check what the process reports, save it, switch CR3, resume the next one. */
static void yield_handler(struct trap_frame *f) {
    struct proc *p = &procs[cur];
    p->rounds++;
    if (f->eax != SYS_YIELD || f->ebx != cur)
        error("yield from", cur, f->ebx, cur);
    if (f->ecx != p->rounds)
        error("rounds at yield", cur, f->ecx, p->rounds);
    if (f->edx != 0)
        error("pattern words wrong at yield", cur, f->edx, 0);
    if (++switches == limit) {
        ring3_abort(f, switches);
        return;
    }
    p->frame = *f;
    cur = (cur + 1) % nactive;
    write_cr3((uint32_t)&pd[cur]);
    *f = procs[cur].frame;
}

static uint32_t run_procs(void (*entry)(void), uint32_t n, uint32_t count) {
    memset(procs, 0, sizeof procs);
    for (uint32_t p = 0; p < n; p++) {
        init_page(p);
        struct trap_frame *f = &procs[p].frame;
        f->eip = (uint32_t)entry;
        f->cs = USER_CS;
        f->eflags = USER_EFLAGS;
        f->user_esp = UVA + PAGE - 4; /* where ring3_run starts process 0 */
        f->user_ss = f->ds = f->es = USER_DS;
    }
    cur = 0;
    nactive = n;
    switches = 0;
    limit = count;
    errors = 0;
    write_cr3((uint32_t)&pd[0]);
    uint32_t done = ring3_run((void *)entry, UVA + PAGE, USER_EFLAGS);
    write_cr3((uint32_t)&pd[0]);
    return done;
}

static void t_ring3_processes(void) {
    check_eq("ring 3: switches done", run_procs(worker_main, NPROC, SWITCHES), SWITCHES);
    check_eq("ring 3: each process saw only its own page and stack", errors, 0);
    for (uint32_t p = 0; p < NPROC; p++) {
        struct uarea *f = (struct uarea *)frame[p];
        check_eq(nm("ring 3: kernel count of yields", p), procs[p].rounds, SWITCHES / NPROC);
        check_eq(nm("ring 3: rounds in the physical page", p), f->rounds, SWITCHES / NPROC);
        check_eq(nm("ring 3: last pattern word", p), f->pattern[PAT_WORDS - 1],
                 pat(p, SWITCHES / NPROC, PAT_WORDS - 1));
    }
}

static void t_pingpong(uint32_t count) {
    uint32_t done = run_procs(pingpong_main, 2, count);
    printf_s("ping-pong: %u switches between 2 address spaces\n", done);
    check_eq("ping-pong: switches done", done, count);
    check_eq("ping-pong: no mismatches", errors, 0);
    check_eq("ping-pong: process 0 rounds", ((struct uarea *)frame[0])->rounds, count / 2);
    check_eq("ping-pong: process 1 rounds", ((struct uarea *)frame[1])->rounds, count / 2);
}

/* ---------------------------------------------------------------- 4. mode toggles */

static void t_mode_toggles(void) {
    volatile struct uarea *u = (volatile struct uarea *)UVA;
    uint32_t cr0 = read_cr0(), cr4 = read_cr4();
    errors = 0;
    write_cr3((uint32_t)&pd[1]);
    for (uint32_t i = 0; i < 1000; i++) {
        write_cr0(cr0 ^ CR0_WP);
        if (u->id != 1)
            error("UVA after a CR0.WP toggle", 1, u->id, 1);
        write_cr0(cr0);
        write_cr4(cr4 ^ CR4_PGE);
        write_cr4(cr4);
        write_cr0(cr0 & ~CR0_PG); /* identity: the kernel runs in the low 4 MiB */
        write_cr0(cr0);
        if (u->id != 1)
            error("UVA after a CR0.PG toggle", 1, u->id, 1);
    }
    check_eq("mode toggles: mapping unchanged, 0 mismatches", errors, 0);
    write_cr3((uint32_t)&pd[0]);
}

void kmain(uint32_t magic, uint32_t mbi) {
    check_eq("multiboot magic", magic, MULTIBOOT_LOADER_MAGIC);
    int bench = mb_has_word(mbi, "bench");
    gdt_install_flat();
    idt_install();
    ring3_setup();
    idt_set_handler(0x80, yield_handler);
    idt_set_dpl(0x80, 3);

    /* Every directory shares the low 4 MiB (kernel, user code, kernel stack) and maps UVA to
     * its own page. */
    for (uint32_t p = 0; p < NPROC; p++) {
        pg_identity_low(&pd[p], &pt0, PG_W | PG_U);
        pt_user[p].e[0] = (uint32_t)frame[p] | PG_P | PG_W | PG_U;
        pd[p].e[PDX(UVA)] = (uint32_t)&pt_user[p] | PG_P | PG_W | PG_U;
        init_page(p);
    }
    paging_on(&pd[0]);
    t_ring0_round_robin();
    t_ring3_processes();
    t_pingpong(bench ? BENCH_SWITCHES : SWITCHES);
    t_mode_toggles();
    finish("ctxswitch");
}
