/* Grouped pruned bconv2d for groups of K % 8 == 3 words. See tg_bconv2d_pruned_hs_body.inc. */
#define TG_BCONV_TAIL 3
#define TG_BPRUNED_SYMBOL tg_bconv2d_pruned_b1_hs8r3
#define TG_BPRUNED_SCRATCH_BYTES tg_bconv2d_pruned_b1_hs8r3_scratch_bytes
#include "tg_bconv2d_pruned_hs_body.inc"
