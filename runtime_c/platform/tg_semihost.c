/* tg_platform_exit under QEMU: ARM semihosting SYS_EXIT_EXTENDED (0x20) with
 * ADP_Stopped_ApplicationExit (0x20026) makes QEMU exit with `code` (mod 256). Requires QEMU's
 * -semihosting-config enable=on; without it the bkpt faults (see notes, section 1). */
#include <stdint.h>

#include "tg_platform.h"

void tg_platform_exit(int code)
{
    static uint32_t block[2];
    block[0] = 0x20026u;
    block[1] = (uint32_t)code;
    register uint32_t r0 __asm__("r0") = 0x20u;
    register uint32_t r1 __asm__("r1") = (uint32_t)(uintptr_t)block;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    for (;;) {
    }
}
