/* Compiled twice: for cortex-m4 (tg_dsp.h's native instructions) with PFX=n_, and for
 * cortex-m3 (no DSP: the portable definitions) with PFX=p_. */
#include "tg_dsp.h"
#include "ops.h"
#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define DEF(name, n) uint32_t CAT(PFX, name)(uint32_t a, uint32_t b, uint32_t c) { \
    (void)a; (void)b; (void)c; return CALL##n(tg_##name); }
#define CALL1(f) (uint32_t)f(a)
#define CALL2(f) (uint32_t)f(a, b)
#define CALL3(f) (uint32_t)f(a, b, (int32_t)c)
TG_DSP_OPS(DEF)
