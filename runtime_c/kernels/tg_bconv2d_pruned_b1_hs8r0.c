/* Grouped pruned bconv2d for groups of K % 8 == 0 words. See tg_bconv2d_pruned_hs_body.inc. */
#define TG_BCONV_TAIL 0
#define TG_BPRUNED_SYMBOL tg_bconv2d_pruned_b1_hs8r0
#define TG_BPRUNED_SCRATCH_BYTES tg_bconv2d_pruned_b1_hs8r0_scratch_bytes
#include "tg_bconv2d_pruned_hs_body.inc"
