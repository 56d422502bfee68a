/* The x87 guest's entry and shared checks (x87.h). */
#include "x87.h"

static void show(const char *name, const char *what, f80 v) {
    printf_s("     %s: %s %04x:%08x%08x\n", name, what, v.se, (uint32_t)(v.m >> 32), (uint32_t)v.m);
}

void check_f80(const char *name, f80 got, f80 want) {
    int ok = got.se == want.se && got.m == want.m;
    expect(name, ok); /* inside a qemu_gap a mismatch prints GAP */
    if (!ok) {
        show(name, "got ", got);
        show(name, "want", want);
    }
}

void check_f80_near(const char *name, f80 got, f80 want, uint32_t ulps) {
    uint64_t d = got.m > want.m ? got.m - want.m : want.m - got.m;
    int ok = got.se == want.se && d <= ulps;
    check(name, ok);
    if (!ok) {
        show(name, "got ", got);
        show(name, "want", want);
    }
}

void check_sw(const char *name, uint16_t sw, uint16_t mask, uint16_t want) {
    expect_eq(name, sw & mask, want);
}

void kmain(uint32_t magic, uint32_t mbi) {
    (void)mbi;
    /* Nothing has touched the FPU yet. Not the state after RESET (SDM vol. 3 table 9-1: FCW
     * 0x0040, tags all "zero"): a Multiboot kernel starts after the BIOS, whose coprocessor probe
     * runs FNINIT; btvm and QEMU both start there. */
    uint16_t cw0 = fnstcw(), sw0 = fnstsw();
    uint8_t env0[28];
    __asm__ volatile("fnstenv %0; fldenv %0" : "+m"(env0));
    expect_eq("multiboot magic", magic, MULTIBOOT_LOADER_MAGIC);
    detect_reference();
    expect_eq("fcw at entry: FNINIT's", cw0, 0x037F);
    expect_eq("ftw at entry: all empty", *(uint16_t *)(env0 + 8), 0xFFFF);
    expect_eq("fsw at entry", sw0, 0);
    gdt_install_flat();
    idt_install();
    outb(0x21, 0xFF);
    outb(0xA1, 0xFF);
    trap_catch(6, 7);
    trap_catch(16, 16);

    t_constants();
    t_arith();
    t_functions();
    t_integers();
    t_compare();
    t_classes();
    t_stack();
    t_env();
    t_faults();
    t_pointers();
    t_compiled();
    expect_finish("x87");
}
