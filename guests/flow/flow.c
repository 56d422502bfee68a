/* flow: near CALL/RET and indirect JMP/CALL, as a translator that predicts them must still run
 * them (SDM Vol. 1 6.4 "Calling procedures using CALL and RET", Vol. 2A JMP/CALL/RET):
 *  - recursion deeper than any return stack (120,000 frames), CALLs that never return
 *    (`call 1f; 1: pop`, 300,000 in a row), returns to an address no CALL pushed, callees
 *    that move their return address, longjmp-style unwinding past many frames;
 *  - indirect calls and switch jump tables to many targets from one site;
 *  - code rewritten behind a prediction: the instruction a call returns to, the calling block
 *    itself, the target of an indirect call;
 *  - the same linear code under two CR3 values (also across a RET), a RET in a code segment
 *    with another base, and calls through exception and interrupt handlers. */
#include "guest.h"
#include "idt.h"

typedef uint32_t (*fn0)(void);

uint32_t flow_sum(uint32_t n);
uint32_t flow_call_pop(void);
void flow_call_pop_here(void);
uint32_t flow_calls_no_return(uint32_t n);
uint32_t flow_sum_on_stack(uint32_t n, uint32_t stack_top);
uint32_t flow_bump_ret(void);
uint32_t flow_push_ret(void);
uint32_t flow_unwind(uint32_t depth);
uint32_t flow_smc_continuation(uint32_t v);
uint32_t flow_smc_caller(uint32_t v);
uint32_t flow_call_reg(uint32_t target, uint32_t edx_value);
uint32_t flow_cs_base(uint32_t call_site, uint32_t ecx_value);
void flow_far_to_based(void);
void flow_switch_cr3(void);
void flow_far_back(void);
uint32_t flow_next_cr3;

#define PAGE 4096u
#define ALIAS 0x400000u /* linear 4 MiB: one page, mapped differently per address space */
#define FLOW_BASED_CS 0x18
#define FLOW_BASE 0x100u

static uint8_t codebuf[4 * PAGE] __attribute__((aligned(PAGE)));
static uint8_t deep_stack[1u << 20] __attribute__((aligned(16))); /* 1 MiB for 120,000 frames */
static uint32_t dir_a[1024] __attribute__((aligned(PAGE)));
static uint32_t dir_b[1024] __attribute__((aligned(PAGE)));
static uint32_t pt_low[1024] __attribute__((aligned(PAGE)));
static uint32_t pt_a[1024] __attribute__((aligned(PAGE)));
static uint32_t pt_b[1024] __attribute__((aligned(PAGE)));

/* mov eax, imm32; ret */
static void emit_mov_ret(volatile uint8_t *p, uint32_t imm) {
    p[0] = 0xB8;
    for (int i = 0; i < 4; i++)
        p[1 + i] = (uint8_t)(imm >> (8 * i));
    p[5] = 0xC3;
}

static __attribute__((noinline)) uint32_t fib(uint32_t n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
static __attribute__((noinline)) uint32_t ack(uint32_t m, uint32_t n) {
    return m == 0 ? n + 1 : n == 0 ? ack(m - 1, 1) : ack(m - 1, ack(m, n - 1));
}

static void test_returns(void) {
    check_eq("recursion 1000 deep", flow_sum(1000), 500500);
    check_eq("recursion 1000 deep, again", flow_sum(1000), 500500);
    check_eq("fib(20)", fib(20), 6765);
    check_eq("ackermann(2, 300): 600 deep", ack(2, 300), 603);
    check_eq("ackermann(3, 4)", ack(3, 4), 125);
    for (int i = 0; i < 3; i++) {
        check_eq("callee moves its return address", flow_bump_ret(), 1);
        check_eq("PUSH + RET to where no CALL pushed", flow_push_ret(), 2);
    }
    check_eq("longjmp-style unwind of 10 frames", flow_unwind(10), 3);
    check_eq("longjmp-style unwind of 300 frames", flow_unwind(300), 3);
    check_eq("recursion after the unwinds", flow_sum(50), 1275);
    /* CALLs that never return: the RET after them still goes where the guest stack says. */
    uint32_t pops = 0;
    for (int i = 0; i < 100; i++)
        pops += flow_call_pop() == (uint32_t)flow_call_pop_here;
    check_eq("call 1f; 1: pop (100 times)", pops, 100);
    check_eq("recursion after the popped calls", flow_sum(100), 5050);
    /* More pending CALLs than a host stack would hold: 300,000 never returning, then
     * recursion 120,000 deep (SDM Vol. 1 6.4: CALL/RET depth is bounded by the guest's stack
     * alone). */
    check_eq("300,000 CALLs that never return", flow_calls_no_return(300000), 300007);
    check_eq("recursion 120,000 deep", flow_sum_on_stack(120000, (uint32_t)(deep_stack + sizeof deep_stack)),
             (uint32_t)(120000ull * 120001ull / 2));
    check_eq("recursion 120,000 deep, again",
             flow_sum_on_stack(120000, (uint32_t)(deep_stack + sizeof deep_stack)), (uint32_t)(120000ull * 120001ull / 2));
    check_eq("recursion after the deep ones", flow_sum(1000), 500500);
}

static __attribute__((noinline)) uint32_t f_add(uint32_t x) { return x + 1; }
static __attribute__((noinline)) uint32_t f_mul(uint32_t x) { return x * 3; }
static __attribute__((noinline)) uint32_t f_xor(uint32_t x) { return x ^ 0x55; }
static __attribute__((noinline)) uint32_t f_neg(uint32_t x) { return 0u - x; }
static uint32_t (*volatile table[4])(uint32_t) = {f_add, f_mul, f_xor, f_neg};

static __attribute__((noinline)) uint32_t call_ptr(uint32_t (*f)(uint32_t), uint32_t x) { return f(x); }
static __attribute__((noinline)) uint32_t call_fn0(fn0 f) { return f(); }

static __attribute__((noinline)) uint32_t by_switch(uint32_t op, uint32_t x) {
    switch (op) { /* dense enough for a jump table: one indirect JMP, many targets */
    case 0: return x + 7;
    case 1: return x * 5;
    case 2: return x ^ 0xA5;
    case 3: return x - 9;
    case 4: return x << 3;
    case 5: return x >> 2;
    case 6: return ~x;
    case 7: return x * x;
    default: return 0;
    }
}

static void test_indirect(void) {
    /* One call site, a target pattern that changes every time and in runs. */
    uint32_t got = 0, want = 0, pattern = 0x9e3779b9u;
    for (uint32_t i = 0; i < 400; i++) {
        uint32_t k = i < 200 ? (pattern >> (i % 29)) & 3 : (i / 50) & 3;
        got = call_ptr(table[k], got + i);
        uint32_t x = want + i;
        want = k == 0 ? x + 1 : k == 1 ? x * 3 : k == 2 ? x ^ 0x55 : 0u - x;
    }
    check_eq("indirect CALL to 4 targets from one site", got, want);
    got = want = 0;
    for (uint32_t i = 0; i < 500; i++) {
        uint32_t op = (i * 7 + (i >> 3)) % 8;
        got += by_switch(op, i);
        uint32_t x = i;
        uint32_t r[8] = {x + 7, x * 5, x ^ 0xA5, x - 9, x << 3, x >> 2, ~x, x * x};
        want += r[op];
    }
    check_eq("switch jump table, 8 targets from one JMP", got, want);
}

/* An indirect call site whose target's code is rewritten, and whose target moves. */
static void test_indirect_smc(void) {
    fn0 a = (fn0)(uint32_t)codebuf, b = (fn0)(uint32_t)(codebuf + 64);
    emit_mov_ret(codebuf, 0x1001);
    emit_mov_ret(codebuf + 64, 0x2002);
    for (int i = 0; i < 3; i++) {
        check_eq("indirect call target, original", call_fn0(a), 0x1001);
        check_eq("indirect call other target", call_fn0(b), 0x2002);
    }
    emit_mov_ret(codebuf, 0x1003);
    check_eq("indirect call target rewritten", call_fn0(a), 0x1003);
    check_eq("indirect call target rewritten, again", call_fn0(a), 0x1003);
    codebuf[1] = 0x04;
    check_eq("indirect call target, one byte changed", call_fn0(a), 0x1004);
}

static void test_smc_around_call(void) {
    check_eq("callee rewrites the return point (1)", flow_smc_continuation(0x111), 0x111);
    check_eq("callee rewrites the return point (2)", flow_smc_continuation(0x222), 0x222);
    check_eq("callee rewrites the return point (3)", flow_smc_continuation(0x333), 0x333);
    check_eq("callee rewrites the calling block (1)", flow_smc_caller(1), 1);
    check_eq("callee rewrites the calling block (2)", flow_smc_caller(2), 3);
    check_eq("callee rewrites the calling block (3)", flow_smc_caller(3), 5);
}

/* A RET whose popped offset is a flat return address, in a code segment based at FLOW_BASE:
 * it continues at FLOW_BASE + that offset (SDM: near RET pops EIP; CS is unchanged). */
static void test_cs_base(void) {
    static uint32_t far_back[2];
    far_back[0] = (uint32_t)flow_far_back;
    far_back[1] = KERNEL_CS;
    gdt_set(3, FLOW_BASE, 0xFFFFF, GDT_CODE_RX, GDT_FLAGS_32_4K);
    volatile uint8_t *p = codebuf + 2 * PAGE;
    p[0] = 0xFF, p[1] = 0xD1;     /* call ecx */
    emit_mov_ret(p + 2, 0xAAAA);  /* the flat return point: must not run */
    volatile uint8_t *q = p + 2 + FLOW_BASE;
    q[0] = 0xB8, q[1] = 0xBB, q[2] = 0xBB, q[3] = 0, q[4] = 0;  /* mov eax, 0xBBBB */
    q[5] = 0xFF, q[6] = 0x2D;                                    /* jmp far [far_back] */
    uint32_t fp = (uint32_t)far_back;
    for (int i = 0; i < 4; i++)
        q[7 + i] = (uint8_t)(fp >> (8 * i));
    p[32] = 0xC3; /* ret: the call returns to the flat return point, which gets chained */
    for (int i = 0; i < 3; i++) {
        check_eq("flat RET to the return point", flow_cs_base((uint32_t)p, (uint32_t)(p + 32)), 0xAAAA);
        check_eq("RET in a code segment with another base",
                 flow_cs_base((uint32_t)p, (uint32_t)flow_far_to_based), 0xBBBB);
    }
}

static void set_cr3(uint32_t v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
static uint32_t get_cr0(void) { uint32_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static void set_cr0(uint32_t v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }

/* Linear page ALIAS holds different code in address spaces A and B: the same call site and the
 * same return address reach other code after a CR3 switch. Page A: call edx; mov eax, 0xA0A0;
 * ret. Page B: the same call, then mov eax, 0xB0B0; ret. */
static void test_cr3(void) {
    for (uint32_t i = 0; i < 1024; i++)
        pt_low[i] = (i * PAGE) | 3;
    uint8_t *pa = codebuf, *pb = codebuf + PAGE;
    for (int i = 0; i < 2; i++) {
        uint8_t *pg = i ? pb : pa;
        pg[0] = 0xFF, pg[1] = 0xD2; /* call edx */
        emit_mov_ret(pg + 2, i ? 0xB0B0 : 0xA0A0);
    }
    pt_a[0] = (uint32_t)pa | 3;
    pt_b[0] = (uint32_t)pb | 3;
    dir_a[0] = dir_b[0] = (uint32_t)pt_low | 3;
    dir_a[1] = (uint32_t)pt_a | 3;
    dir_b[1] = (uint32_t)pt_b | 3;
    set_cr3((uint32_t)dir_a);
    set_cr0(get_cr0() | 0x80000000u);
    uint32_t nop_ret = (uint32_t)(codebuf + 3 * PAGE);
    codebuf[3 * PAGE] = 0xC3; /* ret */
    for (int i = 0; i < 3; i++) {
        set_cr3((uint32_t)dir_a);
        check_eq("CR3 A: code at the shared linear page", flow_call_reg(ALIAS, nop_ret), 0xA0A0);
        set_cr3((uint32_t)dir_b);
        check_eq("CR3 B: same call site, other code", flow_call_reg(ALIAS, nop_ret), 0xB0B0);
        /* Start in A, switch to B inside the call: the RET returns into B's page. */
        set_cr3((uint32_t)dir_a);
        flow_next_cr3 = (uint32_t)dir_b;
        check_eq("RET after a CR3 switch runs the new space's code",
                 flow_call_reg(ALIAS, (uint32_t)flow_switch_cr3), 0xB0B0);
        flow_next_cr3 = (uint32_t)dir_a;
        check_eq("... and back", flow_call_reg(ALIAS, (uint32_t)flow_switch_cr3), 0xA0A0);
    }
    set_cr0(get_cr0() & ~0x80000000u);
}

/* Calls and returns across exception and interrupt handlers. */
static volatile uint32_t handled;
static __attribute__((noinline)) uint32_t in_handler(uint32_t x) { return x * 2 + 1; }
static void on_ud(struct trap_frame *f) {
    handled += in_handler(handled);
    f->eip += 2; /* skip the UD2 */
}
static void on_int(struct trap_frame *f) { f->eax = in_handler(f->eax); }
static __attribute__((noinline)) uint32_t faults_inside(uint32_t x) {
    __asm__ volatile("ud2" ::: "memory");
    return x + handled;
}
static __attribute__((noinline)) uint32_t interrupted_inside(uint32_t x) {
    __asm__ volatile("int $0x40" : "+a"(x) : : "memory");
    return x + 1;
}

static void test_handlers(void) {
    idt_set_handler(6, on_ud);
    idt_set_handler(0x40, on_int);
    uint32_t got = 0, want = 0, h = 0;
    for (uint32_t i = 0; i < 20; i++) {
        got += faults_inside(i);
        h += h * 2 + 1;
        want += i + h;
        got += interrupted_inside(i);
        want += i * 2 + 2;
    }
    check_eq("calls around #UD and INT handlers", got, want);
    idt_set_handler(6, 0);
    idt_set_handler(0x40, 0);
}

/* Single-stepping (EFLAGS.TF) across CALL and RET: a #DB after each instruction, also when
 * the code ran before without TF and its translations are cached, chained and predicted. */
void flow_step_calls(uint32_t tf);
void flow_step_f(void), flow_step_back(void), flow_step_stop(void);
static uint32_t step_log[8], step_count;
static void on_db(struct trap_frame *f) {
    if (step_count < 8)
        step_log[step_count] = f->eip;
    step_count++;
    if (f->eip == (uint32_t)flow_step_stop)
        f->eflags &= ~FL_TF;
}

static void test_single_step(void) {
    idt_set_handler(1, on_db);
    for (int i = 0; i < 3; i++) {
        flow_step_calls(0);
        flow_step_calls(0);
        step_count = 0;
        flow_step_calls(FL_TF);
        check_eq("TF across CALL/RET: 3 traps", step_count, 3);
        check_eq("TF: trap after CALL at the callee", step_log[0], (uint32_t)flow_step_f);
        check_eq("TF: trap after RET at the return point", step_log[1], (uint32_t)flow_step_back);
        check_eq("TF: trap after the next instruction", step_log[2], (uint32_t)flow_step_stop);
    }
    idt_set_handler(1, 0);
}

void kmain(uint32_t magic, uint32_t mbi) {
    (void)magic, (void)mbi;
    gdt_install_flat();
    idt_install();
    serial_puts("flow: calls, returns and indirect branches\n");
    test_returns();
    test_indirect();
    test_indirect_smc();
    test_smc_around_call();
    test_cs_base();
    test_cr3();
    test_handlers();
    test_single_step();
    finish("flow");
}
