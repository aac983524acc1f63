/* Stack guard: MPU region 0 = 1 KB of no access directly below the thread stack, which the
 * linker places at the very start of RAM, so the guard covers addresses below SRAM and costs no
 * RAM (ARMv7-M ARM B3.5: MPU_TYPE 0xE000ED90, CTRL +4, RNR +8, RBAR +0xC, RASR +0x10).
 * An overflow then takes a MemManage fault (DACCVIOL with MMFAR in the guard, or MSTKERR when the
 * exception frame itself lands there) on the separate handler stack, and gets reported, on every
 * target: some memory maps (QEMU mps2) have nothing below SRAM that would fault by itself.
 * 1 KB because QEMU 7.2 ignores MPU regions smaller than its 1 KB page (checked: a 32-byte
 * region has no effect there). PRIVDEFENA keeps the default map for everything else. */
#include <stdint.h>

#include "tg_mmio.h"
#include "tg_platform_internal.h"

#define MPU_TYPE 0xE000ED90u
#define MPU_CTRL 0xE000ED94u
#define MPU_RNR 0xE000ED98u
#define MPU_RBAR 0xE000ED9Cu
#define MPU_RASR 0xE000EDA0u
#define RASR_XN (1u << 28)
#define RASR_AP_NONE (0u << 24)
#define RASR_SIZE_1K (9u << 1) /* 2^(SIZE+1) bytes */
#define RASR_ENABLE 1u
#define GUARD_BYTES 1024u

void tg_mpu_stack_guard(uintptr_t stack_bottom)
{
    if (((TG_REG(MPU_TYPE) >> 8) & 0xFFu) == 0) return; /* no MPU regions: no guard */
    TG_REG(MPU_CTRL) = 0;
    tg_dsb();
    tg_isb();
    TG_REG(MPU_RNR) = 0;
    TG_REG(MPU_RBAR) = ((uint32_t)stack_bottom - GUARD_BYTES) & ~(GUARD_BYTES - 1u);
    TG_REG(MPU_RASR) = RASR_XN | RASR_AP_NONE | RASR_SIZE_1K | RASR_ENABLE;
    TG_REG(MPU_CTRL) = (1u << 2) | 1u; /* PRIVDEFENA | ENABLE */
    tg_dsb();
    tg_isb();
}
