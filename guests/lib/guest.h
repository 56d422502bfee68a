/* The guest-kernel library: serial output, port I/O, exit, and self-check reporting.
 * Every guest defines  void kmain(uint32_t magic, uint32_t mbi)  and ends with
 *     return finish("name");   (or just finish("name"); it does not return)
 * Output goes to COM1; the run's result is the debug-exit status: 33 = pass, 35 = fail. */
#pragma once
#include <stdint.h>
#include <stdarg.h>
#include <stddef.h>

#define MULTIBOOT_LOADER_MAGIC 0x2BADB002u

/* EFLAGS bits, for masking the defined flags of an instruction. */
#define FL_CF 0x001u
#define FL_PF 0x004u
#define FL_AF 0x010u
#define FL_ZF 0x040u
#define FL_SF 0x080u
#define FL_TF 0x100u
#define FL_IF 0x200u
#define FL_DF 0x400u
#define FL_OF 0x800u
#define FL_ARITH (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF) /* the six status flags */

/* Port I/O. */
static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint16_t inw(uint16_t port) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t inl(uint16_t port) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static inline uint32_t read_eflags(void) {
    uint32_t f;
    __asm__ volatile("pushfl; popl %0" : "=r"(f));
    return f;
}

/* Mask every IRQ line of both 8259 PICs. Call before STI: the BIOS leaves the timer unmasked
 * on vector 8, which would look like a double fault to our IDT. */
void pic_mask_all(void);

/* Serial console: 16550 UART on COM1 (0x3F8), polled. */
void serial_putc(char c);
void serial_puts(const char *s);
/* A small printf: %d %u %x %X %s %c %p %%, with optional '0' flag and width (e.g. %08x). */
void printf_s(const char *fmt, ...);
void vprintf_s(const char *fmt, va_list ap);

/* Ends the run: writes code to the debug-exit port 0xf4 (status (code << 1) | 1), then halts
 * forever in case no such device exists. */
void guest_exit(uint32_t code) __attribute__((noreturn));

/* Self-checks. Each prints "ok   NAME" or "FAIL NAME" and is counted for finish(). */
void check(const char *name, int ok);
void check_eq(const char *name, uint32_t got, uint32_t want); /* also prints got/want on failure */
void check_eq_show(const char *name, uint32_t got, uint32_t want); /* prints got/want always */
/* Checks failed so far (for guests that end some other way than finish(), e.g. power-off). */
uint32_t failed_checks(void);
/* Prints "PASS: <guest> (<n> checks)" and exits with 0x10 (status 33), or
 * "FAIL: <guest> (<f> of <n> checks failed)" and exits with 0x11 (status 35). */
int finish(const char *guest_name) __attribute__((noreturn));

/* Freestanding gcc may still emit calls to these. */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
