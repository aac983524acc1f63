/* Fast int8 convolution with sparse weights, groups 1, eight output pixels per walk of a row's
 * entries (same results as tg_conv2d_sparse_s8_ref with the input offset folded into the bias,
 * see tg_sparse.h).
 *
 * Why it is fast: two pixels share one 64-bit SMLAL. Scratch holds, per HWI position i of the
 * receptive field, four lane words X_j = x_{2j} + x_{2j+1} * 2^23 (pixels 2j, 2j+1 of the group,
 * j < 4; 16 bytes, so a step scales with one shift). acc_j += v * X_j in 64 bits then holds
 * S_{2j} + S_{2j+1} * 2^23 with S_q = sum v * x_q, and the two sums separate exactly while
 * |S_q| < 2^22, which the generator checks (128 * sum|w| < 2^22 per row,
 * tinygen/ops/conv2d_sparse.py): the accumulator starts at 2^22 + bias * 2^23, so S_{2j} + 2^22
 * is its low 23 bits and bias + S_{2j+1} = acc >> 23 (the odd pixel's bias comes free; it fits
 * the 41 bits above, the generator checks |bias| + 2^22 < 2^31). Per pair of entries: 22
 * instructions for 16 multiply-adds.
 * The entries are one stream in `steps` (per pair: the step byte, low nibble first, then the
 * two values); `values` is not read. A last group of 1-4 pixels walks two lane words only.
 *
 * Output stage: tg_gemm_w16.h's (one SMLAL with a precomputed 64-bit constant, then a packed
 * clamp of four outputs), its records made once per call in scratch after the lane words, each
 * followed by the row's accumulator start; the generator checked its contract
 * (conv_gemm.w16_stage_ok). */
#include "tg_gemm_w16.h"
#include "tg_sparse.h"

#define TG_PX8_HALF (1u << 22)
/* per channel: {bias - 2^22, m, K_lo, K_hi, sh} (tg_w16_pack reads words 1-4), then the 64-bit
 * accumulator start 2^22 + bias * 2^23 (lo, hi) and a pad word */
#define TG_PX8_REC 8

size_t tg_conv2d_sparse_s8_px8_scratch_bytes(const tg_conv2d_sparse_params *p)
{
    return (size_t)(16 * p->k_h * p->k_w * p->in_c) + 4u * TG_PX8_REC * (size_t)p->out_c;
}

/* One lane word: a + b * 2^23 in two's complement (|a|, |b| <= 128, so it fits int32). */
static inline uint32_t lane(int32_t a, int32_t b)
{
    return (uint32_t)a + ((uint32_t)b << 23);
}

/* The lane words of pixels pixel..pixel+7 (beyond `pixels`: copies of the first one). Taps
 * outside the image hold -input_offset, which adds 0 after the bias fold. */
static void gather(const tg_conv2d_sparse_params *p, const int8_t *input, int32_t pixel, int32_t pixels,
                   uint32_t *col)
{
    const int32_t cin = p->in_c, pad = -p->input_offset;
    int32_t y0[8], x0[8];
    for (int32_t q = 0; q < 8; ++q) {
        const int32_t px = pixel + q < pixels ? pixel + q : pixel;
        y0[q] = (px / p->out_w) * p->stride_h - p->pad_t;
        x0[q] = (px % p->out_w) * p->stride_w - p->pad_l;
    }
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
        for (int32_t kx = 0; kx < p->k_w; ++kx, col += 4 * cin) {
            const int8_t *src[8];
            for (int32_t q = 0; q < 8; ++q) {
                const int32_t iy = y0[q] + ky * p->dil_h, ix = x0[q] + kx * p->dil_w;
                const int in = iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w;
                src[q] = in ? input + (iy * p->in_w + ix) * cin : 0;
            }
            for (int32_t j = 0; j < 4; ++j) {
                const int8_t *a = src[2 * j], *b = src[2 * j + 1];
                uint32_t *dst = col + j;
                if (a && b) {
                    for (int32_t c = 0; c < cin; ++c) dst[4 * c] = lane(a[c], b[c]);
                } else {
                    for (int32_t c = 0; c < cin; ++c) dst[4 * c] = lane(a ? a[c] : pad, b ? b[c] : pad);
                }
            }
        }
    }
}

#if TG_DSP_NATIVE
/* One entry's multiply-adds into 2 or 4 lane words: (l_j, h_j) += v * [col + 4j]. */
#define TG_PX8_L2 "ldrd %[x], %[y], [%[col]]\n\tsmlal %[l0], %[h0], %[v], %[x]\n\tsmlal %[l1], %[h1], %[v], %[y]\n\t"
#define TG_PX8_L4                                                                                  \
    TG_PX8_L2 "ldrd %[x], %[y], [%[col], #8]\n\tsmlal %[l2], %[h2], %[v], %[x]\n\tsmlal %[l3], %[h3], %[v], %[y]\n\t"
/* Per pair: the step byte is loaded twice (no register is left to keep it: 8 accumulator halves,
 * col, stream, end, two words and the value take all 14). */
#define TG_PX8_WALK(LANES)                                                                          \
    do {                                                                                            \
        const uint32_t *c_ = col;                                                                   \
        uint32_t x, y;                                                                              \
        int32_t v;                                                                                  \
        __asm__ volatile("1:\n\t"                                                                   \
                         "ldrb %[x], [%[s]], #3\n\t"                                                \
                         "and %[x], %[x], #15\n\t"                                                  \
                         "add %[col], %[col], %[x], lsl #4\n\t"                                     \
                         "ldrsb %[v], [%[s], #-2]\n\t" TG_PX8_L##LANES                              \
                         "ldrb %[x], [%[s], #-3]\n\t"                                               \
                         "and %[x], %[x], #240\n\t"                                                 \
                         "add %[col], %[col], %[x]\n\t"                                             \
                         "ldrsb %[v], [%[s], #-1]\n\t" TG_PX8_L##LANES                              \
                         "cmp %[s], %[e]\n\t"                                                       \
                         "bne 1b"                                                                   \
                         : [col] "+r"(c_), [s] "+r"(s), [l0] "+r"(l0), [h0] "+r"(h0), [l1] "+r"(l1), \
                           [h1] "+r"(h1), [l2] "+r"(l2), [h2] "+r"(h2), [l3] "+r"(l3), [h3] "+r"(h3), \
                           [x] "=&r"(x), [y] "=&r"(y), [v] "=&r"(v)                                 \
                         : [e] "r"(e)                                                               \
                         : "cc", "memory");                                                         \
    } while (0)
#else
#define TG_PX8_WALK(LANES)                                                                          \
    do {                                                                                            \
        const uint32_t *c_ = col;                                                                   \
        uint32_t *const ls_[4] = {&l0, &l1, &l2, &l3}, *const hs_[4] = {&h0, &h1, &h2, &h3};        \
        uint64_t a_[4];                                                                             \
        for (int32_t j = 0; j < 4; ++j) a_[j] = ((uint64_t)*hs_[j] << 32) | *ls_[j];                \
        for (; s != e; s += 3) {                                                                    \
            for (int32_t h_ = 0; h_ < 2; ++h_) {                                                    \
                c_ += 4 * (h_ ? s[0] >> 4 : s[0] & 15u);                                            \
                const int64_t v_ = (int8_t)s[1 + h_];                                               \
                for (int32_t j = 0; j < LANES; ++j) a_[j] += (uint64_t)(v_ * (int32_t)c_[j]);       \
            }                                                                                       \
        }                                                                                           \
        for (int32_t j = 0; j < 4; ++j) *ls_[j] = (uint32_t)a_[j], *hs_[j] = (uint32_t)(a_[j] >> 32); \
    } while (0)
#endif

/* lane word (l, h) -> its even pixel's accumulator (low 23 bits + bias - 2^22, the record's word
 * 0 in be) and its odd one's (bias included: the word >> 23) */
#define TG_PX8_EVEN(l) (be + (int32_t)((l) & 0x7FFFFFu))
#define TG_PX8_ODD(l, h) ((int32_t)(((h) << 9) | ((l) >> 23)))

void tg_conv2d_sparse_s8_px8(const tg_conv2d_sparse_params *p, const int8_t *input, int8_t *output,
                             void *scratch)
{
    const int32_t pixels = p->out_h * p->out_w, cout = p->out_c;
    const uint32_t lo4 = tg_w16_rep4(p->act_min), hi4 = tg_w16_rep4(p->act_max);
    const uint8_t *const stream = p->steps;
    const uint16_t *const pairs = p->pairs;
    const uint32_t *const col = (const uint32_t *)scratch;
    /* the output stage records and accumulator starts (TG_PX8_REC), once per call */
    int32_t *const recs = (int32_t *)scratch + 4 * p->k_h * p->k_w * p->in_c;
    for (int32_t o = 0; o < cout; ++o) {
        const int32_t e = -p->shift[o];
        const int64_t k = ((int64_t)1 << 30) + ((int64_t)1 << (30 + e)) + (int64_t)p->output_offset * ((int64_t)1 << (31 + e));
        const int64_t start = (int64_t)TG_PX8_HALF + (int64_t)p->bias[o] * ((int64_t)1 << 23);
        int32_t *r = recs + TG_PX8_REC * o;
        r[0] = p->bias[o] - (int32_t)TG_PX8_HALF;
        r[1] = p->multiplier[o];
        r[2] = (int32_t)(uint32_t)(uint64_t)k;
        r[3] = (int32_t)(k >> 32);
        r[4] = e - 1;
        r[5] = (int32_t)(uint32_t)(uint64_t)start;
        r[6] = (int32_t)(start >> 32);
        r[7] = 0;
    }
    for (int32_t px = 0; px < pixels; px += 8) {
        gather(p, input, px, pixels, (uint32_t *)scratch);
        const int32_t n = pixels - px < 8 ? pixels - px : 8;
        const uint8_t *s = stream;
        int8_t *out = output + px * cout;
        const int32_t *r = recs;
        for (int32_t o = 0; o < cout; ++o, ++out, r += TG_PX8_REC) {
            uint32_t l0 = (uint32_t)r[5], h0 = (uint32_t)r[6], l1 = l0, h1 = h0;
            uint32_t l2 = l0, h2 = h0, l3 = l0, h3 = h0;
            const uint8_t *const e = s + 3 * (int32_t)pairs[o];
            if (s != e) {
                if (n > 4)
                    TG_PX8_WALK(4);
                else
                    TG_PX8_WALK(2);
            }
            s = e;
            const int32_t be = r[0];
            const uint32_t v0 = tg_w16_pack(r, TG_PX8_EVEN(l0), TG_PX8_ODD(l0, h0), TG_PX8_EVEN(l1),
                                            TG_PX8_ODD(l1, h1), lo4, hi4);
            if (n == 8) {
                tg_w16_store4(out, cout, v0);
                tg_w16_store4(out + 4 * cout, cout,
                              tg_w16_pack(r, TG_PX8_EVEN(l2), TG_PX8_ODD(l2, h2), TG_PX8_EVEN(l3),
                                          TG_PX8_ODD(l3, h3), lo4, hi4));
            } else { /* the last group */
                const uint32_t v1 = n > 4 ? tg_w16_pack(r, TG_PX8_EVEN(l2), TG_PX8_ODD(l2, h2),
                                                        TG_PX8_EVEN(l3), TG_PX8_ODD(l3, h3), lo4, hi4)
                                          : 0;
                for (int32_t q = 0; q < n; ++q) out[q * cout] = (int8_t)((q < 4 ? v0 : v1) >> (8 * (q & 3)));
            }
        }
    }
}
