/* Reference binarize: plain loops, the readable definition. See tg_binarize.h. */
#include "tg_binarize.h"

void tg_binarize_s8_ref(const tg_binarize_params *p, const int8_t *input, uint32_t *output)
{
    const int32_t words = tg_bitpack_words(p->channels);
    for (int32_t i = 0; i < p->pixels; ++i) {
        tg_pack_signs_s8(input + i * p->channels, p->channels, p->zero_point, output + i * words);
    }
}
