/* The int8 GEMM tile shared by the fast pointwise, im2col and fully connected kernels:
 * y[p][o] = clamp(requant(bias[o] + sum_k w[o][k] * x_p[k]) + output_offset), for one or two rows
 * x_p of k int8 values (pixels or batches) and every output channel o.
 *
 * The input offset is already folded into `bias` (bias[o] + input_offset * sum_k w[o][k], done
 * offline in Python and checked to fit int32 with every partial sum), so the inner loop multiplies
 * raw int8 values: SXTB16 / SXTB16 ROR 8 split four bytes into two int16 pairs and SMLAD adds two
 * products at a time, for a 2 channel x 2 row tile (4 accumulators, 8 SMLAD per 4 k).
 *
 * Weight layout (tinygen/ops/conv_gemm.py gemm_weights writes it): channel pairs
 * (o, o+1) in order; within a pair, for each block of 4 k, the 4 bytes of o then the 4 bytes of
 * o+1; then the k % 4 trailing bytes of o, then those of o+1. An odd last channel follows with its
 * k bytes in order. So the tile reads its weights with one pointer, front to back. */
#ifndef TG_CONV_GEMM_H
#define TG_CONV_GEMM_H

#include <stdint.h>
#include "tg_dsp.h"
#include "tg_fixedpoint.h"
#include "tg_requant_fast.h"

typedef struct {
    int32_t k, out_c, output_offset, act_min, act_max;
    const int8_t *weight; /* the layout above */
    const int32_t *bias;  /* input offset folded in */
    const int32_t *multiplier;
    const int32_t *shift;
} tg_gemm_s8;

static inline int8_t tg_gemm_out(int32_t acc, const tg_gemm_s8 *g, int32_t o)
{
    return (int8_t)tg_requantize_fast_clamp(acc, g->multiplier[o], g->shift[o], g->output_offset, g->act_min,
                                            g->act_max);
}

/* Two rows x0, x1 -> y0[o], y1[o] for every o. */
static inline void tg_gemm_s8_2rows(const tg_gemm_s8 *g, const int8_t *x0, const int8_t *x1, int8_t *y0, int8_t *y1)
{
    const int32_t blocks = g->k >> 2, tail = g->k & 3;
    const int8_t *w = g->weight;
    int32_t o = 0;
    const int32_t d = (int32_t)(x1 - x0); /* row 1 read at row 0's address + d: one pointer */
    const int8_t *const end = x0 + 4 * blocks;
    for (; o + 2 <= g->out_c; o += 2) {
        int32_t a00 = g->bias[o], a01 = a00, a10 = g->bias[o + 1], a11 = a10; /* a<channel><row> */
        const int8_t *p0 = x0;
        while (p0 != end) {
            const uint32_t u = tg_load_u32(p0), v = tg_load_u32(p0 + d);
            const uint32_t ue = tg_sxtb16(u), uo = tg_sxtb16_ror8(u);
            const uint32_t ve = tg_sxtb16(v), vo = tg_sxtb16_ror8(v);
            uint32_t wa = tg_load_u32(w), we = tg_sxtb16(wa), wo = tg_sxtb16_ror8(wa);
            a00 = tg_smlad(ue, we, a00);
            a01 = tg_smlad(ve, we, a01);
            a00 = tg_smlad(uo, wo, a00);
            a01 = tg_smlad(vo, wo, a01);
            wa = tg_load_u32(w + 4);
            we = tg_sxtb16(wa);
            wo = tg_sxtb16_ror8(wa);
            a10 = tg_smlad(ue, we, a10);
            a11 = tg_smlad(ve, we, a11);
            a10 = tg_smlad(uo, wo, a10);
            a11 = tg_smlad(vo, wo, a11);
            p0 += 4;
            w += 8;
        }
        const int8_t *p1 = p0 + d;
        for (int32_t t = 0; t < tail; ++t) {
            a00 += (int32_t)w[t] * p0[t];
            a01 += (int32_t)w[t] * p1[t];
            a10 += (int32_t)w[tail + t] * p0[t];
            a11 += (int32_t)w[tail + t] * p1[t];
        }
        w += 2 * tail;
        y0[o] = tg_gemm_out(a00, g, o);
        y1[o] = tg_gemm_out(a01, g, o);
        y0[o + 1] = tg_gemm_out(a10, g, o + 1);
        y1[o + 1] = tg_gemm_out(a11, g, o + 1);
    }
    if (o < g->out_c) {
        int32_t a0 = g->bias[o], a1 = a0;
        const int8_t *p0 = x0, *p1 = x1;
        for (int32_t b = blocks; b > 0; --b) {
            const uint32_t u = tg_load_u32(p0), v = tg_load_u32(p1), wa = tg_load_u32(w);
            const uint32_t we = tg_sxtb16(wa), wo = tg_sxtb16_ror8(wa);
            a0 = tg_smlad(tg_sxtb16(u), we, a0);
            a1 = tg_smlad(tg_sxtb16(v), we, a1);
            a0 = tg_smlad(tg_sxtb16_ror8(u), wo, a0);
            a1 = tg_smlad(tg_sxtb16_ror8(v), wo, a1);
            p0 += 4;
            p1 += 4;
            w += 4;
        }
        for (int32_t t = 0; t < tail; ++t) {
            a0 += (int32_t)w[t] * p0[t];
            a1 += (int32_t)w[t] * p1[t];
        }
        y0[o] = tg_gemm_out(a0, g, o);
        y1[o] = tg_gemm_out(a1, g, o);
    }
}

/* One row x -> y[o] for every o, two channels at a time. */
static inline void tg_gemm_s8_1row(const tg_gemm_s8 *g, const int8_t *x, int8_t *y)
{
    const int32_t blocks = g->k >> 2, tail = g->k & 3;
    const int8_t *w = g->weight;
    int32_t o = 0;
    for (; o + 2 <= g->out_c; o += 2) {
        int32_t a0 = g->bias[o], a1 = g->bias[o + 1];
        const int8_t *p = x;
        for (int32_t b = blocks; b > 0; --b) {
            const uint32_t u = tg_load_u32(p);
            const uint32_t ue = tg_sxtb16(u), uo = tg_sxtb16_ror8(u);
            const uint32_t wa = tg_load_u32(w), wb = tg_load_u32(w + 4);
            a0 = tg_smlad(ue, tg_sxtb16(wa), a0);
            a0 = tg_smlad(uo, tg_sxtb16_ror8(wa), a0);
            a1 = tg_smlad(ue, tg_sxtb16(wb), a1);
            a1 = tg_smlad(uo, tg_sxtb16_ror8(wb), a1);
            p += 4;
            w += 8;
        }
        for (int32_t t = 0; t < tail; ++t) {
            a0 += (int32_t)w[t] * p[t];
            a1 += (int32_t)w[tail + t] * p[t];
        }
        w += 2 * tail;
        y[o] = tg_gemm_out(a0, g, o);
        y[o + 1] = tg_gemm_out(a1, g, o + 1);
    }
    if (o < g->out_c) {
        int32_t a0 = g->bias[o];
        const int8_t *p = x;
        for (int32_t b = blocks; b > 0; --b) {
            const uint32_t u = tg_load_u32(p), wa = tg_load_u32(w);
            a0 = tg_smlad(tg_sxtb16(u), tg_sxtb16(wa), a0);
            a0 = tg_smlad(tg_sxtb16_ror8(u), tg_sxtb16_ror8(wa), a0);
            p += 4;
            w += 4;
        }
        for (int32_t t = 0; t < tail; ++t) a0 += (int32_t)w[t] * p[t];
        y[o] = tg_gemm_out(a0, g, o);
    }
}

#endif /* TG_CONV_GEMM_H */
