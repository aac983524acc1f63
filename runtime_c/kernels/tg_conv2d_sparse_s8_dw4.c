/* Fast sparse int8 depthwise convolution (groups == in_c == out_c, k_h*k_w <= 64; same results as
 * tg_conv2d_sparse_s8_ref with the input offset folded into the bias, see tg_sparse.h).
 *
 * Why it is fast: per output only the row's non-zero taps are read (a few loads and one
 * multiply-add each), with no bounds test: each output row's k_h input rows are first copied into
 * scratch padded with -input_offset (which adds 0 after the bias fold), so every tap of every
 * pixel is an in-bounds load at a fixed offset. Channels go four at a time: their taps are
 * decoded once per output row (offsets into the padded rows, values), and the four outputs of a
 * pixel share tg_gemm_w16.h's output stage (records made once per call in scratch, contract
 * checked by the generator: conv_gemm.w16_stage_ok), one packed clamp and one word store. */
#include <string.h>

#include "tg_gemm_w16.h"
#include "tg_sparse.h"

#define TG_DW4_MAX_TAPS 64

static inline int32_t padded_w(const tg_conv2d_sparse_params *p)
{
    return (p->out_w - 1) * p->stride_w + (p->k_w - 1) * p->dil_w + 1;
}

size_t tg_conv2d_sparse_s8_dw4_scratch_bytes(const tg_conv2d_sparse_params *p)
{
    return 4u * TG_W16_Q * (size_t)((p->out_c + 3) & ~3) + (size_t)(p->k_h * padded_w(p) * p->in_c);
}

/* acc + the taps n, at[], w[] of one channel at base */
static inline int32_t taps(const int8_t *base, const int16_t *at, const int8_t *w, int32_t n, int32_t acc)
{
    for (int32_t t = 0; t < n; ++t) acc += w[t] * base[at[t]];
    return acc;
}

void tg_conv2d_sparse_s8_dw4(const tg_conv2d_sparse_params *p, const int8_t *input, int8_t *output,
                             void *scratch)
{
    const int32_t c_all = p->in_c, out_w = p->out_w, pw = padded_w(p), kw = p->k_w;
    const int32_t groups4 = (c_all + 3) >> 2, row_bytes = pw * c_all, step = p->stride_w * c_all;
    const uint32_t lo4 = tg_w16_rep4(p->act_min), hi4 = tg_w16_rep4(p->act_max);
    const int8_t pad = (int8_t)(-p->input_offset);
    int32_t *const recs = (int32_t *)scratch;
    int8_t *const rows = (int8_t *)(recs + TG_W16_Q * 4 * groups4);
    /* output stage records {bias, m, K_lo, K_hi, sh} (tg_gemm_w16.h); channels past c_all unused */
    for (int32_t c = 0; c < 4 * groups4; ++c) {
        int32_t *r = recs + TG_W16_Q * c;
        const int32_t cc = c < c_all ? c : c_all - 1, e = -p->shift[cc];
        const int64_t k = ((int64_t)1 << 30) + ((int64_t)1 << (30 + e)) + (int64_t)p->output_offset * ((int64_t)1 << (31 + e));
        r[0] = p->bias[cc];
        r[1] = p->multiplier[cc];
        r[2] = (int32_t)(uint32_t)(uint64_t)k;
        r[3] = (int32_t)(k >> 32);
        r[4] = e - 1;
    }
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        /* the k_h input rows of this output row, padded left, right, above and below */
        for (int32_t ky = 0; ky < p->k_h; ++ky) {
            const int32_t iy = oy * p->stride_h - p->pad_t + ky * p->dil_h;
            int8_t *dst = rows + ky * row_bytes;
            if (iy < 0 || iy >= p->in_h) {
                memset(dst, pad, (size_t)row_bytes);
                continue;
            }
            const int32_t left = p->pad_l < pw ? p->pad_l : pw;
            const int32_t inside = (p->in_w < pw - left ? p->in_w : pw - left);
            memset(dst, pad, (size_t)(left * c_all));
            memcpy(dst + left * c_all, input + iy * p->in_w * c_all, (size_t)(inside * c_all));
            memset(dst + (left + inside) * c_all, pad, (size_t)((pw - left - inside) * c_all));
        }
        const int8_t *v = p->values;
        const uint8_t *st = p->steps;
        int8_t *out_row = output + oy * out_w * c_all;
        for (int32_t g = 0; g < groups4; ++g) {
            /* decode the four channels' taps: offset in the padded rows (channel included), value */
            int16_t at[4][TG_DW4_MAX_TAPS];
            int8_t w[4][TG_DW4_MAX_TAPS];
            int32_t n[4] = {0, 0, 0, 0};
            for (int32_t j = 0; j < 4 && 4 * g + j < c_all; ++j) {
                const int32_t c = 4 * g + j, entries = 2 * (int32_t)p->pairs[c];
                int32_t pos = 0;
                for (int32_t i = 0; i < entries; ++i) {
                    pos += (i & 1) ? (st[i >> 1] >> 4) : (st[i >> 1] & 15);
                    if (v[i] != 0) {
                        at[j][n[j]] = (int16_t)((pos / kw) * row_bytes + (pos % kw) * p->dil_w * c_all + c);
                        w[j][n[j]++] = v[i];
                    }
                }
                v += entries;
                st += entries / 2;
            }
            const int32_t *r = recs + TG_W16_Q * 4 * g;
            const int32_t b0 = r[0], b1 = r[TG_W16_Q], b2 = r[2 * TG_W16_Q], b3 = r[3 * TG_W16_Q];
            const int8_t *base = rows;
            int8_t *out = out_row + 4 * g;
            const int32_t valid = c_all - 4 * g < 4 ? c_all - 4 * g : 4;
            for (int32_t ox = 0; ox < out_w; ++ox, base += step, out += c_all) {
                const int32_t a0 = taps(base, at[0], w[0], n[0], b0), a1 = taps(base, at[1], w[1], n[1], b1);
                const int32_t a2 = taps(base, at[2], w[2], n[2], b2), a3 = taps(base, at[3], w[3], n[3], b3);
                /* each output's own record (the four channels differ) */
                uint32_t y = (uint32_t)tg_w16_scale(a0, r[1], (uint32_t)r[2], r[3], r[4]) & 0xFFu;
                TG_W16_BFI(y, tg_w16_scale(a1, r[TG_W16_Q + 1], (uint32_t)r[TG_W16_Q + 2], r[TG_W16_Q + 3], r[TG_W16_Q + 4]), 8);
                TG_W16_BFI(y, tg_w16_scale(a2, r[2 * TG_W16_Q + 1], (uint32_t)r[2 * TG_W16_Q + 2], r[2 * TG_W16_Q + 3], r[2 * TG_W16_Q + 4]), 16);
                TG_W16_BFI(y, tg_w16_scale(a3, r[3 * TG_W16_Q + 1], (uint32_t)r[3 * TG_W16_Q + 2], r[3 * TG_W16_Q + 3], r[3 * TG_W16_Q + 4]), 24);
                y = tg_w16_clamp4(y, lo4, hi4);
                if (valid == 4) {
                    memcpy(out, &y, 4);
                } else {
                    for (int32_t j = 0; j < valid; ++j) out[j] = (int8_t)(y >> (8 * j));
                }
            }
        }
    }
}
