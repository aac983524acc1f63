/* Binary convolution with pruned kernels, kept words only (see tg_bconv2d_pruned.h): the field
 * gathered word-major once per pixel, then per output channel its segments counted into one
 * carry-save state with tg_popcount.h's core (the dense carry-save bconv2d's). */
#include "tg_bconv2d_pruned.h"
#include "tg_popcount.h"
#include "tg_requant_fast.h"

size_t tg_bconv2d_pruned_b1_seg_scratch_bytes(const tg_bconv2d_pruned_params *p)
{
    return (size_t)(p->k_h * p->k_w * tg_bitpack_words(p->in_c)) * sizeof(uint32_t);
}

/* g[k*T + t] = input word k at tap t, 0 outside the image (+1, corrected per border class) */
static void gather_word_major(const tg_bconv2d_pruned_params *p, const uint32_t *input, int32_t oy, int32_t ox,
                              uint32_t *g)
{
    const int32_t words = tg_bitpack_words(p->in_c), taps = p->k_h * p->k_w;
    int32_t t = 0;
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
        const int32_t iy = oy * p->stride_h - p->pad_t + ky * p->dil_h;
        for (int32_t kx = 0; kx < p->k_w; ++kx, ++t) {
            const int32_t ix = ox * p->stride_w - p->pad_l + kx * p->dil_w;
            const int inside = iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w;
            const uint32_t *src = input + (iy * p->in_w + ix) * words;
            for (int32_t k = 0; k < words; ++k) g[k * taps + t] = inside ? src[k] : 0u;
        }
    }
}

/* n words of (a ^ b) & m into the state; returns the weighted byte counts the state does not hold */
static inline uint32_t masked_words(tg_hs_state *st, const uint32_t *a, const uint32_t *b, uint32_t m, int32_t n)
{
    uint32_t d[8];
    for (; n >= 8; n -= 8, a += 8, b += 8) {
        TG_HS_BLOCK8(*st, (a[0] ^ b[0]) & m, (a[1] ^ b[1]) & m, (a[2] ^ b[2]) & m, (a[3] ^ b[3]) & m,
                     (a[4] ^ b[4]) & m, (a[5] ^ b[5]) & m, (a[6] ^ b[6]) & m, (a[7] ^ b[7]) & m);
    }
    for (int32_t i = 0; i < n; ++i) d[i] = (a[i] ^ b[i]) & m;
    return tg_hs_tail(st, d, n);
}

/* n contiguous words of a ^ b into the state (blocks of 8 by the carry-save core), tail as above */
static inline uint32_t full_words(tg_hs_state *st, const uint32_t *a, const uint32_t *b, int32_t n)
{
    uint32_t d[8];
    const int32_t nb = n / 8;
    tg_hs_xor_blocks(st, a, b, nb);
    a += 8 * nb;
    b += 8 * nb;
    n -= 8 * nb;
    for (int32_t i = 0; i < n; ++i) d[i] = a[i] ^ b[i];
    return tg_hs_tail(st, d, n);
}

/* diff of one output channel; *sp, *wp, *mp advanced past its segments */
static inline int32_t channel_diff(const uint32_t *g, const uint16_t **sp, const uint32_t **wp, const uint32_t **mp,
                                   int32_t taps)
{
    const uint16_t *s = *sp;
    const uint32_t *w = *wp, *m = *mp;
    const int32_t n_full = s[0], n_part = s[1];
    tg_hs_state st = {0u, 0u, 0u, 0u};
    int32_t total = 0;
    s += 2;
    for (int32_t i = 0; i < n_full; ++i, s += 2) {
        total += (int32_t)tg_sum_bytes(full_words(&st, g + s[0], w, s[1]));
        w += s[1];
    }
    for (int32_t i = 0; i < n_part; ++i, ++s, w += taps)
        total += (int32_t)tg_sum_bytes(masked_words(&st, g + s[0], w, *m++, taps));
    *sp = s;
    *wp = w;
    *mp = m;
    return total + tg_hs_total(&st, 0u);
}

void tg_bconv2d_pruned_b1_seg(const tg_bconv2d_pruned_params *p, const uint32_t *input, void *output, void *scratch)
{
    const int32_t taps = p->k_h * p->k_w;
    const int32_t out_words = tg_bitpack_words(p->out_c);
    uint32_t *g = (uint32_t *)scratch;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        const int32_t row_class = p->row_class[oy] * p->n_col_class;
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            const int32_t pixel = oy * p->out_w + ox;
            const int32_t cls = (row_class + p->col_class[ox]) * p->out_c;
            const uint16_t *s = p->segs;
            const uint32_t *w = p->weight, *m = p->part_mask;
            gather_word_major(p, input, oy, ox, g);
            if (p->output_binary) {
                uint32_t *bits = (uint32_t *)output + pixel * out_words;
                const int16_t *thr = p->class_thresholds + cls;
                uint32_t word = 0;
                for (int32_t o = 0; o < p->out_c; ++o) {
                    const int32_t diff = channel_diff(g, &s, &w, &m, taps);
                    word |= (uint32_t)(diff > thr[o]) << (o % TG_WORD_BITS);
                    if (o % TG_WORD_BITS == TG_WORD_BITS - 1 || o == p->out_c - 1) {
                        bits[o / TG_WORD_BITS] = word;
                        word = 0;
                    }
                }
            } else {
                int8_t *s8 = (int8_t *)output + pixel * p->out_c;
                const int32_t *values = p->class_values + cls;
                for (int32_t o = 0; o < p->out_c; ++o) {
                    const int32_t diff = channel_diff(g, &s, &w, &m, taps);
                    /* acc = dot * 2^pre_shift + bias exactly; wrapping arithmetic, the true value fits int32 */
                    const int32_t acc = (int32_t)((uint32_t)values[o] - ((uint32_t)diff << (p->pre_shift + 1)));
                    s8[o] = (int8_t)tg_requantize_fast_clamp(acc, p->multiplier[o], p->shift[o], p->output_offset,
                                                             p->act_min, p->act_max);
                }
            }
        }
    }
}
