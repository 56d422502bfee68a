/* Guest driver of the compute kernels (build/guests/compute.elf), run by bench/run_compute.py
   under btvm and under qemu-system-i386.

   The kernel to run comes from the multiboot command line (`-append sieve`): every word that
   names a kernel (sieve, crc32, matmul, quicksort, sha256, empty, selftest, all) runs it; words
   that look like a path (QEMU puts the kernel's file name first) are skipped; with no kernel
   named, the self-test and all kernels run. Each kernel prints
       KERNEL checksum=0xXXXXXXXX PASS|FAIL
   (the same line as compute-native), and the run ends through finish(): status 33 when every
   checksum matched the recorded one, 35 otherwise. */
#include "guest.h"
#include "workloads.h"

#define MB_INFO_CMDLINE (1u << 2) /* multiboot info flags bit 2: cmdline field is valid */

struct multiboot_info_head {
    uint32_t flags;
    uint32_t mem_lower, mem_upper;
    uint32_t boot_device;
    uint32_t cmdline; /* physical address of a NUL-terminated string; paging is off */
};

static void run_kernel(const struct workload *w)
{
    uint32_t sum = w->fn(w->default_reps);
    printf_s("%s checksum=0x%08x %s\n", w->name, sum, sum == w->expected ? "PASS" : "FAIL");
    check_eq(w->name, sum, w->expected);
}

static void run_selftest(void)
{
    int r = workloads_selftest();
    printf_s("selftest %s (%d)\n", r == 0 ? "PASS" : "FAIL", r);
    check("selftest", r == 0);
}

static void run_all(void)
{
    run_selftest();
    for (const struct workload *w = workloads; w->name; w++)
        run_kernel(w);
}

/* Runs the kernel named by word; returns 0 if the word names none. */
static int run_word(const char *word)
{
    if (wl_streq(word, "all")) {
        run_all();
        return 1;
    }
    if (wl_streq(word, "selftest")) {
        run_selftest();
        return 1;
    }
    const struct workload *w = wl_find(word);
    if (!w)
        return 0;
    run_kernel(w);
    return 1;
}

static int looks_like_path(const char *word)
{
    for (; *word; word++)
        if (*word == '/' || *word == '.')
            return 1;
    return 0;
}

void kmain(uint32_t magic, uint32_t mbi)
{
    const char *cmdline = "";
    if (magic == MULTIBOOT_LOADER_MAGIC) {
        const struct multiboot_info_head *info = (const struct multiboot_info_head *)mbi;
        if ((info->flags & MB_INFO_CMDLINE) && info->cmdline)
            cmdline = (const char *)info->cmdline;
    } else {
        printf_s("compute: not loaded by a multiboot loader (eax=0x%08x)\n", magic);
    }

    char word[32];
    int ran = 0;
    const char *p = cmdline;
    while (*p) {
        while (*p == ' ')
            p++;
        uint32_t n = 0;
        while (*p && *p != ' ') {
            if (n < sizeof word - 1)
                word[n++] = *p;
            p++;
        }
        word[n] = 0;
        if (n == 0 || looks_like_path(word))
            continue;
        if (run_word(word)) {
            ran = 1;
        } else {
            printf_s("compute: unknown kernel '%s'\n", word);
            check("known kernel", 0);
            ran = 1;
        }
    }
    if (!ran)
        run_all();
    finish("compute");
}
