/* STM32F7 boards (NUCLEO-F746ZG, NUCLEO-F767ZI): 216 MHz from HSE bypass with over-drive
 * (180 MHz without), APB1 54 MHz, I- and D-cache on, USART3 console on PD8/PD9, DWT cycles.
 * QEMU 7.2 has no STM32F7 machine; M7 builds are emulated on mps2-an500 instead. */
#include <stdint.h>

#include "tg_board.h"
#include "tg_platform.h"
#include "tg_platform_internal.h"

uint32_t tg_platform_clock_hz_value;
uint32_t tg_platform_status_value;

/* 2 MHz * 216 / 2 = 216 MHz, Q = 9 gives 48 MHz; APB1 /4 = 54 MHz, APB2 /2 = 108 MHz. */
static const tg_clock_plan f7_plan = {216u, 180u, 9u, 4u, 2u};

void tg_platform_init(void)
{
    tg_cache_m7_enable();
    tg_clock_result clk = tg_clock_stm32_init(&f7_plan);
    tg_platform_clock_hz_value = clk.sysclk_hz;
    tg_platform_status_value = clk.status;
    tg_counter_init();
    tg_gpio_stm32_af(TG_CONSOLE_TX_PORT, TG_CONSOLE_TX_PIN, TG_CONSOLE_AF, 0);
    tg_gpio_stm32_af(TG_CONSOLE_RX_PORT, TG_CONSOLE_RX_PIN, TG_CONSOLE_AF, 1);
    tg_usart_f7_init(TG_CONSOLE_BASE, clk.pclk1_hz, TG_CONSOLE_BAUD);
}

uint32_t tg_platform_clock_hz(void) { return tg_platform_clock_hz_value; }
uint32_t tg_platform_status(void) { return tg_platform_status_value; }
