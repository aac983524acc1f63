/* Console read/write loops shared by every UART driver (which only provide putc/try_getc). */
#include <stdint.h>

#include "tg_platform.h"
#include "tg_platform_internal.h"

void tg_console_write(const void *buf, uint32_t n)
{
    const uint8_t *p = (const uint8_t *)buf;
    for (uint32_t i = 0; i < n; ++i) tg_console_putc(p[i]);
}

uint32_t tg_console_read(void *buf, uint32_t n, uint32_t timeout_ms)
{
    uint8_t *p = (uint8_t *)buf;
#if defined(TG_QEMU)
    /* Virtual time runs ahead of the host by orders of magnitude: never time out. */
    (void)timeout_ms;
    for (uint32_t i = 0; i < n; ++i) {
        int c;
        while ((c = tg_console_try_getc()) < 0) {
        }
        p[i] = (uint8_t)c;
    }
    return n;
#else
    const uint32_t hz = tg_counter_hz();
    /* Budget in counter ticks, 64-bit so long timeouts at high clocks cannot overflow. */
    const uint64_t budget = (uint64_t)timeout_ms * (hz / 1000u);
    for (uint32_t i = 0; i < n; ++i) {
        uint32_t last = tg_counter_now();
        uint64_t waited = 0;
        int c;
        while ((c = tg_console_try_getc()) < 0) {
            if (timeout_ms == TG_WAIT_FOREVER) continue;
            uint32_t now = tg_counter_now();
            waited += (uint32_t)(now - last);
            last = now;
            if (waited > budget) return i;
        }
        p[i] = (uint8_t)c;
    }
    return n;
#endif
}
