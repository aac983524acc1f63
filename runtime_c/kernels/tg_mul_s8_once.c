/* Fast int8 broadcasting mul (same contract as tg_mul_s8_ref, see tg_elementwise.h) for the
 * single-rounding multipliers of PyTorch models (tinygen/quant/params.py, mul_requant: shift 0,
 * 0 < m < 2^30): then tg_requantize(P, m, 0) is srdhm(P, m) = floor((P*m + 2^30) / 2^31)
 * = floor((P * 2m + 2^31) / 2^32), the high word of one SMLAL of P and 2m onto K = 2^31 +
 * output_offset * 2^32 (the offset rides in the high word; |P * 2m| < 2^48, nothing wraps), then
 * SSAT to int8: three instructions per element after the product. The generator selects it only
 * for such multipliers (ops/mul.py). One flat loop when neither input broadcasts, else one loop
 * per pixel over the channels. No restrict: the output may be input 1 (in place), each element
 * is read before it is written. */
#include "tg_elementwise.h"
#include "tg_dsp.h"

typedef struct {
    int32_t o1, o2, m2, off, lo, hi;
} tg_mul_once_stage;

static inline int32_t tg_mul_once_scale(int32_t p, int32_t m2, int32_t off)
{
#if TG_DSP_NATIVE
    uint32_t lo = 0x80000000u;
    int32_t hi = off;
    __asm__("smlal %[lo], %[hi], %[p], %[m]\n\t"
            "ssat %[hi], #8, %[hi]"
            : [lo] "+&r"(lo), [hi] "+&r"(hi)
            : [p] "r"(p), [m] "r"(m2)
            : "cc");
    return hi;
#else
    const int64_t z = (int64_t)p * m2 + 2147483648LL + (int64_t)off * 4294967296LL;
    const int32_t r = (int32_t)(uint32_t)((uint64_t)z >> 32);
    return r > 127 ? 127 : (r < -128 ? -128 : r);
#endif
}

__attribute__((noinline)) static void mul_once_run(const tg_mul_once_stage *sp, const int8_t *in1, int32_t s1,
                                                   const int8_t *in2, int32_t s2, int8_t *out, int32_t count)
{
    const tg_mul_once_stage q = *sp; /* locals: the int8 stores could alias *sp */
    if (q.lo == -128 && q.hi == 127) {
        for (int32_t i = 0; i < count; ++i, in1 += s1, in2 += s2)
            out[i] = (int8_t)tg_mul_once_scale(((int32_t)*in1 + q.o1) * ((int32_t)*in2 + q.o2), q.m2, q.off);
        return;
    }
    for (int32_t i = 0; i < count; ++i, in1 += s1, in2 += s2) {
        const int32_t v = tg_mul_once_scale(((int32_t)*in1 + q.o1) * ((int32_t)*in2 + q.o2), q.m2, q.off);
        out[i] = (int8_t)(v > q.hi ? q.hi : (v < q.lo ? q.lo : v));
    }
}

void tg_mul_s8_once(const tg_mul_params *p, const int8_t *input1, const int8_t *input2, int8_t *output)
{
    const tg_mul_once_stage q = {p->input1_offset, p->input2_offset, 2 * p->multiplier, p->output_offset,
                                 p->act_min, p->act_max};
    TG_BROADCAST_RUNS(p, input1, input2, output, mul_once_run, &q);
}
