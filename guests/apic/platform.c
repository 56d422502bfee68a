/* platform: QEMU's fw_cfg (0x510 selector, 0x511 data) and isa-debugcon (0xe9). The runner
 * starts the guest with -m 32, -append "apic fw_cfg" and a debugcon file it then reads. The
 * kernel/initrd items are checked as QEMU 7.2 gives them to a Multiboot kernel. */
#include "apic.h"

extern void _start(void);

static void fw_select(uint16_t key) { outw(0x510, key); }
static uint32_t fw_u32(void) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)inb(0x511) << (8 * i);
    return v;
}

void test_fw_cfg(uint32_t mbi_addr) {
    char sig[5] = {0};
    fw_select(0x00);
    for (int i = 0; i < 4; i++)
        sig[i] = (char)inb(0x511);
    check("fw_cfg: signature QEMU", memcmp(sig, "QEMU", 4) == 0);
    fw_select(0x01);
    check("fw_cfg: ID bit 0 (port interface)", fw_u32() & 1);
    fw_select(0x03);
    uint32_t lo = fw_u32(), hi = fw_u32();
    check("fw_cfg: RAM size 32 MiB", lo == (32u << 20) && hi == 0);
    fw_select(0x05);
    check_eq("fw_cfg: one CPU", fw_u32() & 0xFFFF, 1);
    /* A Multiboot kernel: QEMU gives the command line only in the Multiboot information, whose
     * address and size are INITRD_ADDR/SIZE, and its entry point as KERNEL_ENTRY. */
    fw_select(0x14);
    check_eq("fw_cfg: no CMDLINE_SIZE for a Multiboot kernel", fw_u32(), 0);
    fw_select(0x0A);
    check_eq("fw_cfg: INITRD_ADDR is the Multiboot information (EBX)", fw_u32(), mbi_addr);
    fw_select(0x0B);
    check_eq("fw_cfg: INITRD_SIZE is its size", fw_u32(), 88);
    fw_select(0x10);
    check_eq("fw_cfg: KERNEL_ENTRY is _start", fw_u32(), (uint32_t)_start);
    const char *cmd = (const char *)((uint32_t *)mbi_addr)[4];
    uint32_t len = strlen(cmd);
    check("Multiboot command line ends in -append's 'apic fw_cfg'",
          len >= 11 && memcmp(cmd + len - 11, "apic fw_cfg", 11) == 0);
    fw_select(0x19);
    uint32_t files = 0;
    for (int i = 0; i < 4; i++)
        files = files << 8 | inb(0x511);
    check("fw_cfg: a file directory", files > 0 && files < 100);
}

void test_debugcon(void) {
    check_eq("debugcon: port 0xe9 reads back 0xe9", inb(0xE9), 0xE9);
    for (const char *p = "debugcon: hello from the apic guest\n"; *p; p++)
        outb(0xE9, (uint8_t)*p);
}
