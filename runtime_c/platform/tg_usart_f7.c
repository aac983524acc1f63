/* STM32F7 USART (RM0385 section 34.8), a different layout from the F4: CR1 +0x00 (UE b0,
 * RE b2, TE b3), CR2 +0x04, CR3 +0x08 (OVRDIS b12), BRR +0x0C, ISR +0x1C (PE/FE/NE/ORE b0-3,
 * RXNE b5, TXE b7), ICR +0x20 (write 1 to clear b0-3), RDR +0x24, TDR +0x28.
 * 8N1, oversampling by 16: BRR = fck / baud. */
#include <stdint.h>

#include "tg_mmio.h"
#include "tg_platform_internal.h"

#define USART_CR1 0x00u
#define USART_CR2 0x04u
#define USART_CR3 0x08u
#define USART_BRR 0x0Cu
#define USART_ISR 0x1Cu
#define USART_ICR 0x20u
#define USART_RDR 0x24u
#define USART_TDR 0x28u
#define CR1_UE (1u << 0)
#define CR1_RE (1u << 2)
#define CR1_TE (1u << 3)
#define CR3_OVRDIS (1u << 12)
#define ISR_ERRORS 0xFu
#define ISR_RXNE (1u << 5)
#define ISR_TXE (1u << 7)

static uint32_t usart_base;

void tg_usart_f7_init(uint32_t base, uint32_t pclk_hz, uint32_t baud)
{
    usart_base = base;
    tg_rcc_enable_usart(base);
    TG_REG(base + USART_CR1) = 0; /* OVRDIS and BRR may only change while UE = 0 */
    TG_REG(base + USART_BRR) = (pclk_hz + baud / 2u) / baud;
    TG_REG(base + USART_CR2) = 0;
    /* Overrun detection off: a late read loses a byte (the frame CRC notices) instead of
     * freezing reception until ORE is cleared. */
    TG_REG(base + USART_CR3) = CR3_OVRDIS;
    TG_REG(base + USART_ICR) = ISR_ERRORS;
    TG_REG(base + USART_CR1) = CR1_UE | CR1_TE | CR1_RE;
}

void tg_console_putc(uint8_t c)
{
    while (!(TG_REG(usart_base + USART_ISR) & ISR_TXE)) {
    }
    TG_REG(usart_base + USART_TDR) = c;
}

int tg_console_try_getc(void)
{
    const uint32_t isr = TG_REG(usart_base + USART_ISR);
    if (isr & ISR_ERRORS) TG_REG(usart_base + USART_ICR) = ISR_ERRORS;
    if (!(isr & ISR_RXNE)) return -1;
    return (int)(TG_REG(usart_base + USART_RDR) & 0xFFu);
}
