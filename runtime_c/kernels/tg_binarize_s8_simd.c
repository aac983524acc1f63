/* binarize, four signs per step: SSUB8 + SEL compare four int8 lanes with the zero point at once
 * (tg_dsp_bits.h), and a multiply gathers the four lane masks into a nibble. See tg_binarize.h. */
#include "tg_binarize.h"
#include "tg_dsp.h"
#include "tg_dsp_bits.h"

/* bits 0..3 = (lane i < zero point) for the four int8 lanes of v, zp4 = zero point in every lane */
static inline uint32_t sign_nibble(uint32_t v, uint32_t zp4)
{
    /* lane masks -> bits 0, 8, 16, 24; times 1 + 2^7 + 2^14 + 2^21 puts lane i alone at bit 21 + i
     * (every other product lands outside bits 21..24, and no two products share a bit) */
    const uint32_t x = (tg_sel_lt_s8x4(v, zp4) >> 7) & 0x01010101u;
    return (x * 0x00204081u) >> 21 & 0xFu;
}

void tg_binarize_s8_simd(const tg_binarize_params *p, const int8_t *input, uint32_t *output)
{
    const int32_t c_all = p->channels;
    const int32_t words = tg_bitpack_words(c_all);
    const uint32_t zp4 = (uint32_t)(uint8_t)p->zero_point * 0x01010101u;
    for (int32_t i = 0; i < p->pixels; ++i) {
        const int8_t *in = input + i * c_all;
        uint32_t *out = output + i * words;
        int32_t c = 0;
        for (; c + TG_WORD_BITS <= c_all; c += TG_WORD_BITS) {
            uint32_t word = 0;
            for (int32_t k = 0; k < TG_WORD_BITS; k += 4) word |= sign_nibble(tg_load_u32(in + c + k), zp4) << k;
            out[c / TG_WORD_BITS] = word;
        }
        if (c < c_all) { /* last partial word: whole lanes, then single values (padding bits stay 0) */
            uint32_t word = 0;
            int32_t k = 0;
            for (; c + k + 4 <= c_all; k += 4) word |= sign_nibble(tg_load_u32(in + c + k), zp4) << k;
            for (; c + k < c_all; ++k) word |= (uint32_t)((int32_t)in[c + k] < p->zero_point) << k;
            out[c / TG_WORD_BITS] = word;
        }
    }
}
