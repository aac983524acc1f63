/* Grouped pruned bconv2d for groups of 18 words per output (2 of a 3x3 layer's input words kept),
 * blocks unrolled. See tg_bconv2d_pruned_hs_body.inc. */
#define TG_BCONV_TAIL 2
#define TG_BCONV_NB 2
#define TG_BPRUNED_SYMBOL tg_bconv2d_pruned_b1_hs8k18
#define TG_BPRUNED_SCRATCH_BYTES tg_bconv2d_pruned_b1_hs8k18_scratch_bytes
#include "tg_bconv2d_pruned_hs_body.inc"
