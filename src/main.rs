//! The nsinit binary: its own `_start`, no libc, no allocator. It reads the
//! kernel's argc/argv/envp off the stack and hands them to the library:
//! to init.rs when it is PID 1, to launch.rs otherwise.
#![no_std]
#![no_main]

use nsinit::argv::{Argv, Env};
use nsinit::spec::Spec;

/// What the command line asks for. A static, not a local: it is 20 KB, a
/// stack frame holding it has every page touched by its stack probes,
/// while a run writes to a few hundred bytes of it, and .bss pages nobody
/// writes to take no memory. Spec::new() is all zero bytes, so it is .bss
/// (were it not, the binary would grow by 21 KB).
static mut SPEC: Spec<'static> = Spec::new();

// The kernel starts us with rsp pointing at argc; the ABI wants rsp 16-byte
// aligned before a call, and rbp zeroed marks the outermost frame.
core::arch::global_asm!(
    ".globl _start",
    "_start:",
    "xor ebp, ebp",
    "mov rdi, rsp",
    "and rsp, -16",
    "call {entry}",
    "ud2",
    entry = sym entry,
);

unsafe extern "C" fn entry(sp: *const usize) -> ! {
    // SAFETY: at _start the stack holds argc, then argc argv pointers and a
    // NULL, then the environment pointers and a NULL (the x86_64 SysV ABI).
    let (argv, env) = unsafe {
        let argc = *sp;
        let argv = sp.add(1) as *const *const u8;
        (
            Argv::from_raw(argv, argc),
            Env::from_raw(argv.add(argc + 1)),
        )
    };
    // nsinit's own crash (a stack overflow under a tiny `ulimit -s`) must
    // not pass for the payload's: 125 and a line, not 139. First, in a
    // frame of a few bytes: the work's frames come after.
    // SAFETY: at _start: one thread, called once.
    unsafe { nsinit::sys::on_faults(&nsinit::sys::FAULTS, crashed) };
    run(argv, env)
}

// Out of line, so that `entry` installs the fault handlers in a frame of a
// few bytes before any of the work's frames exist.
#[inline(never)]
fn run(argv: Argv<'static>, env: Env<'static>) -> ! {
    // SAFETY: one thread, and run is called once: this is the only
    // reference to SPEC there ever is.
    let spec = unsafe { &mut *core::ptr::addr_of_mut!(SPEC) };
    let pid1 = rustix::process::getpid() == rustix::process::Pid::INIT;
    // Before any fd is made: a closed 0, 1 or 2 would be taken by the next
    // pipe, and nsinit's stderr lines would go into it. PID 1 of a VM may
    // have no /dev yet: it takes the console later.
    if let (Err(e), false) = (open_stdio(), pid1) {
        // Said on fd 2 if that one is open; a write to a closed one fails.
        let hint = "stdin, stdout or stderr is closed and cannot be filled";
        let _ = nsinit::report::fail_hint("open", b"/dev/null", e, hint);
        nsinit::sys::exit(125);
    }
    if pid1 {
        // SAFETY: from _start: one thread, no libc, no fd of ours above 2,
        // and panic=abort.
        unsafe { nsinit::init::main(argv, env, spec) }
    }
    // SAFETY: as for init::main.
    nsinit::sys::exit(unsafe { nsinit::launch::main(argv, env, spec) })
}

/// Opens /dev/null on each of fds 0-2 that is closed, as daemons do.
fn open_stdio() -> Result<(), rustix::io::Errno> {
    use rustix::fs::{Mode, OFlags};
    for fd in 0..3 {
        // SAFETY: only the flags of the fd are read; a closed one answers
        // EBADF.
        let open = rustix::io::fcntl_getfd(unsafe { rustix::fd::BorrowedFd::borrow_raw(fd) });
        if open.is_err() {
            rustix::fs::open(c"/dev/null", OFlags::RDWR, Mode::empty()).map(core::mem::forget)?;
        }
    }
    Ok(())
}

/// nsinit itself faulted: one line and 125, never a status that reads as
/// the payload's.
extern "C" fn crashed(sig: u32, _code: i32) {
    let mut line = nsinit::report::Line::new();
    line.push(b"nsinit: internal error: SIG")
        .push(nsinit::signals::name(sig));
    line.send();
    nsinit::sys::exit(125)
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // No core::fmt here: the message would pull in kilobytes of formatting.
    nsinit::report::write_all(
        nsinit::report::Stdio::Err,
        b"nsinit: internal error: panic\n",
    );
    nsinit::sys::exit(125)
}

// The prebuilt core refers to the unwinder's personality routine; with LTO
// (the release build) the reference goes away with the unwinding code, but a
// build without LTO (`cargo build`, `make mutants`) must resolve it. With
// panic=abort nothing ever unwinds, so nothing ever calls it.
#[no_mangle]
extern "C" fn rust_eh_personality() {}

// Without libc nobody provides these, yet rustc emits calls to them for
// copies, fills and comparisons. `rep movsb`/`rep stosb` are short and fast
// on current CPUs; a plain Rust loop could be compiled back into a call to
// the very function it implements.

#[no_mangle]
unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the caller guarantees both ranges are valid and disjoint.
    unsafe {
        core::arch::asm!("rep movsb", inout("rcx") n => _, inout("rdi") dst => _,
            inout("rsi") src => _, options(nostack, preserves_flags));
    }
    dst
}

#[no_mangle]
unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dst as usize).wrapping_sub(src as usize) >= n {
        // SAFETY: dst does not start inside [src, src+n): a forward copy
        // reads each byte before it is overwritten.
        return unsafe { memcpy(dst, src, n) };
    }
    // SAFETY: overlapping with dst above src: copy backwards (direction flag
    // set for the copy, cleared again as the ABI requires).
    unsafe {
        core::arch::asm!("std", "rep movsb", "cld",
            inout("rcx") n => _, inout("rdi") dst.add(n).wrapping_sub(1) => _,
            inout("rsi") src.add(n).wrapping_sub(1) => _, options(nostack));
    }
    dst
}

#[no_mangle]
unsafe extern "C" fn memset(dst: *mut u8, byte: i32, n: usize) -> *mut u8 {
    // SAFETY: the caller guarantees dst..dst+n is valid for writes.
    unsafe {
        core::arch::asm!("rep stosb", inout("rcx") n => _, inout("rdi") dst => _,
            in("al") byte as u8, options(nostack, preserves_flags));
    }
    dst
}

#[no_mangle]
unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i < n {
        // SAFETY: the caller guarantees both ranges are valid for n bytes;
        // volatile reads keep LLVM from turning this loop into a memcmp call.
        let (x, y) = unsafe {
            (
                core::ptr::read_volatile(a.add(i)),
                core::ptr::read_volatile(b.add(i)),
            )
        };
        if x != y {
            return i32::from(x) - i32::from(y);
        }
        i += 1;
    }
    0
}

#[no_mangle]
unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: same contract as memcmp.
    unsafe { memcmp(a, b, n) }
}

#[no_mangle]
unsafe extern "C" fn strlen(s: *const u8) -> usize {
    let mut n = 0;
    // SAFETY: the caller guarantees `s` is NUL-terminated; volatile for the
    // same reason as in memcmp (LLVM knows the strlen idiom).
    while unsafe { core::ptr::read_volatile(s.add(n)) } != 0 {
        n += 1;
    }
    n
}
