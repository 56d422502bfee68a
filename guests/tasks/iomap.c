/* The I/O permission bitmap of a 32-bit TSS (SDM vol. 1 18.5.2): at CPL > IOPL, IN, OUT, INS
 * and OUTS need a clear bit for every port they access; the CPU reads two bytes of the map,
 * both inside the TSS limit. With IOPL = 3 the bitmap is not consulted. */
#include "tasks.h"

#define MAP_OFF 104u    /* the bitmap right after the TSS's 104 bytes */
#define MAP_BYTES 0x80u /* ports 0..0x3ff; the limit ends with it (no 0xff byte after) */

static struct __attribute__((packed, aligned(16))) {
    uint32_t t[26];
    uint8_t map[MAP_BYTES];
} tss_io;
static uint8_t io_kstack[4096] __attribute__((aligned(16)));
static volatile uint8_t io_buf[4];

static void allow(uint16_t port) { tss_io.map[port / 8] &= (uint8_t)~(1u << (port % 8)); }

/* Ring-3 bodies (one port access each; a #GP(0) ends the run). */
static uint32_t out_80(void) { outb(0x80, 0); return 0; }
static uint32_t in_81(void) { return inb(0x81), 0; }
static uint32_t inw_86(void) { return inw(0x86), 0; }
static uint32_t inl_86(void) { return inl(0x86), 0; }
static uint32_t in_3f0(void) { return inb(0x3F0), 0; }
static uint32_t in_3fd(void) { return inb(0x3FD), 0; }
static uint32_t outsb_81(void) {
    __asm__ volatile("rep outsb" ::"S"(io_buf), "c"(1), "d"(0x81) : "memory");
    return 0;
}
static uint32_t insb_80(void) {
    __asm__ volatile("rep insb" ::"D"(io_buf), "c"(1), "d"(0x80) : "memory");
    return 0;
}

static void io_ok(const char *name, uint32_t (*fn)(void), uint32_t iopl) {
    expect_eq(cat(name, "allowed"), run_user_iopl(fn, iopl), 0);
    expect_eq(cat(name, "no trap"), trap_count, 0);
}

static void io_denied(const char *name, uint32_t (*fn)(void)) {
    expect_eq(cat(name, "denied"), run_user(fn), ABORTED);
    expect_user_fault(name, 13, 0);
}

void iomap_tests(void) {
    if (deprivileged) {
        printf_s("SKIP I/O permission bitmap (ring 3; deprivileged kernel)\n");
        return;
    }
    memset(&tss_io, 0, sizeof tss_io);
    tss_io.t[T_ESP0] = (uint32_t)io_kstack + sizeof io_kstack; /* ring3_abort resets ESP */
    tss_io.t[T_SS0] = KERNEL_DS;
    tss_io.t[T_IOMAP] = MAP_OFF << 16;
    memset(tss_io.map, 0xFF, sizeof tss_io.map);
    allow(0x80);
    allow(0x86);
    allow(0x87);
    allow(0x3F0);
    allow(0x3FD);
    /* TR = the bitmap's TSS (LTR needs it available, and leaves it busy). */
    gdt_put(SEL_TSS_IO, (uint32_t)&tss_io, MAP_OFF + MAP_BYTES - 1, 0x89, 0);
    __asm__ volatile("ltr %w0" ::"r"(SEL_TSS_IO));

    io_ok("out 0x80 (bit clear)", out_80, 0);
    io_denied("in 0x81 (bit set)", in_81);
    io_ok("in word 0x86 (0x86, 0x87 clear)", inw_86, 0);
    io_denied("in dword 0x86 (0x88 set)", inl_86);
    io_ok("in 0x3f0 (bytes 0x7e, 0x7f inside the limit)", in_3f0, 0);
    io_denied("in 0x3fd (second byte beyond the limit)", in_3fd);
    io_denied("outsb 0x81", outsb_81);
    io_ok("insb 0x80", insb_80, 0);
    io_ok("in 0x81 with IOPL 3 (no bitmap check)", in_81, 3);

    /* Back to the library's TSS. */
    big_gdt[TSS_SEL >> 3] &= ~(1ull << 41);
    __asm__ volatile("ltr %w0" ::"r"(TSS_SEL));
}
