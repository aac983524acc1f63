/* Reference unpacking of signs to float32 +-1. See tg_float.h. */
#include "tg_float.h"
#include "tg_bitpack.h"

void tg_unbinarize_f32_ref(const tg_unbinarize_f32_params *p, const uint32_t *input, float *output)
{
    const int32_t words = tg_bitpack_words(p->channels);
    for (int32_t i = 0; i < p->pixels; ++i) {
        for (int32_t c = 0; c < p->channels; ++c) {
            const uint32_t bit = (input[i * words + c / TG_WORD_BITS] >> (c % TG_WORD_BITS)) & 1u;
            output[i * p->channels + c] = bit ? -1.0f : 1.0f;
        }
    }
}
