/* Shared by the benchmark guests bench_mmu and bench_modes (run by bench/mmu/run_mmu.py and
 * bench/modes/run_modes.py): the multiboot command line as "LOOP key=N ...", and raw IDT gates
 * for handlers written in asm (the library's C trap path would add its own cost, and in patch
 * mode its segment-register pushes and loads would each trap).
 *
 * Command line: the first word that is neither a path (QEMU puts the kernel's file name first)
 * nor key=value names the loop; key=value words set parameters (decimal, or 0x hex). */
#pragma once
#include <stdint.h>

void bench_init(uint32_t magic, uint32_t mbi); /* copies the command line (call first) */
const char *bench_loop(void);                  /* the loop's name, or 0 when none was given */
uint32_t bench_arg(const char *key, uint32_t dflt);

/* Points IDT vector `vector` at `entry` (a 32-bit interrupt gate in the current CS, DPL dpl).
 * Call after idt_install(). */
void idt_set_raw(int vector, void (*entry)(void), int dpl);

int bench_streq(const char *a, const char *b);
