/* Every public tinygen kernel, one header per op; each header documents its layouts, value
 * ranges and scratch needs. Generated models include only the headers they use; include this
 * one to get all of them. tests/test_runtime_headers.py keeps this list complete. */
#ifndef TG_KERNELS_H
#define TG_KERNELS_H

#include "tg_types.h"
#include "tg_fixedpoint.h"
#include "tg_bitpack.h"
#include "tg_bconv2d.h"
#include "tg_bfully_connected.h"
#include "tg_binarize.h"
#include "tg_bmax_pool2d.h"
#include "tg_codebook.h"
#include "tg_concat.h"
#include "tg_conv2d.h"
#include "tg_conv2d_packed.h"
#include "tg_elementwise.h"
#include "tg_float.h"
#include "tg_fully_connected.h"
#include "tg_fully_connected_packed.h"
#include "tg_group_max.h"
#include "tg_lut.h"
#include "tg_maximum.h"
#include "tg_mean.h"
#include "tg_pad.h"
#include "tg_pool.h"
#include "tg_reshape.h"
#include "tg_slice.h"
#include "tg_softmax.h"
#include "tg_sparse.h"
#include "tg_variance.h"
/* helpers of the optimized kernels (DSP operations, requantization fast paths, tiles) */
#include "tg_block_copy.h"
#include "tg_conv_dw.h"
#include "tg_conv_gemm.h"
#include "tg_dsp.h"
#include "tg_dsp_bits.h"
#include "tg_dsp_extra.h"
#include "tg_packed_dot.h"
#include "tg_pool_taps.h"
#include "tg_popcount.h"
#include "tg_requant_fast.h"
#include "tg_requant_smmulr.h"

#endif /* TG_KERNELS_H */
