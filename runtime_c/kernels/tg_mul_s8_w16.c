/* Fast int8 broadcasting mul (same contract as tg_mul_s8_ref, see tg_elementwise.h) with
 * tg_gemm_w16.h's output stage: the requantization, output offset and rounding as one 64-bit
 * multiply-add (SMLAL) and a shift, six instructions per element. The generator selects it only
 * when that stage is exact for the layer (ops/mul.py: multiplier in {0} U [2^30, 2^31), shift in
 * [-23, -1]); the product of two offset int8 values (|.| <= 2^16) is far inside its bound.
 * One flat loop when neither input broadcasts, else one loop per pixel over the channels. No
 * restrict: the output may be input 1 (in place), each element is read before it is written. */
#include "tg_elementwise.h"
#include "tg_gemm_w16.h"

typedef struct {
    int32_t o1, o2, m, khi, sh, lo, hi;
    uint32_t klo;
} tg_mul_w16_stage;

__attribute__((noinline)) static void mul_w16_run(const tg_mul_w16_stage *sp, const int8_t *in1, int32_t s1,
                                                  const int8_t *in2, int32_t s2, int8_t *out, int32_t count)
{
    const tg_mul_w16_stage q = *sp; /* locals: the int8 stores could alias *sp */
    if (s1 == 1 && s2 == 1 && q.lo == -128 && q.hi == 127) { /* the common case: two registers fewer */
        for (int32_t i = 0; i < count; ++i)
            out[i] = (int8_t)tg_w16_scale(((int32_t)in1[i] + q.o1) * ((int32_t)in2[i] + q.o2), q.m, q.klo, q.khi, q.sh);
        return;
    }
    if (q.lo == -128 && q.hi == 127) {
        for (int32_t i = 0; i < count; ++i, in1 += s1, in2 += s2)
            out[i] = (int8_t)tg_w16_scale(((int32_t)*in1 + q.o1) * ((int32_t)*in2 + q.o2), q.m, q.klo, q.khi, q.sh);
        return;
    }
    for (int32_t i = 0; i < count; ++i, in1 += s1, in2 += s2) {
        const int32_t v = tg_w16_scale(((int32_t)*in1 + q.o1) * ((int32_t)*in2 + q.o2), q.m, q.klo, q.khi, q.sh);
        out[i] = (int8_t)(v > q.hi ? q.hi : (v < q.lo ? q.lo : v));
    }
}

void tg_mul_s8_w16(const tg_mul_params *p, const int8_t *input1, const int8_t *input2, int8_t *output)
{
    /* K = 2^30 + 2^(30+e) + output_offset * 2^(31+e), e = -shift (conv_gemm.w16_records) */
    const int32_t e = -p->shift;
    const int64_t k = ((int64_t)1 << 30) + ((int64_t)1 << (30 + e)) + (int64_t)p->output_offset * ((int64_t)1 << (31 + e));
    const tg_mul_w16_stage q = {p->input1_offset, p->input2_offset, p->multiplier, (int32_t)(k >> 32), e - 1,
                                p->act_min, p->act_max, (uint32_t)k};
    TG_BROADCAST_RUNS(p, input1, input2, output, mul_w16_run, &q);
}
