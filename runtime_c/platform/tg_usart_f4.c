/* STM32F4 USART (RM0390 section 25.6): SR +0x00 (ORE b3, RXNE b5, TXE b7), DR +0x04,
 * BRR +0x08, CR1 +0x0C (RE b2, TE b3, UE b13). 8N1, oversampling by 16: BRR = fck / baud.
 * QEMU's model (netduinoplus2) drops RX bytes until UE and RE are set, hence the BOOT frame. */
#include <stdint.h>

#include "tg_mmio.h"
#include "tg_platform_internal.h"

#define USART_SR 0x00u
#define USART_DR 0x04u
#define USART_BRR 0x08u
#define USART_CR1 0x0Cu
#define USART_CR2 0x10u
#define USART_CR3 0x14u
#define SR_ORE (1u << 3)
#define SR_RXNE (1u << 5)
#define SR_TXE (1u << 7)
#define CR1_RE (1u << 2)
#define CR1_TE (1u << 3)
#define CR1_UE (1u << 13)

static uint32_t usart_base;

void tg_usart_f4_init(uint32_t base, uint32_t pclk_hz, uint32_t baud)
{
    usart_base = base;
    tg_rcc_enable_usart(base);
    TG_REG(base + USART_CR1) = 0;
    TG_REG(base + USART_BRR) = (pclk_hz + baud / 2u) / baud;
    TG_REG(base + USART_CR2) = 0;
    TG_REG(base + USART_CR3) = 0;
    TG_REG(base + USART_CR1) = CR1_UE | CR1_TE | CR1_RE;
}

void tg_console_putc(uint8_t c)
{
    while (!(TG_REG(usart_base + USART_SR) & SR_TXE)) {
    }
    TG_REG(usart_base + USART_DR) = c;
}

int tg_console_try_getc(void)
{
    /* ORE: a byte was lost; reading SR then DR clears it and yields the byte that is there.
     * The frame CRC catches the loss. */
    if (!(TG_REG(usart_base + USART_SR) & (SR_RXNE | SR_ORE))) return -1;
    return (int)(TG_REG(usart_base + USART_DR) & 0xFFu);
}
