/* Fast sparse int8 depthwise convolution (groups == in_c == out_c, k_h*k_w <= 64; same results as
 * tg_conv2d_sparse_s8_ref with the input offset folded into the bias, see tg_sparse.h).
 *
 * Why it is fast: per output only the channel's non-zero taps are read (one load and one
 * multiply-add each), with no bounds test: the input is first copied into scratch padded with
 * -input_offset (which adds 0 after the bias fold) to the rows and columns the outputs reach, so
 * every tap of every pixel is an in-bounds load at a fixed
 * offset. The input is copied in bands of output rows (as many as fit TG_DW4_BAND_BYTES of
 * scratch). The taps are decoded once per call (offset into the padded band, channel included,
 * and value; positions to offsets through a table of the k_h*k_w positions); then per band one
 * channel at a time walks all its output pixels with its taps and its output stage record in
 * registers: up to four taps by straight-line code (the common case of a sparse 3x3 row), more by
 * a loop. Four pixels of a row share one packed clamp. Output stage: tg_gemm_w16.h's (records made once per call,
 * contract checked by the generator: conv_gemm.w16_stage_ok). */
#include <string.h>

#include "tg_gemm_w16.h"
#include "tg_sparse.h"

static inline int32_t padded_w(const tg_conv2d_sparse_params *p)
{
    return (p->out_w - 1) * p->stride_w + (p->k_w - 1) * p->dil_w + 1;
}

/* padded input rows a band of `band` output rows reads */
static inline int32_t band_rows(const tg_conv2d_sparse_params *p, int32_t band)
{
    return (band - 1) * p->stride_h + (p->k_h - 1) * p->dil_h + 1;
}

/* Output rows per band: as many as keep the band's padded rows within TG_DW4_BAND_BYTES (at
 * least one; tinygen/ops/conv2d_sparse.py mirrors this and bounds one row's band). */
#define TG_DW4_BAND_BYTES 8192
static int32_t band_height(const tg_conv2d_sparse_params *p)
{
    const int32_t row_bytes = padded_w(p) * p->in_c;
    int32_t band = 1;
    while (band < p->out_h && band_rows(p, band + 1) * row_bytes <= TG_DW4_BAND_BYTES) ++band;
    return band;
}

static int32_t entries(const tg_conv2d_sparse_params *p)
{
    int32_t e = 0;
    for (int32_t c = 0; c < p->out_c; ++c) e += 2 * (int32_t)p->pairs[c];
    return e;
}

/* records (TG_W16_Q words per channel), tap counts (one word per channel), taps (two words per
 * stored entry at most: offset, value), position offsets (one word per k_h*k_w position), then
 * the padded input */
size_t tg_conv2d_sparse_s8_dw4_scratch_bytes(const tg_conv2d_sparse_params *p)
{
    return 4u * (size_t)((TG_W16_Q + 1) * p->out_c + 2 * entries(p) + p->k_h * p->k_w) +
           (size_t)(band_rows(p, band_height(p)) * padded_w(p) * p->in_c);
}

/* One channel's outputs: n taps (offset, value pairs in tap) from base, `step` bytes per pixel
 * and `row_step` per output row, outputs `ostride` apart (height rows of width). N is the tap
 * count when it is 0..4 (the body unrolled), else -1. */
__attribute__((always_inline)) static inline void channel(const int8_t *base, int8_t *out, int32_t height,
                                                          int32_t width, int32_t row_step, int32_t step,
                                                          int32_t ostride, const int32_t *tap, int32_t n,
                                                          const int32_t N, const int32_t *r, uint32_t lo4,
                                                          uint32_t hi4)
{
    const int32_t b = r[0], m = r[1], khi = r[3], sh = r[4];
    const uint32_t klo = (uint32_t)r[2];
    const int32_t o0 = N > 0 ? tap[0] : 0, w0 = N > 0 ? tap[1] : 0, o1 = N > 1 ? tap[2] : 0, w1 = N > 1 ? tap[3] : 0;
    const int32_t o2 = N > 2 ? tap[4] : 0, w2 = N > 2 ? tap[5] : 0, o3 = N > 3 ? tap[6] : 0, w3 = N > 3 ? tap[7] : 0;
#define TG_DW4_ACC(x, acc)                                                                         \
    do {                                                                                           \
        acc = b;                                                                                   \
        if (N < 0) {                                                                               \
            for (int32_t t_ = 0; t_ < n; ++t_) acc += tap[2 * t_ + 1] * (x)[tap[2 * t_]];           \
        } else {                                                                                   \
            if (N > 0) acc += w0 * (x)[o0];                                                        \
            if (N > 1) acc += w1 * (x)[o1];                                                        \
            if (N > 2) acc += w2 * (x)[o2];                                                        \
            if (N > 3) acc += w3 * (x)[o3];                                                        \
        }                                                                                          \
    } while (0)
    for (int32_t oy = 0; oy < height; ++oy, base += row_step - width * step) {
        int32_t ox = 0;
        for (; ox + 4 <= width; ox += 4, base += 4 * step, out += 4 * ostride) {
            int32_t a0, a1, a2, a3;
            TG_DW4_ACC(base, a0);
            TG_DW4_ACC(base + step, a1);
            TG_DW4_ACC(base + 2 * step, a2);
            TG_DW4_ACC(base + 3 * step, a3);
            uint32_t y = (uint32_t)tg_w16_scale(a0, m, klo, khi, sh);
            TG_W16_BFI(y, tg_w16_scale(a1, m, klo, khi, sh), 8);
            TG_W16_BFI(y, tg_w16_scale(a2, m, klo, khi, sh), 16);
            TG_W16_BFI(y, tg_w16_scale(a3, m, klo, khi, sh), 24);
            tg_w16_store4(out, ostride, tg_w16_clamp4(y, lo4, hi4));
        }
        for (; ox < width; ++ox, base += step, out += ostride) {
            int32_t a;
            TG_DW4_ACC(base, a);
            *out = (int8_t)tg_w16_clamp4((uint32_t)tg_w16_scale(a, m, klo, khi, sh) & 0xFFu, lo4, hi4);
        }
    }
#undef TG_DW4_ACC
}

void tg_conv2d_sparse_s8_dw4(const tg_conv2d_sparse_params *p, const int8_t *input, int8_t *output,
                             void *scratch)
{
    const int32_t c_all = p->in_c, pw = padded_w(p), kw = p->k_w, taps_n = p->k_h * kw, band = band_height(p);
    const int32_t row_bytes = pw * c_all;
    const uint32_t lo4 = tg_w16_rep4(p->act_min), hi4 = tg_w16_rep4(p->act_max);
    const int8_t pad = (int8_t)(-p->input_offset);
    int32_t *const recs = (int32_t *)scratch;
    int32_t *const counts = recs + TG_W16_Q * c_all;
    int32_t *const taps = counts + c_all;
    int32_t *const at = taps + 2 * entries(p);
    int8_t *const img = (int8_t *)(at + taps_n);
    for (int32_t t = 0; t < taps_n; ++t) at[t] = (t / kw) * p->dil_h * row_bytes + (t % kw) * p->dil_w * c_all;
    /* output stage records {bias, m, K_lo, K_hi, sh} (tg_gemm_w16.h) and the non-zero taps */
    const int8_t *v = p->values;
    const uint8_t *st = p->steps;
    int32_t *tap = taps;
    for (int32_t c = 0; c < c_all; ++c) {
        int32_t *r = recs + TG_W16_Q * c;
        const int32_t e = -p->shift[c];
        const int64_t k = ((int64_t)1 << 30) + ((int64_t)1 << (30 + e)) + (int64_t)p->output_offset * ((int64_t)1 << (31 + e));
        r[0] = p->bias[c];
        r[1] = p->multiplier[c];
        r[2] = (int32_t)(uint32_t)(uint64_t)k;
        r[3] = (int32_t)(k >> 32);
        r[4] = e - 1;
        const int32_t n = 2 * (int32_t)p->pairs[c];
        int32_t pos = 0, kept = 0;
        for (int32_t i = 0; i < n; ++i) {
            pos += (i & 1) ? (st[i >> 1] >> 4) : (st[i >> 1] & 15);
            if (v[i] != 0) {
                tap[2 * kept] = at[pos] + c;
                tap[2 * kept++ + 1] = v[i];
            }
        }
        counts[c] = kept;
        tap += 2 * kept;
        v += n;
        st += n / 2;
    }
    const int32_t w = p->out_w, row_step = p->stride_h * row_bytes, step = p->stride_w * c_all;
    for (int32_t oy = 0; oy < p->out_h; oy += band) {
        const int32_t h = p->out_h - oy < band ? p->out_h - oy : band;
        /* the band's input rows padded to the window its outputs reach (rows above and below,
         * columns left and right hold pad; input columns beyond the window are not read) */
        for (int32_t y = 0; y < band_rows(p, h); ++y) {
            const int32_t iy = oy * p->stride_h + y - p->pad_t;
            int8_t *dst = img + y * row_bytes;
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
        int8_t *const out_band = output + oy * w * c_all;
        tap = taps;
        for (int32_t c = 0; c < c_all; ++c) {
            const int32_t n = counts[c], *r = recs + TG_W16_Q * c;
            int8_t *const out = out_band + c;
            switch (n) {
            case 0: channel(img, out, h, w, row_step, step, c_all, tap, n, 0, r, lo4, hi4); break;
            case 1: channel(img, out, h, w, row_step, step, c_all, tap, n, 1, r, lo4, hi4); break;
            case 2: channel(img, out, h, w, row_step, step, c_all, tap, n, 2, r, lo4, hi4); break;
            case 3: channel(img, out, h, w, row_step, step, c_all, tap, n, 3, r, lo4, hi4); break;
            case 4: channel(img, out, h, w, row_step, step, c_all, tap, n, 4, r, lo4, hi4); break;
            default: channel(img, out, h, w, row_step, step, c_all, tap, n, -1, r, lo4, hi4); break;
            }
            tap += 2 * n;
        }
    }
}
