/* Cortex-M7 L1 instruction and data cache enable (ARMv7-M ARM B2.2.7 cache maintenance, B3.2
 * CCSIDR/CSSELR; Cortex-M7 TRM 4.x). Invalidate first: cache contents are undefined at reset.
 * Set/way loop bounds come from CCSIDR, so it suits 4 KB to 64 KB caches. Skipped when a cache
 * is already on (invalidating a live D-cache would discard dirty lines). */
#include <stdint.h>

#include "tg_mmio.h"
#include "tg_platform_internal.h"

#define SCB_CCSIDR 0xE000ED80u
#define SCB_CSSELR 0xE000ED84u
#define SCB_ICIALLU 0xE000EF50u
#define SCB_DCISW 0xE000EF60u
#define CCR_DC (1u << 16)
#define CCR_IC (1u << 17)

void tg_cache_m7_enable(void)
{
    if (!(TG_REG(TG_SCB_CCR) & CCR_IC)) {
        tg_dsb();
        tg_isb();
        TG_REG(SCB_ICIALLU) = 0;
        tg_dsb();
        tg_isb();
        TG_REG(TG_SCB_CCR) |= CCR_IC;
        tg_dsb();
        tg_isb();
    }
    if (!(TG_REG(TG_SCB_CCR) & CCR_DC)) {
        TG_REG(SCB_CSSELR) = 0; /* level 1, data cache */
        tg_dsb();
        const uint32_t ccsidr = TG_REG(SCB_CCSIDR);
        const uint32_t sets = ((ccsidr >> 13) & 0x7FFFu) + 1u;
        const uint32_t ways = ((ccsidr >> 3) & 0x3FFu) + 1u;
        const uint32_t line_shift = (ccsidr & 0x7u) + 4u;
        const uint32_t way_shift = ways > 1u ? (uint32_t)__builtin_clz(ways - 1u) : 0u;
        for (uint32_t s = 0; s < sets; ++s) {
            for (uint32_t w = 0; w < ways; ++w) {
                TG_REG(SCB_DCISW) = (s << line_shift) | (w << way_shift);
            }
        }
        tg_dsb();
        TG_REG(TG_SCB_CCR) |= CCR_DC;
        tg_dsb();
        tg_isb();
    }
}
