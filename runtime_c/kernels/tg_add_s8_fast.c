/* Fast int8 broadcasting add (same contract as tg_add_s8_ref, see tg_elementwise.h): the three
 * requantizations of each element in tg_requant_smmulr.h's form, whose operand bounds the
 * generator checked for this layer (ops/add.py), and one flat loop when neither input
 * broadcasts. */
#include "tg_elementwise.h"
#include "tg_fixedpoint.h"
#include "tg_requant_smmulr.h"

/* Three passes over chunks of TG_ADD_CHUNK elements: each input's requantization into (then added
 * to) a stack buffer, then the output's. One loop holding all three requantizations needs more
 * values than the M4 has registers and reloads them from the stack for every element. The
 * requantizations are copied into locals and out is restrict: otherwise every int8 store could
 * alias them. */
#define TG_ADD_CHUNK 32

__attribute__((noinline)) static void add_run(const tg_add_params *p, const tg_rq *q1p, const tg_rq *q2p,
                                              const tg_rq *qop, const int8_t *in1, int32_t s1, const int8_t *in2,
                                              int32_t s2, int8_t *restrict out, int32_t count)
{
    const tg_rq q1 = *q1p, q2 = *q2p, qo = *qop;
    const int32_t o1 = p->input1_offset, o2 = p->input2_offset, oo = p->output_offset;
    const int32_t lo = p->act_min, hi = p->act_max;
    int32_t sum[TG_ADD_CHUNK];
    for (int32_t i0 = 0; i0 < count; i0 += TG_ADD_CHUNK) {
        const int32_t n = count - i0 < TG_ADD_CHUNK ? count - i0 : TG_ADD_CHUNK;
        for (int32_t j = 0; j < n; ++j, in1 += s1) sum[j] = tg_rq_apply(&q1, (int32_t)*in1 + o1);
        for (int32_t j = 0; j < n; ++j, in2 += s2) sum[j] += tg_rq_apply(&q2, (int32_t)*in2 + o2);
        for (int32_t j = 0; j < n; ++j) out[i0 + j] = (int8_t)tg_clamp(tg_rq_apply(&qo, sum[j]) + oo, lo, hi);
    }
}

void tg_add_s8_fast(const tg_add_params *p, const int8_t *input1, const int8_t *input2, int8_t *output)
{
    /* the common left shift folds into each input's pre-shift */
    tg_rq q1 = tg_rq_make(p->input1_multiplier, p->input1_shift);
    tg_rq q2 = tg_rq_make(p->input2_multiplier, p->input2_shift);
    const tg_rq qo = tg_rq_make(p->output_multiplier, p->output_shift);
    q1.pre += p->left_shift;
    q2.pre += p->left_shift;
    TG_BROADCAST_RUNS(p, input1, input2, output, add_run, p, &q1, &q2, &qo);
}
