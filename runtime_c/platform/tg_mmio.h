/* Register access and barriers for the platform drivers (no CMSIS: addresses come from the
 * reference manuals and are written out next to each use). */
#ifndef TG_MMIO_H
#define TG_MMIO_H

#include <stdint.h>

#define TG_REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

static inline void tg_dsb(void) { __asm__ volatile("dsb 0xF" ::: "memory"); }
static inline void tg_isb(void) { __asm__ volatile("isb 0xF" ::: "memory"); }

/* Poll until (reg & mask) == want, at most `limit` iterations. Returns 1 when reached. Every
 * ready-wait in the bring-up goes through this, so missing hardware (or QEMU's unmodelled RCC)
 * can never hang the firmware. */
static inline int tg_wait_bits(uint32_t addr, uint32_t mask, uint32_t want, uint32_t limit)
{
    for (uint32_t i = 0; i < limit; ++i) {
        if ((TG_REG(addr) & mask) == want) return 1;
    }
    return 0;
}

/* System control block (ARMv7-M ARM, B3.2). */
#define TG_SCB_CPACR 0xE000ED88u
#define TG_SCB_CCR   0xE000ED14u
#define TG_SCB_CFSR  0xE000ED28u
#define TG_SCB_HFSR  0xE000ED2Cu
#define TG_SCB_MMFAR 0xE000ED34u
#define TG_SCB_BFAR  0xE000ED38u
#define TG_SCB_SHCSR 0xE000ED24u

#endif /* TG_MMIO_H */
