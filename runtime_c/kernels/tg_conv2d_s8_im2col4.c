/* Fast int8 convolution, any kernel, stride, padding and dilation, groups 1: the receptive
 * fields of four output pixels are copied one at a time into an int8 row of k4 bytes (im2col,
 * [k_h][k_w][in_c] each, taps outside the image filled with the input zero point, which the
 * folded bias expects; k4 - k padding bytes zero), widened into the tile, and multiplied with every output
 * channel (tg_gemm_w16.h, whose weight layout and output-stage records the emit writes). One and
 * three input channels (first layers) copy with the count known to the compiler (and the run
 * length too for 3x3 kernels on 3 channels: RGB stems). */
#include <string.h>
#include "tg_conv2d.h"
#include "tg_gemm_w16.h"

size_t tg_conv2d_s8_im2col4_scratch_bytes(const tg_conv2d_params *p)
{
    const int32_t k = p->k_h * p->k_w * p->in_c;
    return (size_t)(tg_w16_cols_bytes(k) + tg_w16_k4(k));
}

/* n bytes, a word at a time (LDR/STR take unaligned addresses on ARMv7-M). */
static inline void tg_i2c4_copy(int8_t *dst, const int8_t *src, int32_t n)
{
    for (; n >= 4; n -= 4, dst += 4, src += 4) tg_store_u32(dst, tg_load_u32(src));
    for (; n > 0; --n) *dst++ = *src++;
}

/* One output pixel's receptive field: a kernel row inside the image (the common case) is one
 * contiguous run of k_w * cin bytes when dil_w == 1; edges go tap by tap. */
__attribute__((always_inline)) static inline void tg_i2c4_taps(const tg_conv2d_params *p, const int8_t *input, int8_t *dst, int32_t oy,
                                int32_t ox, const int32_t cin, const int32_t kw)
{
    const int8_t zp = (int8_t)(-p->input_offset);
    const int32_t run = kw * cin, ix0 = ox * p->stride_w - p->pad_l;
    const int inside = p->dil_w == 1 && ix0 >= 0 && ix0 + kw <= p->in_w;
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
        const int32_t iy = oy * p->stride_h - p->pad_t + ky * p->dil_h;
        if (iy < 0 || iy >= p->in_h) {
            memset(dst, zp, (size_t)run);
            dst += run;
            continue;
        }
        const int8_t *row = input + iy * p->in_w * cin;
        if (inside) {
            tg_i2c4_copy(dst, row + ix0 * cin, run);
            dst += run;
            continue;
        }
        for (int32_t kx = 0; kx < kw; ++kx, dst += cin) {
            const int32_t ix = ix0 + kx * p->dil_w;
            if (ix >= 0 && ix < p->in_w) {
                tg_i2c4_copy(dst, row + ix * cin, cin);
            } else {
                memset(dst, zp, (size_t)cin);
            }
        }
    }
}

/* always_inline: one copy per (cin, kw) instance, so the constants reach the copies */
__attribute__((always_inline)) static inline void tg_i2c4_conv(const tg_conv2d_params *p, const int8_t *input, int8_t *output, void *scratch,
                                const int32_t cin, const int32_t kw)
{
    const int32_t k = p->k_h * kw * cin, k4 = tg_w16_k4(k), n = p->out_c, pixels = p->out_h * p->out_w;
    uint32_t *cols = (uint32_t *)scratch;
    int8_t *row = (int8_t *)scratch + tg_w16_cols_bytes(k); /* one pixel's field, widened at once */
    memset(row + k, 0, (size_t)(k4 - k));
    int32_t oy = 0, ox = 0;
    for (int32_t i = 0; i < pixels; i += TG_W16_ROWS) {
        const int32_t count = pixels - i < TG_W16_ROWS ? pixels - i : TG_W16_ROWS;
        for (int32_t r = 0; r < TG_W16_ROWS; ++r) {
            if (r >= count) {
                tg_w16_widen_row(cols, r, 0, k4);
                continue;
            }
            tg_i2c4_taps(p, input, row, oy, ox, cin, kw);
            tg_w16_widen_row(cols, r, row, k4);
            if (++ox == p->out_w) {
                ox = 0;
                ++oy;
            }
        }
        if (count == TG_W16_ROWS) {
            tg_w16_gemm4(p->weight, p->bias, n, k4, cols, output + i * n, n, p->act_min, p->act_max);
        } else {
            tg_w16_gemm_tail(p->weight, p->bias, n, k4, cols, output + i * n, n, count, p->act_min, p->act_max);
        }
    }
}

void tg_conv2d_s8_im2col4(const tg_conv2d_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    if (p->in_c == 3 && p->k_w == 3) {
        tg_i2c4_conv(p, input, output, scratch, 3, 3); /* RGB 3x3 stems: 9-byte runs, unrolled */
    } else if (p->in_c == 1) {
        tg_i2c4_conv(p, input, output, scratch, 1, p->k_w);
    } else {
        tg_i2c4_conv(p, input, output, scratch, p->in_c, p->k_w);
    }
}
