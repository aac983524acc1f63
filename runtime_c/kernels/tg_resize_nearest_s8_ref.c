/* Reference int8 nearest-neighbour resize: a gather by row and column tables. See tg_resize.h. */
#include "tg_resize.h"

void tg_resize_nearest_s8_ref(const tg_resize_nearest_params *p, const int8_t *input, int8_t *output)
{
    const int32_t row = p->in_w * p->channels;
    for (int32_t n = 0; n < p->batches; ++n) {
        const int8_t *image = input + n * p->in_h * row;
        for (int32_t y = 0; y < p->out_h; ++y) {
            const int8_t *src_row = image + p->y_index[y] * row;
            for (int32_t x = 0; x < p->out_w; ++x) {
                const int8_t *src = src_row + p->x_index[x] * p->channels;
                for (int32_t c = 0; c < p->channels; ++c) *output++ = src[c];
            }
        }
    }
}
