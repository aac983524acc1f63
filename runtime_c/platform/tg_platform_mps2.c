/* QEMU mps2-an386 / mps2-an500 stand-ins: CMSDK UART0 console, FPGAIO counter, semihosting
 * exit. No clock tree to set up (the FPGA clock is fixed at 25 MHz), no caches modelled. */
#include <stdint.h>

#include "tg_board.h"
#include "tg_platform.h"
#include "tg_platform_internal.h"

#define MPS2_SYSCLK_HZ 25000000u

uint32_t tg_platform_clock_hz_value;
uint32_t tg_platform_status_value;

void tg_platform_init(void)
{
    tg_platform_clock_hz_value = MPS2_SYSCLK_HZ;
    tg_platform_status_value = TG_STATUS_CLOCK_SKIPPED | TG_STATUS_VIRTUAL_TIME;
    tg_counter_init();
    tg_uart_cmsdk_init(TG_CONSOLE_BASE, MPS2_SYSCLK_HZ, TG_CONSOLE_BAUD);
}

uint32_t tg_platform_clock_hz(void) { return tg_platform_clock_hz_value; }
uint32_t tg_platform_status(void) { return tg_platform_status_value; }
