/* tg_platform_exit on a real board: there is no host to return to, so stop quietly with
 * interrupts off. A semihosting bkpt would fault without a debugger attached, and WFI sleep can
 * keep an ST-LINK from connecting for the next flash (unless DBGMCU is set up), so just spin.
 * The console has already carried whatever the host needs (a BYE frame or a TGFAULT line). */
#include "tg_platform.h"

void tg_platform_exit(int code)
{
    (void)code;
    __asm__ volatile("cpsid i" ::: "memory");
    for (;;) {
        __asm__ volatile("nop");
    }
}
