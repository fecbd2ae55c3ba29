// a64-diff QEMU-side harness, assembled and linked by the a64-diff tool at run time (never committed built).
// Two builds of this one source:
// - user (default): a static aarch64 Linux program run under qemu-aarch64 (EL0); cases on stdin, results on
//   stdout, signals caught and reported;
// - system (`--defsym SYSTEM=1`): a bare-metal image for qemu-system-aarch64 -M virt, run at EL1h with the MMU
//   off (as realm-a64 runs a case); cases from a blob the loader puts at 0x4800_0000 (u64 count, u64 0, then
//   records), results written to `results.bin` in QEMU's working directory through semihosting (SYS_OPEN,
//   SYS_WRITE: one trap per case), exceptions caught by a vector table and reported; ends with PSCI SYSTEM_OFF.
//
// Memory (the same IPAs the realm-a64 side uses with a FlatMemory at 0x4000_0000):
//   0x4000_0000..0x4001_0000  code page(s): the case's instructions, then `B exit_stub`
//   0x4001_0000..0x4002_0000  data window: 8-byte words from xorshift64 (<<13, >>7, <<17) seeded by `seed | 1`
//   0x4010_0000..             this program (linked there so `B` reaches it from the code page)
//
// stdin, one fixed-size record per case (little-endian):
//   u64 seed, u64 ncode (bits 31:0 the count; bit 32, system build only: run at EL0 behind an ERET, ending
//   with SVC #0xfffe), u64 x[31], u64 sp, u64 nzcv, u32 code[MAXCODE]
// stdout, one record per case:
//   u64 status (0 = reached the end; user: the signal number; system: 0x100 + exception vector index),
//   u64 x[31], u64 sp, u64 nzcv, u64 fault_pc (ELR_EL1), u64 fault_address (FAR_EL1), u64 esr (ESR_EL1),
//   u64 spsr (SPSR_EL1), u64 nchanged, then nchanged x (u64 window offset, u64 new word).
//   For an exception, the registers are those at the exception.
// Registers are set from the record, the sequence runs, `exit_stub` saves X0-X30, SP and NZCV using
// TPIDR_EL0 as scratch, and the data window is compared word by word with its initial contents.

    .set CODE_BASE, 0x40000000
    .set CODE_SIZE, 0x10000
    .set DATA_SIZE, 0x10000
    .set MAXCODE, 60
    .set IN_SEED, 0
    .set IN_NCODE, 8
    .set IN_X, 16
    .set IN_SP, 264
    .set IN_NZCV, 272
    .set IN_CODE, 280
    .set IN_SIZE, 520
    .set OUT_STATUS, 0
    .set OUT_X, 8
    .set OUT_SP, 256
    .set OUT_NZCV, 264
    .set OUT_FPC, 272
    .set OUT_FADDR, 280
    .set OUT_ESR, 288
    .set OUT_SPSR, 296
    .set OUT_NCHG, 304
    .set OUT_CHG, 312
    .set BLOB, 0x48000000

    .macro xorshift reg
    eor \reg, \reg, \reg, lsl #13
    eor \reg, \reg, \reg, lsr #7
    eor \reg, \reg, \reg, lsl #17
    .endm

    // X0-X30 from the record's register block at x30 (x30 last)
    .macro load_case_registers
    ldp x0, x1, [x30, #0]
    ldp x2, x3, [x30, #16]
    ldp x4, x5, [x30, #32]
    ldp x6, x7, [x30, #48]
    ldp x8, x9, [x30, #64]
    ldp x10, x11, [x30, #80]
    ldp x12, x13, [x30, #96]
    ldp x14, x15, [x30, #112]
    ldp x16, x17, [x30, #128]
    ldp x18, x19, [x30, #144]
    ldp x20, x21, [x30, #160]
    ldp x22, x23, [x30, #176]
    ldp x24, x25, [x30, #192]
    ldp x26, x27, [x30, #208]
    ldp x28, x29, [x30, #224]
    ldr x30, [x30, #240]
    .endm

    .macro syscall nr
    mov x8, #\nr
    svc #0
    .endm

    .text
    .globl _start
_start:
.ifdef SYSTEM
    adr x0, stack_top
    mov sp, x0
    adr x0, vectors
    msr vbar_el1, x0
    isb
    adr x0, blob_next
    movz x2, #(BLOB >> 16), lsl #16
    add x1, x2, #16
    str x1, [x0]
    ldr x1, [x2]
    adr x0, blob_left
    str x1, [x0]
    // SYS_OPEN("results.bin", "wb") through semihosting, in QEMU's working directory
    adr x1, semi_args
    adr x0, results_name
    mov x2, #5
    mov x3, #(results_name_end - results_name)
    stp x0, x2, [x1]
    str x3, [x1, #16]
    mov w0, #0x01
    hlt #0xf000
    cmn x0, #1
    b.eq fail_setup
    adr x1, results_handle
    str x0, [x1]
.else
    // mmap(CODE_BASE, 0x20000, RWX, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0): code then data window
    movz x0, #0x4000, lsl #16
    mov x1, #0x20000
    mov x2, #7
    mov x3, #0x32
    mov x4, #-1
    mov x5, #0
    syscall 222
    movz x1, #0x4000, lsl #16
    cmp x0, x1
    b.ne fail_setup
    // sigaltstack(&altstack_desc, NULL)
    adr x0, altstack_desc
    adr x1, altstack
    str x1, [x0]
    mov x1, #0
    syscall 132
    cbnz x0, fail_setup
    // rt_sigaction for SIGILL(4) SIGTRAP(5) SIGBUS(7) SIGFPE(8) SIGSEGV(11)
    adr x0, fault_handler
    adr x1, sigact
    str x0, [x1, #0]
    adr x0, restorer
    str x0, [x1, #16]
    mov x19, #4
    bl set_handler
    mov x19, #5
    bl set_handler
    mov x19, #7
    bl set_handler
    mov x19, #8
    bl set_handler
    mov x19, #11
    bl set_handler

.endif

next_case:
    adr x19, inbuf
.ifdef SYSTEM
    // copy the next record from the blob
    adr x0, blob_left
    ldr x1, [x0]
    cbz x1, end_of_input
    sub x1, x1, #1
    str x1, [x0]
    adr x0, blob_next
    ldr x1, [x0]
    mov x2, #0
1:  ldr x3, [x1, x2]
    str x3, [x19, x2]
    add x2, x2, #8
    cmp x2, #IN_SIZE
    b.lo 1b
    add x1, x1, #IN_SIZE
    str x1, [x0]
.else
    mov x20, #0
1:  mov x0, #0
    add x1, x19, x20
    mov x2, #IN_SIZE
    sub x2, x2, x20
    syscall 63
    cmp x0, #0
    b.lt fail_io
    b.eq end_of_input
    add x20, x20, x0
    cmp x20, #IN_SIZE
    b.lo 1b
.endif

    // fill the data window
    ldr x0, [x19, #IN_SEED]
    orr x0, x0, #1
    movz x1, #0x4001, lsl #16
    mov x2, #(DATA_SIZE / 8)
2:  xorshift x0
    str x0, [x1], #8
    subs x2, x2, #1
    b.ne 2b

    // copy the code, then append `B exit_stub` (`B exit_el0` for a system-mode case at EL0)
    ldr w2, [x19, #IN_NCODE]
    cmp x2, #MAXCODE
    b.hi fail_input
    movz x1, #0x4000, lsl #16
    add x3, x19, #IN_CODE
    mov x4, #0
3:  cmp x4, x2
    b.hs 4f
    ldr w5, [x3, x4, lsl #2]
    str w5, [x1, x4, lsl #2]
    add x4, x4, #1
    b 3b
4:  add x6, x1, x2, lsl #2
    adr x7, exit_stub
.ifdef SYSTEM
    ldr w8, [x19, #(IN_NCODE + 4)]
    cbz w8, 7f
    adr x7, exit_el0
7:
.endif
    sub x7, x7, x6
    asr x7, x7, #2
    and x7, x7, #0x3ffffff
    movz w8, #0x1400, lsl #16
    orr x7, x7, x8
    str w7, [x6]
    // make the new code visible to instruction fetch (DDI 0487 B2.4.4)
    mov x7, x1
5:  dc cvau, x7
    add x7, x7, #64
    cmp x7, x6
    b.ls 5b
    dsb ish
    mov x7, x1
6:  ic ivau, x7
    add x7, x7, #64
    cmp x7, x6
    b.ls 6b
    dsb ish
    isb

    // enter the case
    mov x0, sp
    adr x1, harness_sp
    str x0, [x1]
    clrex
.ifdef SYSTEM
    msr daifset, #0xf       // every case starts with exceptions masked, as realm-a64's does
    ldr w0, [x19, #(IN_NCODE + 4)]
    cbz w0, 8f
    // EL0 (bit 32 of ncode): ERET to the code in EL0t, DAIF masked, SP_EL0 = the case's SP
    ldr x0, [x19, #IN_NZCV]
    orr x0, x0, #0x3c0
    msr spsr_el1, x0
    movz x0, #0x4000, lsl #16
    msr elr_el1, x0
    ldr x0, [x19, #IN_SP]
    msr sp_el0, x0
    add x30, x19, #IN_X
    load_case_registers
    eret
8:
.endif
    ldr x0, [x19, #IN_NZCV]
    msr nzcv, x0
    ldr x0, [x19, #IN_SP]
    mov sp, x0
    add x30, x19, #IN_X
    load_case_registers
    b case_code     // defined by the link: ld --defsym case_code=0x40000000

.ifdef SYSTEM
// The end of an EL0 case: SVC #0xfffe, which the generator never emits, reported as vector 0x400 with ESR
// 0x5600fffe and read as completion (the registers are then the EL0 ones, SP is SP_EL0).
exit_el0:
    svc #0xfffe
.endif

exit_stub:
    msr tpidr_el0, x0
    adr x0, outbuf
    str x1, [x0, #(OUT_X + 8)]
    stp x2, x3, [x0, #(OUT_X + 16)]
    stp x4, x5, [x0, #(OUT_X + 32)]
    stp x6, x7, [x0, #(OUT_X + 48)]
    stp x8, x9, [x0, #(OUT_X + 64)]
    stp x10, x11, [x0, #(OUT_X + 80)]
    stp x12, x13, [x0, #(OUT_X + 96)]
    stp x14, x15, [x0, #(OUT_X + 112)]
    stp x16, x17, [x0, #(OUT_X + 128)]
    stp x18, x19, [x0, #(OUT_X + 144)]
    stp x20, x21, [x0, #(OUT_X + 160)]
    stp x22, x23, [x0, #(OUT_X + 176)]
    stp x24, x25, [x0, #(OUT_X + 192)]
    stp x26, x27, [x0, #(OUT_X + 208)]
    stp x28, x29, [x0, #(OUT_X + 224)]
    str x30, [x0, #(OUT_X + 240)]
    mrs x1, nzcv
    str x1, [x0, #OUT_NZCV]
    mrs x1, tpidr_el0
    str x1, [x0, #OUT_X]
    mov x1, sp
    str x1, [x0, #OUT_SP]
    str xzr, [x0, #OUT_STATUS]
    str xzr, [x0, #OUT_FPC]
    str xzr, [x0, #OUT_FADDR]
    str xzr, [x0, #OUT_ESR]
    str xzr, [x0, #OUT_SPSR]
    adr x1, harness_sp
    ldr x1, [x1]
    mov sp, x1
    b emit

// x0 = signal number, x1 = siginfo, x2 = ucontext (uc_mcontext at 176: fault_address, regs[31], sp, pc)
fault_handler:
    adr x3, outbuf
    str x0, [x3, #OUT_STATUS]
    ldr x4, [x2, #440]
    str x4, [x3, #OUT_FPC]
    ldr x4, [x2, #176]
    str x4, [x3, #OUT_FADDR]
    str xzr, [x3, #OUT_ESR]
    str xzr, [x3, #OUT_SPSR]
    adr x1, harness_sp
    ldr x1, [x1]
    mov sp, x1
    b emit

emit:
    adr x19, inbuf
    ldr x0, [x19, #IN_SEED]
    orr x0, x0, #1
    movz x1, #0x4001, lsl #16
    mov x2, #0
    adr x3, outbuf
    add x4, x3, #OUT_CHG
    mov x5, #0
7:  xorshift x0
    ldr x6, [x1, x2]
    cmp x6, x0
    b.eq 8f
    stp x2, x6, [x4], #16
    add x5, x5, #1
8:  add x2, x2, #8
    cmp x2, #DATA_SIZE
    b.lo 7b
    str x5, [x3, #OUT_NCHG]
.ifdef SYSTEM
    // SYS_WRITE(handle, outbuf, length) through semihosting (returns the bytes not written)
    adr x1, semi_args
    adr x0, results_handle
    ldr x0, [x0]
    sub x2, x4, x3
    stp x0, x3, [x1]
    str x2, [x1, #16]
    mov w0, #0x05
    hlt #0xf000
    cbnz x0, fail_io
.else
    // write(1, outbuf, OUT_CHG + 16 * nchanged), retrying partial writes
    mov x20, x3
    sub x21, x4, x3
9:  mov x0, #1
    mov x1, x20
    mov x2, x21
    syscall 64
    cmp x0, #0
    b.le fail_io
    add x20, x20, x0
    sub x21, x21, x0
    cbnz x21, 9b
.endif
    b next_case

.ifdef SYSTEM
end_of_input:
    // SYS_CLOSE(handle)
    adr x1, semi_args
    adr x0, results_handle
    ldr x0, [x0]
    str x0, [x1]
    mov w0, #0x02
    hlt #0xf000
fail_setup:
fail_input:
fail_io:
    // PSCI SYSTEM_OFF (DEN0022), HVC is the virt machine's conduit at EL1
    movz x0, #0x8400, lsl #16
    add x0, x0, #8
    hvc #0
    b .

// Every exception ends the case: vector index in x0 (original x0 in TPIDR_EL1, x1 in TPIDRRO_EL0).
    .balign 2048
vectors:
    .irp n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
    .balign 128
    msr tpidr_el1, x0
    mov x0, #\n
    b exception_common
    .endr

exception_common:
    msr tpidrro_el0, x1
    adr x1, outbuf
    stp x2, x3, [x1, #(OUT_X + 16)]
    stp x4, x5, [x1, #(OUT_X + 32)]
    stp x6, x7, [x1, #(OUT_X + 48)]
    stp x8, x9, [x1, #(OUT_X + 64)]
    stp x10, x11, [x1, #(OUT_X + 80)]
    stp x12, x13, [x1, #(OUT_X + 96)]
    stp x14, x15, [x1, #(OUT_X + 112)]
    stp x16, x17, [x1, #(OUT_X + 128)]
    stp x18, x19, [x1, #(OUT_X + 144)]
    stp x20, x21, [x1, #(OUT_X + 160)]
    stp x22, x23, [x1, #(OUT_X + 176)]
    stp x24, x25, [x1, #(OUT_X + 192)]
    stp x26, x27, [x1, #(OUT_X + 208)]
    stp x28, x29, [x1, #(OUT_X + 224)]
    str x30, [x1, #(OUT_X + 240)]
    mrs x2, tpidr_el1
    str x2, [x1, #OUT_X]
    mrs x2, tpidrro_el0
    str x2, [x1, #(OUT_X + 8)]
    add x2, x0, #0x100
    str x2, [x1, #OUT_STATUS]
    mrs x2, nzcv
    str x2, [x1, #OUT_NZCV]
    // SP of the EL the exception came from: SP_EL0 from EL0 (vectors 8..15), else SP_EL1
    mov x2, sp
    cmp x0, #8
    b.lo 9f
    mrs x2, sp_el0
9:  str x2, [x1, #OUT_SP]
    mrs x2, elr_el1
    str x2, [x1, #OUT_FPC]
    mrs x2, far_el1
    str x2, [x1, #OUT_FADDR]
    mrs x2, esr_el1
    str x2, [x1, #OUT_ESR]
    mrs x2, spsr_el1
    str x2, [x1, #OUT_SPSR]
    adr x2, harness_sp
    ldr x2, [x2]
    mov sp, x2
    b emit

.else
set_handler:
    mov x0, x19
    adr x1, sigact
    mov x2, #0
    mov x3, #8
    syscall 134
    cbnz x0, fail_setup
    ret

restorer:
    syscall 139

end_of_input:
    cbnz x20, fail_input
    mov x0, #0
    syscall 94
fail_setup:
    mov x0, #3
    syscall 94
fail_input:
    mov x0, #4
    syscall 94
fail_io:
    mov x0, #5
    syscall 94

.endif

    .data
    .balign 8
// struct sigaction (kernel): handler, flags = SA_SIGINFO|SA_ONSTACK|SA_RESTORER|SA_NODEFER, restorer, mask
sigact:
    .quad 0, 0x4C000004, 0, 0
// stack_t: ss_sp, ss_flags, ss_size
altstack_desc:
    .quad 0, 0, 0x10000

.ifdef SYSTEM
blob_next:
    .quad 0
blob_left:
    .quad 0
results_handle:
    .quad 0
semi_args:
    .quad 0, 0, 0
results_name:
    .ascii "results.bin"
results_name_end:
    .byte 0
.endif

    .bss
    .balign 16
harness_sp:
    .skip 16
inbuf:
    .skip IN_SIZE + 8
    .balign 16
outbuf:
    .skip OUT_CHG + 16 * (DATA_SIZE / 8)
    .balign 16
altstack:
    .skip 0x10000
stack_top:
