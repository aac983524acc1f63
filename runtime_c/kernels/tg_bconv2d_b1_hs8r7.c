/* Carry-save bconv2d for k_h*k_w*ceil(in_c/32) % 8 == 7 (tail unrolled). See tg_bconv2d_hs_body.inc. */
#define TG_BCONV_TAIL 7
#define TG_BCONV_SYMBOL tg_bconv2d_b1_hs8r7
#define TG_BCONV_SCRATCH_BYTES tg_bconv2d_b1_hs8r7_scratch_bytes
#include "tg_bconv2d_hs_body.inc"
