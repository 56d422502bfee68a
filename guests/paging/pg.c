/* Paging and ring-3 helpers: see pg.h. */
#include "pg.h"

void ring3_resume(void); /* ring3.asm */

void pg_identity_low(ptable *pd, ptable *pt, uint32_t flags) {
    for (uint32_t i = 0; i < 1024; i++)
        pt->e[i] = i * PAGE | flags | PG_P;
    pd->e[0] = (uint32_t)pt | flags | PG_P;
}

void paging_on(ptable *pd) {
    write_cr3((uint32_t)pd);
    write_cr0(read_cr0() | CR0_PG);
}

void paging_off(void) { write_cr0(read_cr0() & ~CR0_PG); }

uint32_t mb_mem_top(uint32_t mbi) {
    const uint32_t *info = (const uint32_t *)mbi;
    if (!(info[0] & 1))
        return 0;
    return MIB + info[2] * 1024u; /* mem_upper: KiB from 1 MiB to the first hole */
}

int mb_has_word(uint32_t mbi, const char *word) {
    const uint32_t *info = (const uint32_t *)mbi;
    if (!(info[0] & 4) || !info[4])
        return 0;
    size_t n = strlen(word);
    for (const char *s = (const char *)info[4]; *s;) {
        while (*s == ' ')
            s++;
        size_t len = 0;
        while (s[len] && s[len] != ' ')
            len++;
        if (len == n && memcmp(s, word, n) == 0)
            return 1;
        s += len;
    }
    return 0;
}

uint32_t tss[26] __attribute__((aligned(16)));
uint16_t ring3_sregs[4] = {USER_DS, USER_DS, USER_DS, USER_DS};

void ring3_abort(struct trap_frame *f, uint32_t result) {
    f->eax = result;
    f->eip = (uint32_t)ring3_resume;
    f->cs = KERNEL_CS; /* IRET to the same level: SS:ESP stay; ring3_resume reloads ESP */
}

static void exit_handler(struct trap_frame *f) { ring3_abort(f, f->eax); }

void ring3_setup(void) {
    pic_mask_all();
    gdt_set(USER_CS >> 3, 0, 0xFFFFF, GDT_PRESENT | GDT_DPL(3) | 0x1A, GDT_FLAGS_32_4K);
    gdt_set(USER_DS >> 3, 0, 0xFFFFF, GDT_PRESENT | GDT_DPL(3) | 0x12, GDT_FLAGS_32_4K);
    tss[2] = KERNEL_DS;          /* SS0 */
    tss[25] = sizeof tss << 16;  /* I/O map base beyond the limit: no I/O bitmap */
    gdt_set(TSS_SEL >> 3, (uint32_t)tss, sizeof tss - 1, 0x89, 0); /* available 32-bit TSS */
    __asm__ volatile("ltr %w0" ::"r"(TSS_SEL));
    idt_set_handler(VEC_EXIT, exit_handler);
    idt_set_dpl(VEC_EXIT, 3);
}
