/* Body of the carry-save bconv2d kernels tg_bconv2d_b1_hs8r<T> (see tg_bconv2d.h), one per
 * tail length T = (k_h*k_w*ceil(in_c/32)) % 8, which the generator picks: the including file
 * defines TG_BCONV_TAIL, TG_BCONV_SYMBOL and TG_BCONV_SCRATCH_BYTES, so the tail is unrolled at
 * compile time and only the 8-word block loop runs at run time.
 *
 * Per output pixel the receptive field is gathered into scratch as K = k_h*k_w*words contiguous
 * words, out-of-image taps as zero words (+1), the only place taps are tested (once per pixel,
 * shared by all output channels). Then, per output channel:
 *   diff = popcount(field ^ w) by Harley-Seal (tg_popcount.h),
 *   full dot = k_h*k_w*in_c - 2*diff, which is the +1-padded dot; the zero-padding correction
 *   of each border position class is folded offline into class_values (tg_bconv2d.h).
 * Weights: pairs of output channels interleaved per 8-word block, then the two tails (an odd last
 * channel alone): [pair][block][2][8] ++ [pair][2][T]. */
#include "tg_bconv2d.h"
#include "tg_popcount.h"

#if !defined(TG_BCONV_TAIL) || TG_BCONV_TAIL < 0 || TG_BCONV_TAIL > 7
#error "define TG_BCONV_TAIL (0..7) before including tg_bconv2d_hs_body.h"
#endif

size_t TG_BCONV_SCRATCH_BYTES(const tg_bconv2d_params *p)
{
    return (size_t)p->k_h * (size_t)p->k_w * (size_t)tg_bitpack_words(p->in_c) * sizeof(uint32_t);
}

/* the receptive field of output pixel (oy, ox): K words, zero words outside the image */
static void gather_field(const tg_bconv2d_params *p, const uint32_t *input, int32_t oy, int32_t ox, uint32_t *g)
{
    const int32_t words = tg_bitpack_words(p->in_c);
    const int32_t run = p->k_w * words;
    const int32_t iy0 = oy * p->stride_h - p->pad_t, ix0 = ox * p->stride_w - p->pad_l;
    const int32_t inside_w = p->dil_w == 1 && ix0 >= 0 && ix0 + p->k_w <= p->in_w;
    for (int32_t ky = 0; ky < p->k_h; ++ky, g += run) {
        const int32_t iy = iy0 + ky * p->dil_h;
        if (iy < 0 || iy >= p->in_h) {
            for (int32_t i = 0; i < run; ++i) g[i] = 0;
            continue;
        }
        const uint32_t *row = input + iy * p->in_w * words;
        if (inside_w) {
            const uint32_t *src = row + ix0 * words;
            for (int32_t i = 0; i < run; ++i) g[i] = src[i];
            continue;
        }
        for (int32_t kx = 0; kx < p->k_w; ++kx) {
            const int32_t ix = ix0 + kx * p->dil_w;
            const uint32_t *src = row + ix * words;
            const int32_t in = ix >= 0 && ix < p->in_w;
            for (int32_t i = 0; i < words; ++i) g[kx * words + i] = in ? src[i] : 0;
        }
    }
}

static inline int32_t hs_diff1(const uint32_t *g, const uint32_t *w, int32_t nb)
{
    tg_hs_state a = {0, 0, 0, 0};
    tg_hs_xor_blocks(&a, g, w, nb);
    g += 8 * nb;
    w += 8 * nb;
    uint32_t ea = 0;
#if TG_BCONV_TAIL > 0
    uint32_t da[TG_BCONV_TAIL];
    for (int i = 0; i < TG_BCONV_TAIL; ++i) da[i] = g[i] ^ w[i];
    ea = tg_hs_tail(&a, da, TG_BCONV_TAIL);
#endif
    return tg_hs_total(&a, ea);
}

/* int8 output from diff and the class value (tg_bconv2d.h) */
static inline int8_t s8_output(const tg_bconv2d_params *p, int32_t value, int32_t o, int32_t diff)
{
    /* acc = dot * 2^pre_shift + bias exactly; wrapping arithmetic, the true value fits int32 */
    const int32_t acc = (int32_t)((uint32_t)value - ((uint32_t)diff << (p->pre_shift + 1)));
    const int64_t v = (int64_t)tg_requantize(acc, p->multiplier[o], p->shift[o]) + p->output_offset;
    return (int8_t)(v < p->act_min ? p->act_min : (v > p->act_max ? p->act_max : v));
}

void TG_BCONV_SYMBOL(const tg_bconv2d_params *p, const uint32_t *input, void *output, void *scratch)
{
    const int32_t k_words = p->k_h * p->k_w * tg_bitpack_words(p->in_c);
    const int32_t nb = k_words / 8; /* k_words % 8 == TG_BCONV_TAIL (the generator's choice) */
    const int32_t out_words = tg_bitpack_words(p->out_c);
    uint32_t *g = (uint32_t *)scratch;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        const int32_t row_class = p->row_class[oy] * p->n_col_class;
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            const int32_t pixel = oy * p->out_w + ox;
            const int32_t cls = (row_class + p->col_class[ox]) * p->out_c;
            uint32_t *bits = (uint32_t *)output + pixel * out_words;
            int8_t *s8 = (int8_t *)output + pixel * p->out_c;
            const uint32_t *w = p->weight;
            gather_field(p, input, oy, ox, g);
            if (p->output_binary) { /* one packed word per 32 channels, bits straight from the compare */
                const int16_t *thr = p->class_thresholds + cls;
                for (int32_t o0 = 0; o0 < p->out_c; o0 += TG_WORD_BITS) {
                    const int32_t n = p->out_c - o0 < TG_WORD_BITS ? p->out_c - o0 : TG_WORD_BITS;
                    uint32_t word = 0;
                    for (int32_t j = 0; j < n; ++j, w += k_words) {
                        word |= ((uint32_t)(hs_diff1(g, w, nb) > thr[o0 + j]) ^ p->flip[o0 + j]) << j;
                    }
                    bits[o0 / TG_WORD_BITS] = word;
                }
            } else {
                const int32_t *values = p->class_values + cls;
                for (int32_t o = 0; o < p->out_c; ++o, w += k_words) s8[o] = s8_output(p, values[o], o, hs_diff1(g, w, nb));
            }
        }
    }
}
