/* Conventions shared by every tinygen kernel and generated model.
 *
 * Layouts: activations are channels-last (NHWC; [N][F] for vectors), batch 1. Weights are laid
 * out offline in the order the kernel reads them (conv: OHWI). int8 values are affine-quantized,
 * real = scale * (q - zero_point); kernels receive -input_zero_point as `input_offset` and the
 * output zero point as `output_offset`. Requantization: tg_fixedpoint.h.
 * Memory: no malloc. Weights and parameters are `static const` (flash); every activation and
 * scratch buffer lives in one arena whose offsets were planned offline.
 */
#ifndef TG_TYPES_H
#define TG_TYPES_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define TG_ALIGNED(n) __attribute__((aligned(n)))
#else
#define TG_ALIGNED(n)
#endif

/* Called after every layer by <model>_invoke_hooked (per-layer profiling and tensor dumps):
 * `layer` is the layer index, `output` its first output tensor and `bytes` that tensor's size. */
typedef void (*tg_layer_hook)(void *ctx, int32_t layer, const void *output, int32_t bytes);

#endif /* TG_TYPES_H */
