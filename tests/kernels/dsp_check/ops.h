/* Every tg_dsp.h operation checked on QEMU: name, number of operands. */
#define TG_DSP_OPS(X) \
    X(sxtb16_ror8, 1) X(sxtb16, 1) X(sxtab16, 2) X(smlad, 3) X(smladx, 3) X(smlabb, 3) X(smlatt, 3) \
    X(qadd8, 2) X(qsub8, 2) X(sadd16, 2) X(ssub16, 2) X(max_s8x4, 2) X(pkhbt, 2) X(pkhtb, 2)
