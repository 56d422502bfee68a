/* IDT and GDT for guest kernels: see idt.h. */
#include "idt.h"
#include "guest.h"

struct __attribute__((packed)) table_register {
    uint16_t limit;
    uint32_t base;
};

struct idt_gate {
    uint16_t offset_lo, selector;
    uint8_t zero, type_attr;
    uint16_t offset_hi;
};

#define GATE_INT32 0x8E /* present, DPL 0, 32-bit interrupt gate (clears IF on entry) */

extern const uint32_t isr_table[256];
void gdt_load_flat(const struct table_register *gdtr);
void trap_dispatch(struct trap_frame *frame);

static struct idt_gate idt[256] __attribute__((aligned(8)));
static trap_handler handlers[256];
static int idt_installed;
static uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(8)));

static const char *const exception_names[20] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "coproc",
    "#TS", "#NP", "#SS", "#GP", "#PF", "?",   "#MF", "#AC", "#MC", "#XM",
};

void trap_dispatch(struct trap_frame *f) {
    trap_handler h = handlers[f->vector & 0xFF];
    if (h) {
        h(f);
        return;
    }
    /* Nobody expected this trap: say where it happened and fail the run. */
    printf_s("FAIL: unexpected trap %u (%s) error=0x%x at %04x:%08x eflags=%08x\n", f->vector,
             f->vector < 20 ? exception_names[f->vector] : "int", f->error_code, f->cs, f->eip, f->eflags);
    guest_exit(0x11);
}

static void set_gate(int v, uint16_t selector, uint8_t type_attr) {
    idt[v].offset_lo = isr_table[v] & 0xFFFF;
    idt[v].offset_hi = isr_table[v] >> 16;
    idt[v].selector = selector;
    idt[v].zero = 0;
    idt[v].type_attr = type_attr;
}

void idt_install(void) {
    /* The loader's CS differs between loaders (btvm and QEMU both use 0x08 today, but a
     * guest may have loaded its own GDT): gates must name the code segment we run in. */
    uint16_t cs = read_cs();
    for (int v = 0; v < 256; v++)
        set_gate(v, cs, GATE_INT32);
    struct table_register idtr = {sizeof idt - 1, (uint32_t)idt};
    __asm__ volatile("lidt %0" ::"m"(idtr));
    idt_installed = 1;
}

void idt_set_handler(int vector, trap_handler h) { handlers[vector & 0xFF] = h; }

void idt_set_dpl(int vector, int dpl) {
    idt[vector & 0xFF].type_attr = (uint8_t)((idt[vector & 0xFF].type_attr & ~0x60) | ((dpl & 3) << 5));
}

void gdt_set(int index, uint32_t base, uint32_t limit, uint8_t access, uint8_t flags) {
    if (index <= 0 || index >= GDT_ENTRIES)
        return;
    uint64_t d = (limit & 0xFFFFull) | ((uint64_t)(base & 0xFFFFFF) << 16) | ((uint64_t)access << 40) |
                 ((uint64_t)((limit >> 16) & 0xF) << 48) | ((uint64_t)(flags & 0xF) << 52) |
                 ((uint64_t)(base >> 24) << 56);
    gdt[index] = d;
}

uint64_t gdt_get(int index) { return (index >= 0 && index < GDT_ENTRIES) ? gdt[index] : 0; }

void gdt_install_flat(void) {
    gdt[0] = 0;
    gdt_set(1, 0, 0xFFFFF, GDT_CODE_RX, GDT_FLAGS_32_4K);
    gdt_set(2, 0, 0xFFFFF, GDT_DATA_RW, GDT_FLAGS_32_4K);
    struct table_register gdtr = {sizeof gdt - 1, (uint32_t)gdt};
    gdt_load_flat(&gdtr);
    if (idt_installed)
        for (int v = 0; v < 256; v++)
            idt[v].selector = KERNEL_CS;
}

uint32_t gdt_address(void) { return (uint32_t)gdt; }
uint32_t idt_address(void) { return (uint32_t)idt; }
