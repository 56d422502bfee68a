/* mbinfo: every field of the Multiboot information a loader hands the kernel, as GRUB and QEMU
 * fill it. Run with the arguments in tests/guests/meson.build:
 *   btvm -append "alpha beta" -initrd "guests/mbinfo/module1.txt one two,guests/mbinfo/module2.txt" mbinfo.elf
 *   guests/run-in-qemu.sh mbinfo build -append "alpha beta" -initrd "..."   (the same under QEMU) */
#include "guest.h"

extern char _kernel_end[];
#define KERNEL_START 0x100000u

struct mb_info {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr, drives_length, drives_addr, config_table, boot_loader_name;
} __attribute__((packed));

struct mb_module {
    uint32_t start, end, string, reserved;
};

struct mb_mmap {
    uint32_t size;
    uint64_t addr, len;
    uint32_t type;
} __attribute__((packed));

static int ends_with(const char *s, const char *tail) {
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && !memcmp(s + n - m, tail, m);
}

/* [a, a+n) does not meet the loaded kernel image. */
static int clear_of_kernel(uint32_t a, uint32_t n) {
    return a + n <= KERNEL_START || a >= (uint32_t)_kernel_end;
}

static int overlaps(uint32_t a, uint32_t an, uint32_t b, uint32_t bn) { return a < b + bn && b < a + an; }

static const char *module_text[2] = {"btvm multiboot module 1\n", "module two\n"};
static const char *module_cmd_tail[2] = {"module1.txt one two", "module2.txt"};

static void test_mmap(const struct mb_info *mb) {
    check("flags: bit 6, memory map", mb->flags & (1u << 6));
    if (!(mb->flags & (1u << 6))) return;
    check("mmap: clear of the kernel image", clear_of_kernel(mb->mmap_addr, mb->mmap_length));
    uint32_t at = mb->mmap_addr, end = mb->mmap_addr + mb->mmap_length, n = 0, bad_size = 0;
    int low_ram = 0, high_ram = 0, bios_reserved = 0, ram_over_bios = 0;
    uint64_t high_len = 0;
    while (at < end) {
        const struct mb_mmap *e = (const void *)at;
        if (e->size < 20) bad_size++;
        printf_s("     mmap %08x%08x +%08x%08x type %u\n", (uint32_t)(e->addr >> 32), (uint32_t)e->addr,
                 (uint32_t)(e->len >> 32), (uint32_t)e->len, e->type);
        if (e->type == 1 && e->addr == 0 && e->len >= 0x9f000 && e->len <= 0xa0000) low_ram = 1;
        if (e->type == 1 && e->addr == 0x100000) { high_ram = 1; high_len = e->len; }
        if (e->type == 2 && e->addr <= 0xf0000 && e->addr + e->len >= 0x100000) bios_reserved = 1;
        if (e->type == 1 && e->addr < 0x100000 && e->addr + e->len > 0xa0000) ram_over_bios = 1;
        at += e->size + 4;
        n++;
    }
    check("mmap: entries of at least 20 bytes, walked exactly to mmap_length", bad_size == 0 && at == end && n > 0);
    check("mmap: RAM from 0 up to the EBDA (639-640 KiB)", low_ram);
    check("mmap: RAM from 1 MiB", high_ram);
    check("mmap: F0000-FFFFF reserved (BIOS), no RAM in A0000-FFFFF", bios_reserved && !ram_over_bios);
    uint64_t upper_end = 0x100000 + (uint64_t)mb->mem_upper * 1024;
    check("mmap: RAM at 1 MiB ends within 1 MiB below mem_upper's end",
          0x100000 + high_len <= upper_end && 0x100000 + high_len + 0x100000 >= upper_end);
}

static void test_modules(const struct mb_info *mb) {
    check("flags: bit 3, modules", mb->flags & (1u << 3));
    check_eq("mods_count", mb->mods_count, 2);
    if (!(mb->flags & (1u << 3)) || mb->mods_count != 2) return;
    const struct mb_module *m = (const void *)mb->mods_addr;
    check("mods: list clear of the kernel image", clear_of_kernel(mb->mods_addr, 32));
    for (int i = 0; i < 2; ++i) {
        uint32_t len = m[i].end - m[i].start;
        const char *cmd = (const char *)m[i].string;
        printf_s("     module %d at %08x..%08x '%s'\n", i, m[i].start, m[i].end, cmd ? cmd : "(null)");
        check("mods: page aligned", (m[i].start & 0xfff) == 0);
        check("mods: clear of the kernel image", clear_of_kernel(m[i].start, len));
        check("mods: clear of the information structure", !overlaps(m[i].start, len, (uint32_t)mb, sizeof *mb));
        check_eq("mods: length is the file's", len, strlen(module_text[i]));
        check("mods: contents are the file's", !memcmp((void *)m[i].start, module_text[i], strlen(module_text[i])));
        check("mods: string is the -initrd item (path and arguments)", cmd && ends_with(cmd, module_cmd_tail[i]));
    }
    check("mods: do not overlap each other", !overlaps(m[0].start, m[0].end - m[0].start, m[1].start, m[1].end - m[1].start));
}

void kmain(uint32_t magic, uint32_t mbi) {
    check_eq("magic in EAX", magic, MULTIBOOT_LOADER_MAGIC);
    const struct mb_info *mb = (const void *)mbi;
    printf_s("     mbi at %08x, kernel %08x..%08x, flags %08x\n", mbi, KERNEL_START, (uint32_t)_kernel_end, mb->flags);
    check("mbi: clear of the kernel image", clear_of_kernel(mbi, sizeof *mb));
    check("flags: bit 0, mem_lower/mem_upper", mb->flags & 1);
    check("mem_lower is 639 or 640 KiB", mb->mem_lower == 639 || mb->mem_lower == 640);
    check("mem_upper is at least 1 MiB", mb->mem_upper >= 1024);
    printf_s("     mem_lower %u KiB, mem_upper %u KiB, boot_device %08x\n", mb->mem_lower, mb->mem_upper,
             mb->boot_device);
    if (mb->flags & 2) check_eq("boot_device: BIOS drive 0x80, no partition", mb->boot_device, 0x8000ffffu);

    check("flags: bit 2, cmdline", mb->flags & 4);
    const char *cmd = (mb->flags & 4) ? (const char *)mb->cmdline : "";
    printf_s("     cmdline '%s'\n", cmd);
    check("cmdline: clear of the kernel image", clear_of_kernel(mb->cmdline, strlen(cmd) + 1));
    check("cmdline: 'KERNEL_PATH ARGS' as QEMU gives it", ends_with(cmd, "mbinfo.elf alpha beta"));

    test_modules(mb);
    test_mmap(mb);

    check("flags: bit 9, boot loader name", mb->flags & (1u << 9));
    const char *name = (mb->flags & (1u << 9)) ? (const char *)mb->boot_loader_name : "";
    printf_s("     boot loader '%s'\n", name);
    check("boot loader name: not empty", name[0] != 0);
    check("flags: no a.out or ELF symbols, drives, config table, APM or VBE claimed",
          !(mb->flags & ((1u << 4) | (1u << 5) | (1u << 7) | (1u << 8) | (1u << 10) | (1u << 11))));
    finish("mbinfo");
}
