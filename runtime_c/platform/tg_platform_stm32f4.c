/* STM32F4 boards (NUCLEO-F446RE) and the netduinoplus2 stand-in (STM32F405 in QEMU).
 *
 * Hardware: 180 MHz from HSE bypass with over-drive, APB1 45 MHz, USART console on the board's
 * pins, DWT cycles. Under QEMU (TG_QEMU) the RCC/PWR/FLASH blocks are unimplemented, so the
 * clock tree is skipped (define TG_FORCE_CLOCK_INIT to run it anyway and watch every bounded wait
 * time out); the USART driver is the same code the board runs. */
#include <stdint.h>

#include "tg_board.h"
#include "tg_platform.h"
#include "tg_platform_internal.h"

uint32_t tg_platform_clock_hz_value;
uint32_t tg_platform_status_value;

#if !defined(TG_QEMU) || defined(TG_FORCE_CLOCK_INIT)
/* 2 MHz * 180 / 2 = 180 MHz (168 MHz without over-drive); APB1 /4 = 45 MHz, APB2 /2 = 90 MHz. */
static const tg_clock_plan f4_plan = {180u, 168u, 8u, 4u, 2u};
#endif

void tg_platform_init(void)
{
    tg_clock_result clk = {16000000u, 16000000u, 16000000u, TG_STATUS_CLOCK_SKIPPED};
#if !defined(TG_QEMU) || defined(TG_FORCE_CLOCK_INIT)
    clk = tg_clock_stm32_init(&f4_plan);
#endif
    tg_platform_clock_hz_value = clk.sysclk_hz;
    tg_platform_status_value = clk.status;
#if defined(TG_QEMU)
    tg_platform_status_value |= TG_STATUS_VIRTUAL_TIME;
#endif
    tg_counter_init();
    tg_gpio_stm32_af(TG_CONSOLE_TX_PORT, TG_CONSOLE_TX_PIN, TG_CONSOLE_AF, 0);
    tg_gpio_stm32_af(TG_CONSOLE_RX_PORT, TG_CONSOLE_RX_PIN, TG_CONSOLE_AF, 1);
    tg_usart_f4_init(TG_CONSOLE_BASE, clk.pclk1_hz, TG_CONSOLE_BAUD);
}

uint32_t tg_platform_clock_hz(void) { return tg_platform_clock_hz_value; }
uint32_t tg_platform_status(void) { return tg_platform_status_value; }
