/* The privileged half of the tour: instructions that fault outside ring 0 (or above IOPL), so a
 * trap-and-emulate VMM sees each one and can give the guest its virtual state. At ring 0 each
 * runs without a fault; where it has an effect we can read back without a sensitive
 * instruction, the line checks that too. HLT is left out: it would wait for an interrupt. */
#include "tour.h"

#define COM1_SCR 0x3FF /* the 16550's scratch register: a harmless port to write and read */
#define CR0_TS 0x8u
#define MSR_TSC 0x10

/* Reads a control register, writes the value back and reads it again. */
#define CR_ROUND_TRIP(cr, before, after)                                                           \
    __asm__ volatile(CATCH("movl %%" cr ", %0\n\tmovl %0, %%" cr "\n\tmovl %%" cr ", %1")         \
                     : "+r"(before), "+r"(after) : : "memory")

void privileged_tour(void) {
    arm();
    __asm__ volatile(CATCH("cli") : : : "memory");
    no_fault(PRIVILEGED, "CLI");
    arm();
    __asm__ volatile(CATCH("sti") : : : "memory");
    no_fault(PRIVILEGED, "STI");
    __asm__ volatile("cli");

    uint8_t scr = 0;
    arm();
    __asm__ volatile(CATCH("outb %%al, %%dx\n\tmovb $0, %%al\n\tinb %%dx, %%al")
                     : "=a"(scr) : "0"((uint8_t)0xA5), "d"(COM1_SCR) : "memory");
    report(PRIVILEGED, "OUT/IN 3ff", "a5", fmt("%02x", scr));

    struct dtr g = {GDT_ENTRIES * 8 - 1, gdt_address()}, i = {256 * 8 - 1, idt_address()};
    arm();
    __asm__ volatile(CATCH("lgdt %0\n\tlidt %1") : : "m"(g), "m"(i) : "memory");
    no_fault(PRIVILEGED, "LGDT/LIDT");

    arm();
    __asm__ volatile(CATCH("lldt %w0") : : "r"(SEL_LDT) : "memory");
    no_fault(PRIVILEGED, "LLDT");

    /* LTR marks the TSS busy, and a busy TSS cannot be loaded again: make it available. */
    gdt_set(SEL_TSS >> 3, (uint32_t)tss, sizeof tss - 1, 0x89, 0);
    arm();
    __asm__ volatile(CATCH("ltr %w0") : : "r"(SEL_TSS) : "memory");
    no_fault(PRIVILEGED, "LTR");

    uint32_t before = 0, after = 0, cr3 = 0, cr3b = 0, cr4 = 0, cr4b = 0;
    arm();
    CR_ROUND_TRIP("cr0", before, after);
    CR_ROUND_TRIP("cr3", cr3, cr3b);
    CR_ROUND_TRIP("cr4", cr4, cr4b);
    report(PRIVILEGED, "MOV CR0/3/4", fmt("%08x/%08x/%08x", cr0_start, cr3, cr4),
           fmt("%08x/%08x/%08x", after, cr3b, cr4b));

    uint32_t dr7 = 0;
    arm();
    __asm__ volatile(CATCH("movl %1, %%dr7\n\tmovl %%dr7, %0") : "+r"(dr7) : "r"(0x400u) : "memory");
    report(PRIVILEGED, "MOV DR7", "00000400", fmt("%08x", dr7));

    /* LMSW sets CR0.TS (no x87 code runs here to notice), CLTS clears it again. */
    uint32_t cr0 = 0;
    arm();
    __asm__ volatile(CATCH("lmsw %w1\n\tmovl %%cr0, %0") : "+r"(cr0) : "r"(cr0_start | CR0_TS) : "memory");
    report(PRIVILEGED, "LMSW", fmt("%08x", cr0_start | CR0_TS), fmt("%08x", cr0));
    cr0 = 0;
    arm();
    __asm__ volatile(CATCH("clts\n\tmovl %%cr0, %0") : "+r"(cr0) : : "memory");
    report(PRIVILEGED, "CLTS", fmt("%08x", cr0_start & ~CR0_TS), fmt("%08x", cr0));
    /* Should CLTS have failed, leave no TS behind: try once more, quietly. */
    __asm__ volatile(CATCH("clts") : : : "memory");

    arm();
    __asm__ volatile(CATCH("invlpg (%0)") : : "r"(&cr0_start) : "memory");
    no_fault(PRIVILEGED, "INVLPG");
    arm();
    __asm__ volatile(CATCH("wbinvd") : : : "memory");
    no_fault(PRIVILEGED, "WBINVD");

    /* RDMSR of the time-stamp counter; an emulator without it raises #GP, which we catch. */
    uint32_t lo = 0, hi = 0;
    arm();
    __asm__ volatile(CATCH("rdmsr") : "+a"(lo), "+d"(hi) : "c"(MSR_TSC) : "memory");
    no_fault(PRIVILEGED, "RDMSR 0x10");
}
