/* smc: self-modifying code. Code is rewritten after it has run (so a translator has a stale
 * translation of it): in the same basic block, in a later block, inside a loop, by copying a
 * whole function, through a segment alias, in a code buffer (also across a page boundary),
 * and, with paging, through a second linear mapping of the same physical page. */
#include "guest.h"
#include "idt.h"

typedef uint32_t (*fn0)(void);

uint32_t smc_same_block(uint32_t v);
uint32_t smc_later_block(uint32_t v);
uint32_t smc_loop(uint32_t n);
uint32_t smc_opcode_flip(void);
uint32_t smc_victim(void);
uint32_t smc_seg_target(void);
uint32_t smc_alias_target(void);
uint32_t smc_data_in_code(uint32_t n);
extern uint8_t smc_replacement[], smc_replacement_end[];

#define PAGE 4096u
#define SEG_ALIAS_SEL 0x18       /* GDT slot 3: data segment based at 1 MiB */
#define SEG_ALIAS_BASE 0x100000u
#define ALIAS_BASE 0x400000u     /* linear 4 MiB: second mapping of a code page */

static uint8_t jitbuf[4 * PAGE] __attribute__((aligned(PAGE)));
static uint32_t page_dir[1024] __attribute__((aligned(PAGE)));
static uint32_t pt_low[1024] __attribute__((aligned(PAGE)));   /* identity map of 0-4 MiB */
static uint32_t pt_alias[1024] __attribute__((aligned(PAGE))); /* 4 MiB: one page */

/* mov eax, imm32; ret */
static void emit_mov_ret(volatile uint8_t *p, uint32_t imm) {
    p[0] = 0xB8;
    for (int i = 0; i < 4; i++)
        p[1 + i] = (uint8_t)(imm >> (8 * i));
    p[5] = 0xC3;
}

static void test_in_place(void) {
    check_eq("same block, first", smc_same_block(0x1111), 0x1111);
    check_eq("same block, again", smc_same_block(0x2222), 0x2222);
    check_eq("same block, third", smc_same_block(0xDEADBEEF), 0xDEADBEEF);
    check_eq("later block, first", smc_later_block(0x3333), 0x3333);
    check_eq("later block, again", smc_later_block(0x4444), 0x4444);
    check_eq("loop patching its ADD, n=10", smc_loop(10), 55);
    check_eq("loop patching its ADD, n=100", smc_loop(100), 5050);
    check_eq("loop patching its ADD, n=1", smc_loop(1), 1);
    check_eq("loop flipping an opcode", smc_opcode_flip(), 63);
    check_eq("loop flipping an opcode, again", smc_opcode_flip(), 63);
    check_eq("data in the code page", smc_data_in_code(1000), 1000);
}

static void test_overwrite_function(void) {
    uint8_t saved[16];
    uint8_t *victim = (uint8_t *)(uint32_t)smc_victim;
    check_eq("victim before", smc_victim(), 1);
    check_eq("victim before, again", smc_victim(), 1);
    memcpy(saved, victim, sizeof saved);
    memcpy(victim, smc_replacement, (uint32_t)(smc_replacement_end - smc_replacement));
    __asm__ volatile("" ::: "memory");
    check_eq("victim overwritten by memcpy", smc_victim(), 4);
    /* Put the original back with REP MOVSB: a string write to code. */
    const uint8_t *from = saved;
    uint32_t n = sizeof saved;
    __asm__ volatile("rep movsb" : "+S"(from), "+D"(victim), "+c"(n) : : "memory");
    check_eq("victim restored by rep movsb", smc_victim(), 1);
}

/* Write the immediate of smc_seg_target through ES based at 1 MiB: a different address
 * (offset) for the same linear and physical bytes. */
static void test_segment_alias(void) {
    gdt_set(3, SEG_ALIAS_BASE, 0xFFFFF, GDT_DATA_RW, GDT_FLAGS_32_4K);
    uint32_t offset = (uint32_t)smc_seg_target + 1 - SEG_ALIAS_BASE;
    check_eq("segment alias, before", smc_seg_target(), 0x11111111);
    __asm__ volatile("movw %w2, %%es; movl %1, %%es:(%0); movw %w3, %%es"
                     : : "r"(offset), "r"(0x12345678), "r"(SEG_ALIAS_SEL), "r"(KERNEL_DS) : "memory");
    check_eq("segment alias, after", smc_seg_target(), 0x12345678);
}

/* Code generated into a data buffer, regenerated at the same address. */
static void test_code_buffer(void) {
    fn0 f = (fn0)(uint32_t)jitbuf;
    emit_mov_ret(jitbuf, 0xA1);
    check_eq("generated code", f(), 0xA1);
    jitbuf[1] = 0xA2;
    check_eq("generated code, one byte changed", f(), 0xA2);
    emit_mov_ret(jitbuf, 0xA3);
    check_eq("generated code, rewritten", f(), 0xA3);

    /* An instruction straddling a page boundary: change only its bytes in the second page. */
    uint8_t *p = jitbuf + PAGE - 3;
    fn0 g = (fn0)(uint32_t)p;
    emit_mov_ret(p, 0x01020304);
    check_eq("straddling code", g(), 0x01020304);
    check_eq("straddling code, again", g(), 0x01020304);
    jitbuf[PAGE + 1] = 0x55; /* the imm's top byte, in the second page */
    check_eq("straddling code, second page changed", g(), 0x55020304);
    jitbuf[PAGE - 2] = 0x66; /* the imm's low byte, in the first page */
    check_eq("straddling code, first page changed", g(), 0x55020366);
}

static void set_cr3(uint32_t v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
static uint32_t get_cr0(void) { uint32_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static void set_cr0(uint32_t v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
static void invlpg(uint32_t a) { __asm__ volatile("invlpg (%0)" : : "r"(a) : "memory"); }

/* With paging: the page holding smc_alias_target is mapped a second time at ALIAS_BASE.
 * A write through one mapping must be seen by code run through the other, so stale
 * translations must be found by physical address. Then the alias is pointed at another
 * physical page: same linear address, different code. */
static void test_paging_alias(void) {
    for (uint32_t i = 0; i < 1024; i++)
        pt_low[i] = (i * PAGE) | 3; /* present, writable, supervisor */
    uint32_t target = (uint32_t)smc_alias_target;
    pt_alias[0] = (target & ~(PAGE - 1)) | 3;
    page_dir[0] = (uint32_t)pt_low | 3;
    page_dir[1] = (uint32_t)pt_alias | 3;
    set_cr3((uint32_t)page_dir);
    set_cr0(get_cr0() | 0x80000000u); /* CR0.PG */

    uint32_t alias = ALIAS_BASE + (target & (PAGE - 1));
    fn0 via_alias = (fn0)alias;
    volatile uint32_t *imm_direct = (volatile uint32_t *)(target + 1);
    volatile uint32_t *imm_alias = (volatile uint32_t *)(alias + 1);
    check_eq("paging: code via identity", smc_alias_target(), 0x22222222);
    check_eq("paging: code via alias", via_alias(), 0x22222222);
    *imm_alias = 0x33333333;
    check_eq("paging: alias write, identity run", smc_alias_target(), 0x33333333);
    check_eq("paging: alias write, alias run", via_alias(), 0x33333333);
    *imm_direct = 0x44444444;
    check_eq("paging: identity write, alias run", via_alias(), 0x44444444);
    check_eq("paging: identity write, identity run", smc_alias_target(), 0x44444444);

    /* Remap the alias page to two code pages in turn, each with its own code at offset 0. */
    emit_mov_ret(jitbuf + 2 * PAGE, 0xAAAA);
    emit_mov_ret(jitbuf + 3 * PAGE, 0xBBBB);
    fn0 at_alias = (fn0)ALIAS_BASE;
    pt_alias[0] = (uint32_t)(jitbuf + 2 * PAGE) | 3;
    invlpg(ALIAS_BASE);
    check_eq("paging: remapped code page A", at_alias(), 0xAAAA);
    pt_alias[0] = (uint32_t)(jitbuf + 3 * PAGE) | 3;
    invlpg(ALIAS_BASE);
    check_eq("paging: remapped code page B", at_alias(), 0xBBBB);
    pt_alias[0] = (uint32_t)(jitbuf + 2 * PAGE) | 3;
    invlpg(ALIAS_BASE);
    check_eq("paging: remapped back to A", at_alias(), 0xAAAA);

    set_cr0(get_cr0() & ~0x80000000u);
}

void kmain(uint32_t magic, uint32_t mbi) {
    (void)magic, (void)mbi;
    gdt_install_flat();
    idt_install(); /* any fault is reported with its address instead of a triple fault */
    serial_puts("smc: code that rewrites itself must run its new bytes\n");
    test_in_place();
    test_overwrite_function();
    test_segment_alias();
    test_code_buffer();
    test_paging_alias();
    finish("smc");
}
