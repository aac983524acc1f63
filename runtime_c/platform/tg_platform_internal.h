/* Driver entry points the per-platform tg_platform_*.c files combine into tg_platform_init().
 * Not part of the public platform API. */
#ifndef TG_PLATFORM_INTERNAL_H
#define TG_PLATFORM_INTERNAL_H

#include <stdint.h>

/* Console drivers: one of these is linked, chosen by the board's platform. */
void tg_uart_cmsdk_init(uint32_t base, uint32_t pclk_hz, uint32_t baud);
void tg_usart_f4_init(uint32_t base, uint32_t pclk_hz, uint32_t baud);
void tg_usart_f7_init(uint32_t base, uint32_t pclk_hz, uint32_t baud);

/* The console driver's single-byte primitives, used by the shared read/write loops. */
int tg_console_try_getc(void); /* -1 when nothing is waiting */
void tg_console_putc(uint8_t c);

/* Counters: init returns the tick rate. */
uint32_t tg_counter_init(void);

/* STM32F4/F7 clock tree: PLL from HSE bypass (or HSI), over-drive, flash latency, prescalers. */
typedef struct {
    uint32_t pll_n;        /* VCO = 2 MHz * pll_n; SYSCLK = VCO / 2 */
    uint32_t pll_n_no_od;  /* fallback when over-drive does not come up */
    uint32_t pll_q;        /* 48 MHz domain divider (unused by tinygen, kept legal) */
    uint32_t apb1_div;     /* 2, 4 or 8 */
    uint32_t apb2_div;
} tg_clock_plan;

typedef struct {
    uint32_t sysclk_hz, pclk1_hz, pclk2_hz, status;
} tg_clock_result;

tg_clock_result tg_clock_stm32_init(const tg_clock_plan *plan);

/* GPIO alternate function for a console pin (port 0 = A). */
void tg_gpio_stm32_af(uint32_t port, uint32_t pin, uint32_t af, int pull_up);
/* RCC enable bit for a USART at `base` (USART1/2/3/6, UART4/5). */
void tg_rcc_enable_usart(uint32_t base);

/* MPU no-access guard (1 KB) directly below `stack_bottom`, the start of RAM. */
void tg_mpu_stack_guard(uintptr_t stack_bottom);

/* Cortex-M7 L1 caches. */
void tg_cache_m7_enable(void);

/* Platform state shared with the generic parts (set by tg_platform_init). */
extern uint32_t tg_platform_clock_hz_value;
extern uint32_t tg_platform_status_value;

#endif /* TG_PLATFORM_INTERNAL_H */
