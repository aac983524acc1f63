#ifndef TG_PAD_H
#define TG_PAD_H
#include "tg_types.h"

/* int8 constant padding. Input [batches][in_h][in_w][in_c], output [batches][out_h][out_w][out_c]
 * (lower-rank tensors are viewed with leading 1s); input element (n, y, x, c) lands at
 * (n, y + pad_h, x + pad_w, c + pad_c) and every other output element is `value`.
 * The batch axis is not padded. Input and output must not overlap. No scratch. */
typedef struct {
    int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c;
    int32_t pad_h, pad_w, pad_c, value;
} tg_pad_params;

void tg_pad_s8_ref(const tg_pad_params *p, const int8_t *input, int8_t *output);
/* Same results: word fills and word block copies. */
void tg_pad_s8_fast(const tg_pad_params *p, const int8_t *input, int8_t *output);

#endif
