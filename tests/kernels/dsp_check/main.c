#include <stdint.h>
#include "ops.h"
#define DECL(name, n) uint32_t n_##name(uint32_t, uint32_t, uint32_t); uint32_t p_##name(uint32_t, uint32_t, uint32_t);
TG_DSP_OPS(DECL)

static void sh_exit(int ok)
{
    /* semihosting SYS_EXIT: ADP_Stopped_ApplicationExit -> QEMU exit status 0, else 1 */
    register uint32_t r0 __asm__("r0") = 0x18;
    register uint32_t r1 __asm__("r1") = ok ? 0x20026u : 0x20023u;
    __asm__ volatile("bkpt 0xab" : : "r"(r0), "r"(r1) : "memory");
    for (;;) {}
}

static uint32_t state = SEED;
static uint32_t rnd(void)
{
    state ^= state << 13; state ^= state >> 17; state ^= state << 5;
    /* every fourth operand made of lane extremes (0x80, 0x7F, 0x00, 0xFF bytes) */
    if ((state & 3) == 0) {
        static const uint32_t lanes[4] = {0x80, 0x7F, 0x00, 0xFF};
        uint32_t s = state;
        return lanes[s >> 8 & 3] | lanes[s >> 10 & 3] << 8 | lanes[s >> 12 & 3] << 16 | lanes[s >> 14 & 3] << 24;
    }
    return state;
}

volatile uint32_t tg_dsp_checked, tg_dsp_bad;

void reset(void)
{
    for (int i = 0; i < 20000; ++i) {
        const uint32_t a = rnd(), b = rnd(), c = rnd();
#define CHECK(name, n) tg_dsp_checked++; if (n_##name(a, b, c) != p_##name(a, b, c)) tg_dsp_bad++;
        TG_DSP_OPS(CHECK)
    }
    sh_exit(tg_dsp_bad == 0 && tg_dsp_checked > 0);
}

extern uint32_t _stack_top;
__attribute__((section(".vectors"), used)) const void *const vectors[2] = {&_stack_top, (const void *)reset};
