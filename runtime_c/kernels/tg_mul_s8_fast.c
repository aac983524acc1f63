/* Fast int8 broadcasting mul (same contract as tg_mul_s8_ref, see tg_elementwise.h): the
 * requantization in tg_requant_smmulr.h's form, whose operand bound the generator checked for this
 * layer (ops/mul.py), and one flat loop when neither input broadcasts. */
#include "tg_elementwise.h"
#include "tg_fixedpoint.h"
#include "tg_requant_smmulr.h"

/* Two passes over chunks of TG_MUL_CHUNK elements: the products into a stack buffer, then their
 * requantization: one loop doing both needs more values than the M4 has registers and reloads
 * them from the stack for every element. The requantization is copied into a local and out is
 * restrict: otherwise every int8 store could alias it. */
#define TG_MUL_CHUNK 32

__attribute__((noinline)) static void mul_run(const tg_mul_params *p, const tg_rq *qp, const int8_t *in1, int32_t s1,
                                              const int8_t *in2, int32_t s2, int8_t *restrict out, int32_t count)
{
    const tg_rq q = *qp;
    const int32_t o1 = p->input1_offset, o2 = p->input2_offset, oo = p->output_offset;
    const int32_t lo = p->act_min, hi = p->act_max;
    int32_t raw[TG_MUL_CHUNK];
    for (int32_t i0 = 0; i0 < count; i0 += TG_MUL_CHUNK) {
        const int32_t n = count - i0 < TG_MUL_CHUNK ? count - i0 : TG_MUL_CHUNK;
        for (int32_t j = 0; j < n; ++j, in1 += s1, in2 += s2) raw[j] = ((int32_t)*in1 + o1) * ((int32_t)*in2 + o2);
        for (int32_t j = 0; j < n; ++j) out[i0 + j] = (int8_t)tg_clamp(tg_rq_apply(&q, raw[j]) + oo, lo, hi);
    }
}

void tg_mul_s8_fast(const tg_mul_params *p, const int8_t *input1, const int8_t *input2, int8_t *output)
{
    const tg_rq q = tg_rq_make(p->multiplier, p->shift);
    TG_BROADCAST_RUNS(p, input1, input2, output, mul_run, p, &q);
}
