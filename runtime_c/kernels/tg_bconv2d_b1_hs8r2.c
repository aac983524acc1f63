/* Carry-save bconv2d for k_h*k_w*ceil(in_c/32) % 8 == 2 (tail unrolled). See tg_bconv2d_hs_body.inc. */
#define TG_BCONV_TAIL 2
#define TG_BCONV_SYMBOL tg_bconv2d_b1_hs8r2
#define TG_BCONV_SCRATCH_BYTES tg_bconv2d_b1_hs8r2_scratch_bytes
#include "tg_bconv2d_hs_body.inc"
