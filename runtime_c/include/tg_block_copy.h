/* Byte block moves for the int8 data-movement kernels (concat, slice, pad): four words per
 * iteration through unaligned word loads and stores (ARMv7-M LDR/STR accept any alignment),
 * then the tail bytes: inlined, since the copies are short (rows of channels) and a library
 * memcpy call (newlib-nano is built for size) would cost more than the move. Source and destination must
 * not overlap. */
#ifndef TG_BLOCK_COPY_H
#define TG_BLOCK_COPY_H

#include <stdint.h>

#include "tg_dsp.h"

static inline void tg_copy_s8(int8_t *dst, const int8_t *src, int32_t n)
{
    for (; n >= 16; n -= 16, src += 16, dst += 16) {
        const uint32_t a = tg_load_u32(src), b = tg_load_u32(src + 4);
        const uint32_t c = tg_load_u32(src + 8), d = tg_load_u32(src + 12);
        tg_store_u32(dst, a);
        tg_store_u32(dst + 4, b);
        tg_store_u32(dst + 8, c);
        tg_store_u32(dst + 12, d);
    }
    for (; n >= 4; n -= 4, src += 4, dst += 4) tg_store_u32(dst, tg_load_u32(src));
    for (; n > 0; --n) *dst++ = *src++;
}

/* n bytes of `value`, a word (four copies) at a time. */
static inline void tg_fill_s8(int8_t *dst, int32_t value, int32_t n)
{
    const uint32_t w = 0x01010101u * (uint8_t)value;
    for (; n >= 4; n -= 4, dst += 4) tg_store_u32(dst, w);
    for (; n > 0; --n) *dst++ = (int8_t)value;
}

#endif /* TG_BLOCK_COPY_H */
