/* Fault reporting: one line on the console, then exit with TG_EXIT_FAULT_BASE + exception.
 *
 *   TGFAULT exc=3 CFSR=00020000 HFSR=40000000 MMFAR=00000000 BFAR=00000000 PC=08000abc LR=...
 *
 * The host (tinygen/device/protocol.py) recognises the "TGFAULT" marker among non-frame bytes.
 * Register meanings: ARMv7-M ARM B3.2.15-B3.2.18 (CFSR = MMFSR|BFSR<<8|UFSR<<16). A thread
 * stack overflow shows as a stacking error (CFSR MSTKERR bit 4 or BSTKERR bit 12) with PC
 * unknown: the handler runs on its own stack (MSP), so it still gets to report.
 */
#include <stdint.h>

#include "tg_mmio.h"
#include "tg_platform.h"

extern uint32_t _sstack, _estack;

void tg_fault_report(const uint32_t *frame, uint32_t exc_return) __attribute__((noreturn, used));

/* Pick the stack the exception frame was pushed to (EXC_RETURN bit 2) and hand it over. */
__attribute__((naked)) void tg_fault_entry(void)
{
    __asm__ volatile(
        "tst lr, #4\n"
        "ite eq\n"
        "mrseq r0, msp\n"
        "mrsne r0, psp\n"
        "mov r1, lr\n"
        "b tg_fault_report\n");
}

static char *put_hex(char *p, const char *label, uint32_t v)
{
    static const char digits[] = "0123456789abcdef";
    while (*label) *p++ = *label++;
    for (int s = 28; s >= 0; s -= 4) *p++ = digits[(v >> s) & 0xF];
    return p;
}

void tg_fault_report(const uint32_t *frame, uint32_t exc_return)
{
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    const uint32_t exc = ipsr & 0x1FF;

    /* Only read the stacked PC/LR when the frame really lies in the thread stack: after an
     * overflow it does not, and a second fault here would lock the core up. */
    uint32_t pc = 0xFFFFFFFFu, lr = 0xFFFFFFFFu;
    if (frame >= &_sstack && frame + 8 <= &_estack) {
        lr = frame[5];
        pc = frame[6];
    }

    char line[160];
    char *p = line;
    const char *head = "\r\nTGFAULT exc=";
    while (*head) *p++ = *head++;
    if (exc >= 10) *p++ = (char)('0' + exc / 10);
    *p++ = (char)('0' + exc % 10);
    p = put_hex(p, " CFSR=", TG_REG(TG_SCB_CFSR));
    p = put_hex(p, " HFSR=", TG_REG(TG_SCB_HFSR));
    p = put_hex(p, " MMFAR=", TG_REG(TG_SCB_MMFAR));
    p = put_hex(p, " BFAR=", TG_REG(TG_SCB_BFAR));
    p = put_hex(p, " PC=", pc);
    p = put_hex(p, " LR=", lr);
    p = put_hex(p, " EXC_RETURN=", exc_return);
    *p++ = '\r';
    *p++ = '\n';
    tg_console_write(line, (uint32_t)(p - line));
    tg_platform_exit((int)(TG_EXIT_FAULT_BASE + exc));
}
