/* ARM CMSDK APB UART (the MPS2 FPGA images; QEMU hw/char/cmsdk-apb-uart).
 * DATA +0x00, STATE +0x04 (bit0 TX full, bit1 RX full, bits2/3 overrun, write 1 to clear),
 * CTRL +0x08 (bit0 TX enable, bit1 RX enable), BAUDDIV +0x10 (>= 16). */
#include <stdint.h>

#include "tg_mmio.h"
#include "tg_platform_internal.h"

#define CMSDK_DATA 0x00u
#define CMSDK_STATE 0x04u
#define CMSDK_CTRL 0x08u
#define CMSDK_BAUDDIV 0x10u
#define STATE_TXFULL (1u << 0)
#define STATE_RXFULL (1u << 1)
#define STATE_OVERRUN (3u << 2)

static uint32_t uart_base;

void tg_uart_cmsdk_init(uint32_t base, uint32_t pclk_hz, uint32_t baud)
{
    uart_base = base;
    uint32_t div = pclk_hz / baud;
    TG_REG(base + CMSDK_BAUDDIV) = div < 16 ? 16 : div;
    TG_REG(base + CMSDK_STATE) = STATE_OVERRUN;
    /* QEMU holds host bytes back while RX is disabled, so nothing sent early is lost. */
    TG_REG(base + CMSDK_CTRL) = 0x3u;
    /* A read of DATA is harmless here (nothing received yet) and makes QEMU's model re-poll its
     * input: without it the first host bytes wait for QEMU's next ~1 s main-loop wake-up. */
    (void)TG_REG(base + CMSDK_DATA);
}

void tg_console_putc(uint8_t c)
{
    while (TG_REG(uart_base + CMSDK_STATE) & STATE_TXFULL) {
    }
    TG_REG(uart_base + CMSDK_DATA) = c;
}

int tg_console_try_getc(void)
{
    if (!(TG_REG(uart_base + CMSDK_STATE) & STATE_RXFULL)) return -1;
    return (int)(TG_REG(uart_base + CMSDK_DATA) & 0xFFu);
}
