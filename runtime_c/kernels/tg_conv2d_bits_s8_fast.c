/* conv2d_bits with SMLAD: per output pixel the receptive field is gathered once as int16
 * (input_offset added, zeros outside the image, which is the zero-point padding), then two output
 * channels per pass over it, each bit set straight from the threshold compare. See
 * tg_conv2d_bits.h for the weight16 layout and the scratch. */
#include "tg_conv2d_bits.h"
#include "tg_dsp.h"

static inline int32_t k2_of(const tg_conv2d_bits_params *p) { return (p->k_h * p->k_w * p->in_c + 1) & ~1; }

size_t tg_conv2d_bits_s8_fast_scratch_bytes(const tg_conv2d_bits_params *p)
{
    return (size_t)k2_of(p) * sizeof(int16_t);
}

static void gather(const tg_conv2d_bits_params *p, const int8_t *input, int32_t oy, int32_t ox, int16_t *g)
{
    const int32_t iy0 = oy * p->stride_h - p->pad_t, ix0 = ox * p->stride_w - p->pad_l;
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
        const int32_t iy = iy0 + ky * p->dil_h;
        for (int32_t kx = 0; kx < p->k_w; ++kx, g += p->in_c) {
            const int32_t ix = ix0 + kx * p->dil_w;
            if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w) {
                for (int32_t c = 0; c < p->in_c; ++c) g[c] = 0;
                continue;
            }
            const int8_t *in = input + (iy * p->in_w + ix) * p->in_c;
            for (int32_t c = 0; c < p->in_c; ++c) g[c] = (int16_t)(in[c] + p->input_offset);
        }
    }
    if ((p->k_h * p->k_w * p->in_c) & 1) g[0] = 0; /* the pad element of an odd K */
}

static inline uint32_t bit_of(const tg_conv2d_bits_params *p, int32_t o, int32_t acc)
{
    return (uint32_t)(p->flip[o] ? acc > p->thresholds[o] : acc < p->thresholds[o]);
}

void tg_conv2d_bits_s8_fast(const tg_conv2d_bits_params *p, const int8_t *input, uint32_t *output, void *scratch)
{
    const int32_t words = tg_bitpack_words(p->out_c);
    const int32_t pairs = k2_of(p) / 2;
    int16_t *g = (int16_t *)scratch;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        for (int32_t ox = 0; ox < p->out_w; ++ox, output += words) {
            gather(p, input, oy, ox, g);
            const int16_t *w = p->weight16;
            for (int32_t o0 = 0; o0 < p->out_c; o0 += TG_WORD_BITS) {
                const int32_t n = p->out_c - o0 < TG_WORD_BITS ? p->out_c - o0 : TG_WORD_BITS;
                uint32_t word = 0;
                int32_t j = 0;
                for (; j + 2 <= n; j += 2) {
                    const int16_t *w1 = w + 2 * pairs;
                    int32_t a0 = 0, a1 = 0;
                    for (int32_t k = 0; k < pairs; ++k) {
                        const uint32_t x = tg_load_u32(g + 2 * k);
                        a0 = tg_smlad(x, tg_load_u32(w + 2 * k), a0);
                        a1 = tg_smlad(x, tg_load_u32(w1 + 2 * k), a1);
                    }
                    word |= bit_of(p, o0 + j, a0) << j | bit_of(p, o0 + j + 1, a1) << (j + 1);
                    w += 4 * pairs;
                }
                if (j < n) {
                    int32_t a0 = 0;
                    for (int32_t k = 0; k < pairs; ++k) a0 = tg_smlad(tg_load_u32(g + 2 * k), tg_load_u32(w + 2 * k), a0);
                    word |= bit_of(p, o0 + j, a0) << j;
                    w += 2 * pairs;
                }
                output[o0 / TG_WORD_BITS] = word;
            }
        }
    }
}
