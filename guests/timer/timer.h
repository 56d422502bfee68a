/* timer: shared definitions of the PIC / PIT / RTC guest (see timer.c for the plan). */
#pragma once
#include "guest.h"
#include "idt.h"

/* 8259A: command port (ICW1, OCW2, OCW3; reads IRR or ISR), data port = command + 1 (IMR). */
#define PIC_M 0x20
#define PIC_S 0xA0
#define OCW3_IRR 0x0A
#define OCW3_ISR 0x0B
#define EOI 0x20 /* OCW2: non-specific end of interrupt */
#define VEC_M 0x20 /* where we remap IRQ0-7 */
#define VEC_S 0x28 /* and IRQ8-15 */

/* 8254: counters 0-2 at 0x40-0x42, control word at 0x43; port B (0x61) holds counter 2's
 * gate (bit 0), the speaker data enable (bit 1), the refresh toggle (bit 4) and OUT2 (bit 5). */
#define PIT_CTRL 0x43
#define PORT_B 0x61
#define DIV_1KHZ 1193 /* 1.193182 MHz / 1193 = 1000.15 Hz */

/* MC146818: index at 0x70, data at 0x71. */
#define RTC_A 0x0A
#define RTC_B 0x0B
#define RTC_C 0x0C
#define RTC_D 0x0D

/* Bounds of the polling loops. Under btvm one instruction is 1 ns of virtual time, so a bound
 * of N iterations covers more than N ns; both cover the longest wait here (~60 ms) many times
 * over, and a hit bound is reported as a failed check, never a hang. */
#define SPIN_MAX 200000000u   /* loops that only read memory */
#define IO_SPIN_MAX 50000000u /* loops that do port I/O (slower per iteration everywhere) */

/* Interrupt bookkeeping (timer.c): every PIC vector counts itself, logs its IRQ in order and
 * calls the hook of its IRQ, or sends the EOIs itself when there is none. */
typedef void (*irq_hook_fn)(int irq);
#define IRQ_LOG_MAX 64
extern volatile uint32_t irq_count[16];
extern volatile uint32_t irq_spurious;
extern volatile uint8_t irq_log[IRQ_LOG_MAX];
extern volatile uint32_t irq_log_len;
extern irq_hook_fn volatile irq_hook[16];

/* EFLAGS.IF save/restore, for register reads a handler could interleave with (index/data port
 * pairs: OCW3 then read, CMOS index then data). */
static inline uint32_t irq_save(void) {
    uint32_t f;
    __asm__ volatile("pushfl; popl %0; cli" : "=r"(f) : : "memory");
    return f;
}
static inline void irq_restore(uint32_t f) {
    __asm__ volatile("pushl %0; popfl" : : "r"(f) : "memory", "cc");
}
static inline void sti(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }

void irq_eoi(int irq);
uint32_t irq_total_except(int a, int b); /* sum of irq_count[] over all IRQs but a and b */
void irq_log_reset(void);
/* Ends with IF=0. sti;hlt until *c >= target; fails (returns 0) after too many wakeups. */
int halt_until(volatile uint32_t *c, uint32_t target);
/* Ends with IF=0. Polls with IF=1 until *c >= target, at most `bound` iterations. */
int spin_until(volatile uint32_t *c, uint32_t target, uint32_t bound);

/* pic.c */
uint8_t pic_reg(uint16_t cmd, uint8_t ocw3); /* OCW3 then read; leaves IRR selected */
void pic_init_master(uint8_t icw4);
void pic_init_slave(void);
void pic_set_mask(uint16_t mask); /* bit n set = IRQ n masked */
void test_pic_init(void);
void test_pic_pending(void);
/* prio.c */
void test_pic_priority(void);
void test_pic_aeoi(void);
/* pit.c */
void pit_periodic(uint16_t divisor); /* counter 0, mode 2 */
uint16_t pit_latch(int ch);
uint8_t pit_status(int ch); /* read-back command, status only */
void test_pit_ticks(void);
void test_pit_latch(void);
void test_pit_oneshot(void);
/* speaker.c */
int ch2_oneshot_wait(uint16_t count); /* counter 2 mode 0 as a stopwatch: 1 if OUT2 rose */
void test_speaker(void);
/* irq_window.c */
void test_irq_window(void);
/* rtc.c */
uint8_t cmos_read(uint8_t idx);
void cmos_write(uint8_t idx, uint8_t v);
void rtc_hook(int irq); /* reads C, EOIs slave then master */
void test_rtc(void);
