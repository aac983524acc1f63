/* Reset handler and vector table for every Cortex-M4/M7 target (ARMv7-M ARM B1.5).
 *
 * Only the 16 system vectors are present: the firmware polls and never enables an interrupt,
 * so no IRQ vector can be taken. Faults go to tg_fault_entry (tg_fault.c), which reports the
 * fault registers on the console and exits with a distinctive code.
 */
#include <stdint.h>

#include "tg_mmio.h"
#include "tg_platform.h"
#include "tg_platform_internal.h"

/* Linker script symbols (boards/ld/tg_sections.ld). */
extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _sstack, _estack, _ehstack;

int main(void);
void Reset_Handler(void);
void tg_reset(void) __attribute__((noreturn, used));
void tg_fault_entry(void);

#define TG_STACK_PAINT 0x5AA5F00Du

/* Two stacks (ARMv7-M B1.4.1): thread code runs on PSP, at the bottom of RAM; exceptions run on
 * MSP, a separate small stack. The core starts on MSP (vector 0), so the switch happens here,
 * before any C code has put a frame on the stack. */
__attribute__((naked)) void Reset_Handler(void)
{
    __asm__ volatile(
        "ldr r0, =_estack\n"
        "msr psp, r0\n"
        "movs r0, #2\n" /* CONTROL.SPSEL = 1: thread mode uses PSP */
        "msr control, r0\n"
        "isb\n"
        "b tg_reset\n");
}

/* Runs before .data/.bss exist, so it touches no globals. The optimize attribute stops GCC from
 * turning the copy loops into memcpy/memset calls (notes: "-nostdlib memcpy" pitfall). */
__attribute__((optimize("no-tree-loop-distribute-patterns"), noreturn)) void tg_reset(void)
{
    /* FPU first: CP10/CP11 full access, so hard-float code (any libc/libgcc helper included)
     * cannot take a NOCP UsageFault. */
    TG_REG(TG_SCB_CPACR) |= 0xFu << 20;
    tg_dsb();
    tg_isb();

    /* Divide-by-zero and unaligned-access traps stay off (C semantics); enable the separate
     * MemManage/BusFault/UsageFault handlers so faults report their own exception number. */
    TG_REG(TG_SCB_SHCSR) |= (1u << 16) | (1u << 17) | (1u << 18);

    uint32_t *src = &_sidata;
    for (uint32_t *dst = &_sdata; dst < &_edata;) *dst++ = *src++;
    for (uint32_t *dst = &_sbss; dst < &_ebss;) *dst++ = 0;

    /* Paint the unused thread stack so tg_platform_stack_peak() can measure the high-water mark.
     * Leave the words this function is using alone. */
    uint32_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (uint32_t *p = &_sstack; p < sp - 16;) *p++ = TG_STACK_PAINT;
    tg_mpu_stack_guard((uintptr_t)&_sstack);

    int rc = main();
    tg_platform_exit(rc);
}

uint32_t tg_platform_stack_size(void)
{
    return (uint32_t)((uintptr_t)&_estack - (uintptr_t)&_sstack);
}

uint32_t tg_platform_stack_peak(void)
{
    const uint32_t *p = &_sstack;
    while (p < &_estack && *p == TG_STACK_PAINT) ++p;
    return (uint32_t)((uintptr_t)&_estack - (uintptr_t)p);
}

typedef void (*tg_vector)(void);

/* Entry 0 is the initial main stack pointer (the handler stack), then the ARMv7-M system
 * exceptions. */
__attribute__((section(".isr_vector"), used)) const tg_vector tg_vectors[16] = {
    (tg_vector)(uintptr_t)&_ehstack,
    Reset_Handler,
    tg_fault_entry, /* 2 NMI */
    tg_fault_entry, /* 3 HardFault */
    tg_fault_entry, /* 4 MemManage */
    tg_fault_entry, /* 5 BusFault */
    tg_fault_entry, /* 6 UsageFault */
    0, 0, 0, 0,
    tg_fault_entry, /* 11 SVCall */
    tg_fault_entry, /* 12 DebugMonitor */
    0,
    tg_fault_entry, /* 14 PendSV */
    tg_fault_entry, /* 15 SysTick */
};
