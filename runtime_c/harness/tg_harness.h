/* Command handlers of the validation harness (one file each), called from tg_harness.c. */
#ifndef TG_HARNESS_H
#define TG_HARNESS_H

#include "tg_proto.h"

/* Ticks of an empty measured region (two back-to-back counter reads), measured at boot. */
extern uint32_t tg_harness_counter_overhead;

void tg_cmd_hello(const tg_frame *f);
void tg_cmd_infer(const tg_frame *f); /* RUN, PROFILE and DUMP */

#endif /* TG_HARNESS_H */
