/* Grouped pruned bconv2d for groups of K % 8 == 2 words. See tg_bconv2d_pruned_hs_body.inc. */
#define TG_BCONV_TAIL 2
#define TG_BPRUNED_SYMBOL tg_bconv2d_pruned_b1_hs8r2
#define TG_BPRUNED_SCRATCH_BYTES tg_bconv2d_pruned_b1_hs8r2_scratch_bytes
#include "tg_bconv2d_pruned_hs_body.inc"
