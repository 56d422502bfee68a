/* demo: the default guest. It runs the instructions that make x86 hard to virtualize (they
 * read privileged state but do not trap outside ring 0) and prints what each returned next to
 * what a real CPU running this kernel at ring 0 returns. Under btvm's default mode (translate)
 * or --mode patch they agree; under --mode trap several of them disagree. */
#include "guest.h"
#include "idt.h"

#define TSS_SEL 0x18 /* GDT slot 3 */

static uint8_t tss[104]; /* a 32-bit TSS; only its descriptor matters here (for LTR/STR) */

struct __attribute__((packed)) dtr {
    uint16_t limit;
    uint32_t base;
};

static uint32_t crc32(const char *s) {
    uint32_t c = 0xFFFFFFFF;
    for (; *s; s++) {
        c ^= (uint8_t)*s;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320 & (0u - (c & 1)));
    }
    return ~c;
}

void kmain(uint32_t magic, uint32_t mbi) {
    (void)mbi;
    serial_puts("btvm demo guest: a tiny kernel, loaded by multiboot, running in ring 0.\n"
                "Under btvm every instruction here was translated to x86-64 before it ran.\n"
                "Sensitive instructions read privileged state without trapping outside ring 0;\n"
                "a correct VMM must hand them the guest's virtual state. Each line shows what\n"
                "the instruction returned here and what a real CPU gives this kernel at ring 0:\n");
    check_eq("multiboot magic", magic, MULTIBOOT_LOADER_MAGIC);

    gdt_install_flat();
    idt_install();
    pic_mask_all(); /* we will set IF: no device interrupts wanted */
    gdt_set(3, (uint32_t)tss, sizeof tss - 1, 0x89, 0); /* available 32-bit TSS */
    __asm__ volatile("ltr %w0" ::"r"(TSS_SEL));

    /* POPF silently ignores IF outside ring 0 (with IOPL 0): the classic Popek-Goldberg case. */
    uint32_t f;
    __asm__ volatile("sti; pushfl; andl $~0x200, (%%esp); popfl; pushfl; popl %0" : "=r"(f));
    check_eq_show("popf clears IF   ", f & FL_IF, 0);
    __asm__ volatile("cli; pushfl; orl $0x200, (%%esp); popfl; pushfl; popl %0; cli" : "=r"(f));
    check_eq_show("popf sets IF     ", f & FL_IF, FL_IF);

    struct dtr g, i;
    __asm__ volatile("sgdt %0; sidt %1" : "=m"(g), "=m"(i));
    check_eq_show("sgdt base        ", g.base, gdt_address());
    check_eq_show("sgdt limit       ", g.limit, GDT_ENTRIES * 8 - 1);
    check_eq_show("sidt base        ", i.base, idt_address());

    uint32_t msw, cr0;
    __asm__ volatile("smsw %0; mov %%cr0, %1" : "=r"(msw), "=r"(cr0));
    check_eq_show("smsw = low CR0   ", msw & 0xFFFF, cr0 & 0xFFFF);

    uint32_t tr = 0;
    __asm__ volatile("str %0" : "+r"(tr));
    check_eq_show("str              ", tr & 0xFFFF, TSS_SEL);
    check_eq_show("mov r,cs (RPL 0) ", read_cs(), KERNEL_CS);

    /* LAR of our code segment: G=1 D=1, P=1 DPL=0 code exec/read. Bits 19:16 are undefined
     * and the CPU sets the accessed bit, so both are masked. Outside ring 0 the DPL check
     * fails and ZF stays clear. */
    uint32_t rights = 0, zf;
    __asm__ volatile("lar %2, %0; pushfl; popl %1" : "+r"(rights), "=r"(zf) : "r"((uint32_t)KERNEL_CS));
    check_eq_show("lar cs rights    ", rights & 0x00F0FE00, 0x00C09A00);
    check_eq_show("lar cs ZF        ", zf & FL_ZF, FL_ZF);

    /* And some plain computation: CRC-32 of "123456789" is the standard check value. */
    check_eq_show("crc32(123456789) ", crc32("123456789"), 0xCBF43926);
    finish("demo");
}
