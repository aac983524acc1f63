/* STM32F4/F7 system clock: HSE bypass 8 MHz (the ST-LINK MCO on NUCLEO boards) -> PLL ->
 * SYSCLK = N MHz, with over-drive, flash wait states and APB prescalers.
 *
 * Sequence from RM0390 5.1.4 / RM0385 4.1.4 ("entering over-drive mode"): PLL on, ODEN, wait
 * ODRDY, ODSWEN, wait ODSWRDY, flash latency + prescalers, wait PLL lock, switch SW to PLL.
 * Every wait is bounded (tg_wait_bits) and every failure degrades instead of hanging:
 * no HSE -> PLL from HSI; no over-drive -> the plan's lower PLL speed; flash latency not taken
 * or PLL not locked or switch refused -> stay on the 16 MHz HSI. The result says what happened.
 */
#include <stdint.h>

#include "tg_board.h"
#include "tg_mmio.h"
#include "tg_platform.h"
#include "tg_platform_internal.h"
#include "tg_stm32_regs.h"

#define HSI_HZ 16000000u
#define HSE_HZ 8000000u
#define WAIT_HSE 0x40000u
#define WAIT_LONG 0x100000u

#ifndef TG_FLASH_ACR_EXTRA
#error "TG_FLASH_ACR_EXTRA (prefetch/cache bits of FLASH_ACR) must come from tg_board.h"
#endif

static uint32_t ppre_code(uint32_t div)
{
    switch (div) {
    case 2: return 4u;
    case 4: return 5u;
    case 8: return 6u;
    case 16: return 7u;
    default: return 0u;
    }
}

/* One wait state per 30 MHz at 2.7-3.6 V (RM0390 table 5, RM0385 table 7). */
static uint32_t flash_latency(uint32_t hz) { return (hz - 1u) / 30000000u; }

static void pll_config(uint32_t m, uint32_t n, uint32_t q, int from_hse)
{
    uint32_t keep = TG_REG(RCC_PLLCFGR) & (0x7u << 28); /* PLLR (F446, F76x): keep reset value */
    TG_REG(RCC_PLLCFGR) = keep | m | (n << 6) | (0u << 16) /* P = 2 */ | ((from_hse ? 1u : 0u) << 22) | (q << 24);
}

static int pll_off(void)
{
    TG_REG(RCC_CR) &= ~RCC_CR_PLLON;
    return tg_wait_bits(RCC_CR, RCC_CR_PLLRDY, 0, WAIT_LONG);
}

/* Back to the reset clock: HSI, prescalers /1. */
static tg_clock_result on_hsi(uint32_t status)
{
    TG_REG(RCC_CFGR) &= ~(RCC_CFGR_SW_MASK | (0xFu << 4) | (0x3Fu << 10));
    tg_wait_bits(RCC_CFGR, RCC_CFGR_SWS_MASK, RCC_CFGR_SWS_HSI, WAIT_LONG);
    tg_clock_result r = {HSI_HZ, HSI_HZ, HSI_HZ, status};
    return r;
}

tg_clock_result tg_clock_stm32_init(const tg_clock_plan *plan)
{
    uint32_t status = 0;

    /* Leave the PLL if a debugger reset kept it selected; it cannot be reprogrammed while on. */
    if ((TG_REG(RCC_CFGR) & RCC_CFGR_SWS_MASK) != RCC_CFGR_SWS_HSI) on_hsi(0);
    pll_off();

    TG_REG(RCC_CR) &= ~RCC_CR_HSEON;
    tg_wait_bits(RCC_CR, RCC_CR_HSERDY, 0, WAIT_HSE);
    TG_REG(RCC_CR) |= RCC_CR_HSEBYP; /* HSEBYP may only change while HSE is off */
    TG_REG(RCC_CR) |= RCC_CR_HSEON;
    int hse = tg_wait_bits(RCC_CR, RCC_CR_HSERDY, RCC_CR_HSERDY, WAIT_HSE);
    if (!hse) {
        TG_REG(RCC_CR) &= ~(RCC_CR_HSEON | RCC_CR_HSEBYP);
        status |= TG_STATUS_HSE_FAILED;
    }
    const uint32_t m = (hse ? HSE_HZ : HSI_HZ) / 2000000u; /* 2 MHz PLL input: lowest jitter */

    TG_REG(RCC_APB1ENR) |= RCC_APB1ENR_PWREN;
    (void)TG_REG(RCC_APB1ENR); /* read back: the enable takes effect before the PWR access */
    TG_REG(PWR_CR) = (TG_REG(PWR_CR) & ~PWR_CR_VOS_MASK) | PWR_CR_VOS_SCALE1;

    uint32_t n = plan->pll_n;
    pll_config(m, n, plan->pll_q, hse);
    TG_REG(RCC_CR) |= RCC_CR_PLLON;

    TG_REG(PWR_CR) |= PWR_CR_ODEN;
    int od = tg_wait_bits(PWR_CSR, PWR_CSR_ODRDY, PWR_CSR_ODRDY, WAIT_LONG);
    if (od) {
        TG_REG(PWR_CR) |= PWR_CR_ODSWEN;
        od = tg_wait_bits(PWR_CSR, PWR_CSR_ODSWRDY, PWR_CSR_ODSWRDY, WAIT_LONG);
    }
    if (!od) {
        status |= TG_STATUS_OVERDRIVE_FAILED;
        TG_REG(PWR_CR) &= ~(PWR_CR_ODEN | PWR_CR_ODSWEN);
        pll_off();
        n = plan->pll_n_no_od;
        pll_config(m, n, plan->pll_q, hse);
        TG_REG(RCC_CR) |= RCC_CR_PLLON;
    }
    const uint32_t sysclk = n * 1000000u;

    /* Wait states before the faster clock; verify, since running flash too fast corrupts fetches. */
    const uint32_t ws = flash_latency(sysclk);
    TG_REG(FLASH_ACR) = ws | TG_FLASH_ACR_EXTRA;
    if ((TG_REG(FLASH_ACR) & FLASH_ACR_LATENCY_MASK) != ws) {
        pll_off();
        return on_hsi(status | TG_STATUS_FLASH_FAILED);
    }
    TG_REG(RCC_CFGR) = (TG_REG(RCC_CFGR) & ~((0xFu << 4) | (0x3Fu << 10)))
                       | (ppre_code(plan->apb1_div) << 10) | (ppre_code(plan->apb2_div) << 13);

    if (!tg_wait_bits(RCC_CR, RCC_CR_PLLRDY, RCC_CR_PLLRDY, WAIT_LONG)) {
        pll_off();
        return on_hsi(status | TG_STATUS_PLL_FAILED);
    }
    TG_REG(RCC_CFGR) = (TG_REG(RCC_CFGR) & ~RCC_CFGR_SW_MASK) | RCC_CFGR_SW_PLL;
    if (!tg_wait_bits(RCC_CFGR, RCC_CFGR_SWS_MASK, RCC_CFGR_SWS_PLL, WAIT_LONG)) {
        tg_clock_result r = on_hsi(status | TG_STATUS_SWITCH_FAILED);
        pll_off();
        return r;
    }
    tg_clock_result r = {sysclk, sysclk / plan->apb1_div, sysclk / plan->apb2_div, status};
    return r;
}
