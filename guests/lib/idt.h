/* Interrupt and descriptor tables for guest kernels.
 *
 * idt_install() points all 256 vectors at stubs that build a struct trap_frame and call the
 * handler registered for the vector (or a default that reports the trap and fails the run).
 * A handler may change any field of the frame, e.g. frame->eip += 2 to skip a faulting
 * 2-byte instruction; the stub restores everything from the frame and IRETs.
 *
 * Caveat: vectors 8, 10-14 and 17 expect the error code the CPU pushes for those exceptions.
 * A software "int n" never pushes one, so do not raise those vectors with INT n. */
#pragma once
#include <stdint.h>

struct trap_frame {
    uint32_t es, ds;                    /* pushed by the stub */
    uint32_t edi, esi, ebp, esp_pusha;  /* pusha order; esp_pusha is ignored by popa */
    uint32_t ebx, edx, ecx, eax;
    uint32_t vector;
    uint32_t error_code;                /* 0 for vectors without one */
    uint32_t eip, cs, eflags;           /* pushed by the CPU */
    uint32_t user_esp, user_ss;         /* only present when the trap came from CPL > 0 */
};
/* For a trap from ring 0 the interrupted ESP is (uint32_t)&frame->user_esp. */

typedef void (*trap_handler)(struct trap_frame *frame);

void idt_install(void);                              /* build and load the IDT (gates use the current CS) */
void idt_set_handler(int vector, trap_handler h);    /* h = 0 restores the default (fail the run) */
void idt_set_dpl(int vector, int dpl);               /* let INT n from ring dpl reach this gate */

/* Our own flat GDT. Slots 0-2 are fixed; 3..GDT_ENTRIES-1 are free for gdt_set(). */
#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
#define GDT_FIRST_FREE 3
#define GDT_ENTRIES 16

/* Access byte bits and common values (Intel SDM vol. 3, 3.4.5). */
#define GDT_PRESENT 0x80
#define GDT_DPL(n) ((n) << 5)
#define GDT_CODE_RX 0x9A   /* present, DPL 0, code, execute/read */
#define GDT_DATA_RW 0x92   /* present, DPL 0, data, read/write */
/* flags nibble: bit 3 = G (4 KiB granularity), bit 2 = D/B (32-bit) */
#define GDT_FLAGS_32_4K 0xC
#define GDT_FLAGS_32_BYTE 0x4

/* Load a GDT of null, flat code (KERNEL_CS), flat data (KERNEL_DS) and free slots, then reload
 * CS with a far jump and DS, ES, FS, GS, SS with KERNEL_DS. Gates of an installed IDT are moved
 * to KERNEL_CS. */
void gdt_install_flat(void);
/* Write descriptor `index` of our GDT (call gdt_install_flat first). limit is the 20-bit limit
 * field (in 4 KiB units when flags has G). The CPU reads it at the next load of a selector. */
void gdt_set(int index, uint32_t base, uint32_t limit, uint8_t access, uint8_t flags);
uint64_t gdt_get(int index);                         /* raw descriptor, e.g. to see the accessed bit */

/* Where our tables live, as given to lgdt/lidt (what SGDT/SIDT at ring 0 must return).
 * Limits: GDT_ENTRIES * 8 - 1 and 256 * 8 - 1. */
uint32_t gdt_address(void);
uint32_t idt_address(void);

static inline uint16_t read_cs(void) {
    uint16_t v;
    __asm__ volatile("mov %%cs, %0" : "=r"(v));
    return v;
}
