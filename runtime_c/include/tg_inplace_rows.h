/* A stride-1 "same" convolution whose output overwrites its input, run band by band with the
 * layer's own kernel (tinygen/ops/inplace_rows.py says when the planner chooses it).
 *
 * Output row r reads input rows [r - pad_t, r - pad_t + reach], reach = (k_h - 1) * dil_h, and
 * is stored over input row r. Each call computes TG_INPLACE_BAND_ROWS output rows from `lag`,
 * which holds the band's input rows: the ones above the band (already overwritten in `data`)
 * are kept from the previous band, the others are copied from `data`, where they are intact.
 * lag holds TG_INPLACE_BAND_ROWS + reach rows (at most in_h). The kernel sees a band image:
 * in_h = rows in lag, out_h = rows to compute, pad_t = how far the band's first window reaches
 * above lag (nonzero only at the top); rows at or beyond in_h are padding, as at the bottom. */
#ifndef TG_INPLACE_ROWS_H
#define TG_INPLACE_ROWS_H

#include <string.h>

#include "tg_conv2d.h"
#include "tg_elementwise.h"

#define TG_INPLACE_BAND_ROWS 2

typedef void (*tg_conv2d_scratch_fn)(const tg_conv2d_params *p, const int8_t *input, int8_t *output, void *scratch);
typedef void (*tg_conv2d_fn)(const tg_conv2d_params *p, const int8_t *input, int8_t *output);

/* Input rows [*lo, *hi) that output rows [r0, r1) of the conv read. */
static inline void tg_conv_rows_span(const tg_conv2d_params *p, int32_t r0, int32_t r1, int32_t *lo, int32_t *hi)
{
    const int32_t first = r0 * p->stride_h - p->pad_t;
    const int32_t last = (r1 - 1) * p->stride_h - p->pad_t + (p->k_h - 1) * p->dil_h + 1;
    *lo = first > 0 ? first : 0;
    *hi = last < p->in_h ? last : p->in_h;
}

/* A band buffer holding rows [blo, bhi) of a tensor (`row` bytes each) moves on to a band that
 * starts at row lo: the rows it already has from lo on go to its front; returns the first row it
 * still lacks (the caller makes rows [that, hi) after them). */
static inline int32_t tg_band_keep(int8_t *band, size_t row, int32_t blo, int32_t bhi, int32_t lo)
{
    if (bhi <= lo) return lo;
    memmove(band, band + (size_t)(lo - blo) * row, (size_t)(bhi - lo) * row);
    return bhi;
}

typedef struct {
    int32_t r0;       /* first output row of the next band */
    int32_t blo, bhi; /* lag holds input rows [blo, bhi) */
} tg_rows_state;

/* Fills lag and `band` for the next band; returns where its output rows go, or 0 when done. */
static inline int8_t *tg_rows_next(const tg_conv2d_params *p, tg_rows_state *s, tg_conv2d_params *band,
                                   int8_t *data, int8_t *lag)
{
    const size_t row = (size_t)p->in_w * (size_t)p->in_c;
    const int32_t r0 = s->r0;
    if (r0 >= p->out_h) return 0;
    const int32_t r1 = r0 + TG_INPLACE_BAND_ROWS < p->out_h ? r0 + TG_INPLACE_BAND_ROWS : p->out_h;
    int32_t lo, hi;
    tg_conv_rows_span(p, r0, r1, &lo, &hi);
    const int32_t have = tg_band_keep(lag, row, s->blo, s->bhi, lo);
    memcpy(lag + (size_t)(have - lo) * row, data + (size_t)have * row, (size_t)(hi - have) * row);
    s->blo = lo;
    s->bhi = hi;
    s->r0 = r1;
    *band = *p;
    band->in_h = hi - lo;
    band->out_h = r1 - r0;
    band->pad_t = p->pad_t - (r0 - lo);
    return data + (size_t)r0 * row;
}

static inline void tg_conv2d_rows_inplace(const tg_conv2d_params *p, tg_conv2d_scratch_fn fn, int8_t *data,
                                          int8_t *lag, void *scratch)
{
    tg_rows_state s = {0, 0, 0};
    tg_conv2d_params band;
    int8_t *out;
    while ((out = tg_rows_next(p, &s, &band, data, lag)) != 0) fn(&band, lag, out, scratch);
}

static inline void tg_conv2d_rows_inplace_noscratch(const tg_conv2d_params *p, tg_conv2d_fn fn, int8_t *data,
                                                    int8_t *lag)
{
    tg_rows_state s = {0, 0, 0};
    tg_conv2d_params band;
    int8_t *out;
    while ((out = tg_rows_next(p, &s, &band, data, lag)) != 0) fn(&band, lag, out);
}

/* A pointwise conv (1x1, stride 1, unpadded) in place on pixel bands: output pixel q reads input
 * pixel q only, so the map is a row of in_h * in_w pixels run TG_INPLACE_BAND_PIXELS at a time
 * (the kernel sees a 1 x n image) from `lag`, which holds a copy of the band's input pixels. */
#define TG_INPLACE_BAND_PIXELS 8

/* One of fn / fn_s is 0; inline with a constant argument, the test is resolved at compile time. */
static inline void tg_conv2d_pixels_inplace_core(const tg_conv2d_params *p, tg_conv2d_fn fn, tg_conv2d_scratch_fn fn_s,
                                                 int8_t *data, int8_t *lag, void *scratch)
{
    const size_t px = (size_t)p->in_c;
    const int32_t total = p->in_h * p->in_w;
    tg_conv2d_params band = *p;
    band.in_h = band.out_h = 1;
    for (int32_t q0 = 0; q0 < total; q0 += TG_INPLACE_BAND_PIXELS) {
        const int32_t n = total - q0 < TG_INPLACE_BAND_PIXELS ? total - q0 : TG_INPLACE_BAND_PIXELS;
        int8_t *at = data + (size_t)q0 * px;
        memcpy(lag, at, (size_t)n * px);
        band.in_w = band.out_w = n;
        if (fn_s) {
            fn_s(&band, lag, at, scratch);
        } else {
            fn(&band, lag, at);
        }
    }
}

static inline void tg_conv2d_pixels_inplace(const tg_conv2d_params *p, tg_conv2d_scratch_fn fn, int8_t *data,
                                            int8_t *lag, void *scratch)
{
    tg_conv2d_pixels_inplace_core(p, 0, fn, data, lag, scratch);
}

static inline void tg_conv2d_pixels_inplace_noscratch(const tg_conv2d_params *p, tg_conv2d_fn fn, int8_t *data,
                                                      int8_t *lag)
{
    tg_conv2d_pixels_inplace_core(p, fn, 0, data, lag, 0);
}

/* A chain (tinygen/plan/fusion.py, Chain): x -c[0]-> y1 -c[1]-> ... -c[n-1]-> yn in one call, with
 * n <= TG_CHAIN_MAX_CONVS, optionally ended by out = add(r, yn) with r = x or sc(x). For each band
 * of TG_INPLACE_BAND_ROWS output rows [r0, r1): working back from the last conv, the rows
 * [lo_i, hi_i) of each y_i the next conv's band reads; then, conv by conv, band[i] gets those rows
 * of y_i (the ones the previous band made are kept, the others computed by c[i] from x or from
 * band[i-1]). Without an add (fa == 0) the last conv writes rows [r0, r1) of out; with one it makes
 * the band of yn in band[n-1], sc the band of r in band_sc, and the add writes rows [r0, r1) of
 * out. The y_i and r never exist whole. out may be x itself (the planner checked that no band
 * reads x rows an earlier band's output covers). Each conv is a kernel callable on row bands: one
 * of f / fs (taking scratch) is 0. Inline with constant arguments, the tests on fa, sc, n and
 * f / fs are resolved at compile time. */
#define TG_CHAIN_MAX_CONVS 3

typedef void (*tg_add_fn)(const tg_add_params *p, const int8_t *input1, const int8_t *input2, int8_t *output);

/* A conv of the chain: its params, kernel and scratch. A plain struct tag, not a typedef: the
 * typedef'd structs of these headers are kernel params (checked field by field against Python). */
struct tg_conv_rows_call {
    const tg_conv2d_params *p;
    tg_conv2d_fn f;
    tg_conv2d_scratch_fn fs;
    void *scratch;
};

/* The conv's output rows [r0, r1) from the rows of its input they read (`in` is the whole input;
 * the kernel sees the band image in `band`, a copy of the conv's params, rows at or beyond its
 * in_h being padding as at the bottom). The caller owns `band`: one struct serves every conv of a
 * chain, so inlined calls do not each take a copy's worth of stack. */
static inline void tg_conv_rows(const struct tg_conv_rows_call *c, tg_conv2d_params *band, const int8_t *in, int32_t lo,
                                int32_t hi, int32_t r0, int32_t r1, int8_t *out)
{
    *band = *c->p;
    band->in_h = hi - lo;
    band->out_h = r1 - r0;
    band->pad_t = c->p->pad_t - (r0 * c->p->stride_h - lo);
    if (c->fs) {
        c->fs(band, in, out, c->scratch);
    } else {
        c->f(band, in, out);
    }
}

static inline void tg_chain_rows(const tg_add_params *pa, tg_add_fn fa, int32_t r_first, int32_t n,
                                 const struct tg_conv_rows_call *c, const struct tg_conv_rows_call *sc,
                                 const int8_t *x, int8_t *out, int8_t *const *band, int8_t *band_sc)
{
#define TG_CHAIN_ROW(i) ((size_t)c[i].p->out_w * (size_t)c[i].p->out_c)
    const size_t row_x = (size_t)c[0].p->in_w * (size_t)c[0].p->in_c;
    const size_t row_o = TG_CHAIN_ROW(n - 1);
    const int32_t out_h = c[n - 1].p->out_h;
    int32_t lo[TG_CHAIN_MAX_CONVS], hi[TG_CHAIN_MAX_CONVS];
    int32_t blo[TG_CHAIN_MAX_CONVS] = {0}, bhi[TG_CHAIN_MAX_CONVS] = {0}; /* band[i] holds rows [blo, bhi) of y_i */
    /* the band's params: a conv's while it runs, then the add's (one struct's stack, not two) */
    union {
        tg_conv2d_params conv;
        tg_add_params add;
    } work;
    for (int32_t r0 = 0; r0 < out_h; r0 += TG_INPLACE_BAND_ROWS) {
        const int32_t r1 = r0 + TG_INPLACE_BAND_ROWS < out_h ? r0 + TG_INPLACE_BAND_ROWS : out_h;
        int32_t xlo, xhi;
        lo[n - 1] = r0;
        hi[n - 1] = r1;
        for (int32_t i = n - 1; i > 0; --i) tg_conv_rows_span(c[i].p, lo[i], hi[i], &lo[i - 1], &hi[i - 1]);
        for (int32_t i = 0; i < n - 1; ++i) {
            const int32_t have = tg_band_keep(band[i], TG_CHAIN_ROW(i), blo[i], bhi[i], lo[i]);
            if (hi[i] > have) {
                tg_conv_rows_span(c[i].p, have, hi[i], &xlo, &xhi);
                const int8_t *in = i ? band[i - 1] + (size_t)(xlo - lo[i - 1]) * TG_CHAIN_ROW(i - 1) : x + (size_t)xlo * row_x;
                tg_conv_rows(&c[i], &work.conv, in, xlo, xhi, have, hi[i], band[i] + (size_t)(have - lo[i]) * TG_CHAIN_ROW(i));
            }
            blo[i] = lo[i];
            bhi[i] = hi[i];
        }
        int8_t *rows = out + (size_t)r0 * row_o;
        tg_conv_rows(&c[n - 1], &work.conv, band[n - 2], lo[n - 2], hi[n - 2], r0, r1, fa ? band[n - 1] : rows);
        if (!fa) continue;
        const int8_t *r = x + (size_t)r0 * row_o;
        if (sc) {
            tg_conv_rows_span(sc->p, r0, r1, &xlo, &xhi);
            tg_conv_rows(sc, &work.conv, x + (size_t)xlo * row_x, xlo, xhi, r0, r1, band_sc);
            r = band_sc;
        }
        work.add = *pa;
        work.add.out_h = r1 - r0;
        fa(&work.add, r_first ? r : band[n - 1], r_first ? band[n - 1] : r, rows);
    }
#undef TG_CHAIN_ROW
}

#endif
