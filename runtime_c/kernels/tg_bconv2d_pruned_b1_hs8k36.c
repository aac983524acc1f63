/* Grouped pruned bconv2d for groups of 36 words per output (4 of a 3x3 layer's input words kept),
 * blocks unrolled. See tg_bconv2d_pruned_hs_body.inc. */
#define TG_BCONV_TAIL 4
#define TG_BCONV_NB 4
#define TG_BPRUNED_SYMBOL tg_bconv2d_pruned_b1_hs8k36
#define TG_BPRUNED_SCRATCH_BYTES tg_bconv2d_pruned_b1_hs8k36_scratch_bytes
#include "tg_bconv2d_pruned_hs_body.inc"
