/* Reference float32 sign packing. See tg_float.h. */
#include "tg_float.h"
#include "tg_bitpack.h"

void tg_binarize_f32_ref(const tg_binarize_f32_params *p, const float *input, uint32_t *output)
{
    const int32_t words = tg_bitpack_words(p->channels);
    for (int32_t i = 0; i < p->pixels; ++i) {
        const float *in = input + i * p->channels;
        uint32_t *out = output + i * words;
        uint32_t word = 0;
        for (int32_t c = 0; c < p->channels; ++c) {
            word |= (uint32_t)(in[c] < 0.0f) << (c % TG_WORD_BITS);
            if (c % TG_WORD_BITS == TG_WORD_BITS - 1 || c == p->channels - 1) {
                out[c / TG_WORD_BITS] = word;
                word = 0;
            }
        }
    }
}
