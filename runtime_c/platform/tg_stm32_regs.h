/* STM32F4/F7 register addresses shared by the platform drivers. The RCC, PWR, FLASH, GPIO and
 * USART2/3 blocks sit at the same addresses on both families (RM0390 section 2.2.2, RM0385/
 * RM0410 section 2.2.2), and the RCC fields tinygen touches have the same positions. */
#ifndef TG_STM32_REGS_H
#define TG_STM32_REGS_H

#define RCC_BASE 0x40023800u
#define RCC_CR (RCC_BASE + 0x00u)
#define RCC_PLLCFGR (RCC_BASE + 0x04u)
#define RCC_CFGR (RCC_BASE + 0x08u)
#define RCC_AHB1ENR (RCC_BASE + 0x30u)
#define RCC_APB1ENR (RCC_BASE + 0x40u)
#define RCC_APB2ENR (RCC_BASE + 0x44u)

#define RCC_CR_HSERDY (1u << 17)
#define RCC_CR_HSEON (1u << 16)
#define RCC_CR_HSEBYP (1u << 18)
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
#define RCC_CFGR_SW_MASK 0x3u
#define RCC_CFGR_SW_PLL 0x2u
#define RCC_CFGR_SWS_MASK (0x3u << 2)
#define RCC_CFGR_SWS_HSI (0x0u << 2)
#define RCC_CFGR_SWS_PLL (0x2u << 2)
#define RCC_APB1ENR_TIM2EN (1u << 0)
#define RCC_APB1ENR_PWREN (1u << 28)

/* PWR_CR (F4) = PWR_CR1 (F7); PWR_CSR (F4) = PWR_CSR1 (F7). */
#define PWR_CR 0x40007000u
#define PWR_CSR 0x40007004u
#define PWR_CR_VOS_MASK (0x3u << 14)
#define PWR_CR_VOS_SCALE1 (0x3u << 14)
#define PWR_CR_ODEN (1u << 16)
#define PWR_CR_ODSWEN (1u << 17)
#define PWR_CSR_ODRDY (1u << 16)
#define PWR_CSR_ODSWRDY (1u << 17)

#define FLASH_ACR 0x40023C00u
#define FLASH_ACR_LATENCY_MASK 0xFu

#define GPIO_BASE(port) (0x40020000u + 0x400u * (port))

#endif /* TG_STM32_REGS_H */
