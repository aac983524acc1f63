/* Grouped pruned bconv2d for groups of 72 words per output (8 of a 3x3 layer's input words kept),
 * blocks unrolled. See tg_bconv2d_pruned_hs_body.inc. */
#define TG_BCONV_TAIL 0
#define TG_BCONV_NB 9
#define TG_BPRUNED_SYMBOL tg_bconv2d_pruned_b1_hs8k72
#define TG_BPRUNED_SCRATCH_BYTES tg_bconv2d_pruned_b1_hs8k72_scratch_bytes
#include "tg_bconv2d_pruned_hs_body.inc"
