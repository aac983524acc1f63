/* Reference binary fully connected layer: plain loops. See tg_bfully_connected.h. */
#include "tg_bfully_connected.h"

void tg_bfully_connected_b1_ref(const tg_bfully_connected_params *p, const uint32_t *input, void *output)
{
    const int32_t words = tg_bitpack_words(p->in_features);
    uint32_t *out_bits = (uint32_t *)output;
    int8_t *out_s8 = (int8_t *)output;
    uint32_t word = 0;
    for (int32_t o = 0; o < p->out_c; ++o) {
        const int32_t dot = p->in_features - 2 * tg_xor_popcount(input, p->weight + o * words, words);
        TG_BDOT_STORE(p, dot, o, word, out_bits, out_s8);
    }
}
