#ifndef TG_BINARIZE_H
#define TG_BINARIZE_H
#include "tg_types.h"
#include "tg_bitpack.h"

/* int8 -> packed signs (tg_bitpack.h): bit = (in < zero_point), 32 channels per word.
 * input int8 [pixels][channels] (NHWC or [F] with pixels = 1); output uint32_t
 * [pixels][ceil(channels/32)], padding bits 0. No scratch. */
typedef struct {
    int32_t pixels, channels, zero_point;
} tg_binarize_params;

void tg_binarize_s8_ref(const tg_binarize_params *p, const int8_t *input, uint32_t *output);
/* four values per SSUB8/SEL compare (needs the DSP extension; portable twin on the host) */
void tg_binarize_s8_simd(const tg_binarize_params *p, const int8_t *input, uint32_t *output);

#endif
