/* TIM2 as the counter on the netduinoplus2 stand-in: 32-bit up-counter, prescaler 0, auto-reload
 * 0xFFFFFFFF (RM0390 section 18.4: CR1 +0x00 CEN b0, EGR +0x14 UG b0, CNT +0x24, PSC +0x28,
 * ARR +0x2C). QEMU's STM32F2xx timer ticks once per virtual ns, so under -icount shift=0 it is
 * an exact instruction counter. On silicon TIM2 would count APB1 timer clocks instead; real
 * boards use the DWT cycle counter. */
#include <stdint.h>

#include "tg_mmio.h"
#include "tg_platform.h"
#include "tg_platform_internal.h"
#include "tg_stm32_regs.h"

#define TIM2_BASE 0x40000000u
#define TIM_CR1 (TIM2_BASE + 0x00u)
#define TIM_EGR (TIM2_BASE + 0x14u)
#define TIM_CNT (TIM2_BASE + 0x24u)
#define TIM_PSC (TIM2_BASE + 0x28u)
#define TIM_ARR (TIM2_BASE + 0x2Cu)
#define TIM2_VIRTUAL_HZ 1000000000u

uint32_t tg_counter_init(void)
{
    TG_REG(RCC_APB1ENR) |= RCC_APB1ENR_TIM2EN;
    (void)TG_REG(RCC_APB1ENR);
    TG_REG(TIM_CR1) = 0;
    TG_REG(TIM_PSC) = 0;
    TG_REG(TIM_ARR) = 0xFFFFFFFFu;
    TG_REG(TIM_EGR) = 1u; /* load PSC/ARR now */
    TG_REG(TIM_CNT) = 0;
    TG_REG(TIM_CR1) = 1u;
    return TIM2_VIRTUAL_HZ;
}

uint32_t tg_counter_now(void) { return TG_REG(TIM_CNT); }
uint32_t tg_counter_hz(void) { return TIM2_VIRTUAL_HZ; }
const char *tg_counter_unit(void) { return "tim2"; }
