/* Carry-save binary fully connected layer: popcount(in ^ w) by Harley-Seal in 8-word blocks
 * (tg_popcount.h, hand-written block loop on Cortex-M), the < 8 remaining words through
 * tg_hs_tail. Same params, weights and output as the reference (tg_bfully_connected.h). */
#include "tg_bfully_connected.h"
#include "tg_popcount.h"

void tg_bfully_connected_b1_hs8(const tg_bfully_connected_params *p, const uint32_t *input, void *output)
{
    const int32_t words = tg_bitpack_words(p->in_features);
    const int32_t nb = words / 8, tail = words % 8;
    uint32_t *out_bits = (uint32_t *)output;
    int8_t *out_s8 = (int8_t *)output;
    uint32_t word = 0;
    for (int32_t o = 0; o < p->out_c; ++o) {
        const uint32_t *w = p->weight + o * words;
        tg_hs_state st = {0, 0, 0, 0};
        uint32_t d[7];
        tg_hs_xor_blocks(&st, input, w, nb);
        for (int32_t i = 0; i < tail; ++i) d[i] = input[8 * nb + i] ^ w[8 * nb + i];
        const int32_t dot = p->in_features - 2 * tg_hs_total(&st, tg_hs_tail(&st, d, tail));
        TG_BDOT_STORE(p, dot, o, word, out_bits, out_s8);
    }
}
