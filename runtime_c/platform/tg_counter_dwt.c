/* DWT cycle counter (ARMv7-M ARM C1.8): DEMCR.TRCENA (0xE000EDFC bit 24), DWT_CTRL.CYCCNTENA
 * (0xE0001000 bit 0), DWT_CYCCNT (0xE0001004). The Cortex-M7 DWT is locked after reset until
 * the lock access register (0xE0001FB0) gets the CoreSight key; the M4 ignores the write.
 * Counts core cycles at SYSCLK; wraps after 2^32 cycles (about 20 s at 216 MHz). QEMU 7.2 reads
 * it as zero, so stand-ins use a timer instead (tg_counter_fpgaio.c, tg_counter_tim2.c). */
#include <stdint.h>

#include "tg_mmio.h"
#include "tg_platform.h"
#include "tg_platform_internal.h"

#define DEMCR 0xE000EDFCu
#define DWT_CTRL 0xE0001000u
#define DWT_CYCCNT 0xE0001004u
#define DWT_LAR 0xE0001FB0u

uint32_t tg_counter_init(void)
{
    TG_REG(DEMCR) |= 1u << 24;
    TG_REG(DWT_LAR) = 0xC5ACCE55u;
    TG_REG(DWT_CYCCNT) = 0;
    TG_REG(DWT_CTRL) |= 1u;
    return tg_platform_clock_hz();
}

uint32_t tg_counter_now(void) { return TG_REG(DWT_CYCCNT); }
uint32_t tg_counter_hz(void) { return tg_platform_clock_hz(); }
const char *tg_counter_unit(void) { return "cycles"; }
