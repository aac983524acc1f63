/* STM32F4/F7 GPIO alternate-function setup for the console pins, and the RCC enable bit of the
 * console USART (RM0390 / RM0385: GPIO section 8/6, RCC AHB1ENR/APB1ENR/APB2ENR). */
#include <stdint.h>

#include "tg_mmio.h"
#include "tg_platform_internal.h"
#include "tg_stm32_regs.h"

#define GPIO_MODER 0x00u
#define GPIO_OSPEEDR 0x08u
#define GPIO_PUPDR 0x0Cu
#define GPIO_AFRL 0x20u

void tg_gpio_stm32_af(uint32_t port, uint32_t pin, uint32_t af, int pull_up)
{
    TG_REG(RCC_AHB1ENR) |= 1u << port;
    (void)TG_REG(RCC_AHB1ENR); /* let the clock enable settle before touching the port */
    const uint32_t base = GPIO_BASE(port);
    const uint32_t afr = base + GPIO_AFRL + 4u * (pin / 8u);
    const uint32_t sh4 = 4u * (pin % 8u), sh2 = 2u * pin;
    TG_REG(afr) = (TG_REG(afr) & ~(0xFu << sh4)) | (af << sh4);
    TG_REG(base + GPIO_OSPEEDR) = (TG_REG(base + GPIO_OSPEEDR) & ~(3u << sh2)) | (2u << sh2); /* fast */
    TG_REG(base + GPIO_PUPDR) = (TG_REG(base + GPIO_PUPDR) & ~(3u << sh2)) | ((pull_up ? 1u : 0u) << sh2);
    TG_REG(base + GPIO_MODER) = (TG_REG(base + GPIO_MODER) & ~(3u << sh2)) | (2u << sh2); /* AF */
}

void tg_rcc_enable_usart(uint32_t base)
{
    uint32_t reg = RCC_APB1ENR, bit;
    switch (base) {
    case 0x40011000u: reg = RCC_APB2ENR; bit = 4; break; /* USART1 */
    case 0x40011400u: reg = RCC_APB2ENR; bit = 5; break; /* USART6 */
    case 0x40004400u: bit = 17; break;                   /* USART2 */
    case 0x40004800u: bit = 18; break;                   /* USART3 */
    case 0x40004C00u: bit = 19; break;                   /* UART4 */
    case 0x40005000u: bit = 20; break;                   /* UART5 */
    default: return;
    }
    TG_REG(reg) |= 1u << bit;
    (void)TG_REG(reg);
}
