/* The in-image window taps of a pooling output along one axis, shared by the fast pooling kernels:
 * taps t in [*t0, *t1) have 0 <= base + t * dil < size (base = out * stride - pad). */
#ifndef TG_POOL_TAPS_H
#define TG_POOL_TAPS_H

#include <stdint.h>

static inline void tg_pool_taps(int32_t base, int32_t dil, int32_t k, int32_t size, int32_t *t0, int32_t *t1)
{
    int32_t lo = base < 0 ? (-base + dil - 1) / dil : 0;
    int32_t hi = size - base <= 0 ? 0 : (size - base + dil - 1) / dil;
    if (hi > k) hi = k;
    if (hi < lo) hi = lo;
    *t0 = lo;
    *t1 = hi;
}

#endif /* TG_POOL_TAPS_H */
