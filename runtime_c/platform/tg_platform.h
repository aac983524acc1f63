/* The platform API every tinygen firmware is written against.
 *
 * One implementation per platform (QEMU mps2, STM32F4, STM32F7, QEMU netduinoplus2), chosen by
 * the board file; see tinygen/boards.py PLATFORMS. Everything is polled: no interrupts, no
 * malloc, no printf. Board constants (console base, pins, clock) come from the generated
 * tg_board.h so the same driver source serves every board of a family.
 */
#ifndef TG_PLATFORM_H
#define TG_PLATFORM_H

#include <stdint.h>

/* tg_platform_status() bits: what the bring-up could not do (the firmware still runs). */
#define TG_STATUS_HSE_FAILED     (1u << 0) /* no external clock: PLL fed from HSI instead */
#define TG_STATUS_OVERDRIVE_FAILED (1u << 1) /* over-drive not ready: run at the lower PLL speed */
#define TG_STATUS_PLL_FAILED     (1u << 2) /* PLL did not lock: running on the 16 MHz HSI */
#define TG_STATUS_FLASH_FAILED   (1u << 3) /* flash wait states not accepted: PLL not selected */
#define TG_STATUS_SWITCH_FAILED  (1u << 4) /* SYSCLK did not switch to the PLL */
#define TG_STATUS_CLOCK_SKIPPED  (1u << 5) /* under QEMU: the RCC is not modelled */
#define TG_STATUS_VIRTUAL_TIME   (1u << 8) /* counter runs in emulated (-icount) time */

/* Process exit codes (QEMU's exit status through semihosting). */
#define TG_EXIT_OK 0
#define TG_EXIT_FAULT_BASE 112 /* 112 + exception number: 115 HardFault, 116 MemManage, ... */

/* Wait without limit in tg_console_read. */
#define TG_WAIT_FOREVER 0xFFFFFFFFu

/* Clocks, caches, console UART and counter. Call once, first thing in main. */
void tg_platform_init(void);

/* Blocking write of n bytes to the console UART. */
void tg_console_write(const void *buf, uint32_t n);

/* Read up to n bytes; gives up when no byte arrives for timeout_ms (measured with the counter on
 * real hardware; under QEMU time is virtual and runs ahead of the host, so timeouts there are
 * treated as TG_WAIT_FOREVER). Returns the number of bytes read. */
uint32_t tg_console_read(void *buf, uint32_t n, uint32_t timeout_ms);

/* Free-running 32-bit counter (wraps; subtract as uint32_t). DWT cycles on hardware, a timer
 * ticking in -icount virtual time under QEMU. */
uint32_t tg_counter_now(void);
uint32_t tg_counter_hz(void);
const char *tg_counter_unit(void); /* "cycles", "fpgaio" or "tim2" */

uint32_t tg_platform_clock_hz(void);  /* SYSCLK actually reached */
uint32_t tg_platform_status(void);    /* TG_STATUS_* bits */

/* Bytes of the stack region ever written (stack painted at reset). */
uint32_t tg_platform_stack_peak(void);
uint32_t tg_platform_stack_size(void);

/* Ends the program: QEMU exits with `code` (semihosting); a board stops with interrupts off. */
void tg_platform_exit(int code) __attribute__((noreturn));

#endif /* TG_PLATFORM_H */
