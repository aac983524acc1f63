/* MPS2 FPGAIO COUNTER (0x40028018): counts the 25 MHz prescale clock. Under QEMU -icount it
 * advances in virtual time, 2^shift ns per instruction, so ticks convert back to an exact
 * instruction count on the host (tinygen/boards.py QemuSpec.instructions_per_tick). */
#include <stdint.h>

#include "tg_mmio.h"
#include "tg_platform.h"
#include "tg_platform_internal.h"

#define FPGAIO_COUNTER 0x40028018u
#define FPGAIO_PRESCALE 0x4002801Cu
#define FPGAIO_HZ 25000000u

uint32_t tg_counter_init(void)
{
    TG_REG(FPGAIO_PRESCALE) = 0;
    return FPGAIO_HZ;
}

uint32_t tg_counter_now(void) { return TG_REG(FPGAIO_COUNTER); }
uint32_t tg_counter_hz(void) { return FPGAIO_HZ; }
const char *tg_counter_unit(void) { return "fpgaio"; }
