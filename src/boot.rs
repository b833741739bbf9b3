//! PID 1's first part of the initramfs job on a distribution kernel,
//! whose drivers are modules (on Debian's cloud kernel every virtio
//! driver): load the modules the image lists, before anything needs them.
//! Only in a VM: a container's PID 1 has no kernel of its own.

use crate::bootline;
use crate::report::{self, fail, fail_hint, Failed};
use core::ffi::CStr;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

/// The image's module list: one `.ko` path a line, in load order
/// (image/modules writes it, dependencies first).
pub const MODULES_FILE: &CStr = c"/etc/nsinit/modules";

/// finit_module's flag for a .ko.xz/.ko.zst the kernel decompresses itself
/// (Linux 5.17+, CONFIG_MODULE_DECOMPRESS); not in linux-raw-sys.
const MODULE_INIT_COMPRESSED_FILE: i32 = 4;

/// The kernel's command line is at most 2048 bytes on x86 (COMMAND_LINE_SIZE).
const CMDLINE_MAX: usize = 4096;

/// Loads each module of MODULES_FILE (16 KiB at most), in order, with its
/// parameters from the kernel's command line. A module that fails is one
/// line and the boot goes on: what needed it fails later with its own.
/// Out of line: its buffers must not stay in PID 1's frame for good.
#[inline(never)]
pub fn run() {
    let mut list = [0u8; 16384];
    let len = match read_small(MODULES_FILE, &mut list) {
        Ok(len) => len,
        // No list: every driver is built in, or in no need of loading.
        Err(Errno::NOENT) => return,
        Err(e) => return report::warn("read", MODULES_FILE.to_bytes(), e),
    };
    let mut line = [0u8; CMDLINE_MAX + 1];
    let cmdline = read_small(c"/proc/cmdline", &mut line[..CMDLINE_MAX]).unwrap_or_else(|e| {
        report::warn("read", b"/proc/cmdline", e);
        0
    });
    let n = bootline::split(&mut line, cmdline);
    bootline::separate(&mut list[..len], b"\n");
    for path in bootline::words(&list[..=len]) {
        let p = path.to_bytes();
        if !p.is_empty() && p[0] != b'#' {
            let _ = load_module(path, &line[..n]);
        }
    }
}

/// Reads all of a small file into `buf`; one that fills it is refused
/// (EFBIG), never cut short.
fn read_small(path: &CStr, buf: &mut [u8]) -> Result<usize, Errno> {
    use rustix::fd::AsFd;
    let file = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    match crate::sys::read_all(file.as_fd(), buf)? {
        len if len == buf.len() => Err(Errno::FBIG),
        len => Ok(len),
    }
}

fn load_module(path: &CStr, words: &[u8]) -> Result<(), Failed> {
    let p = path.to_bytes();
    let file = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| fail("open module", p, e))?;
    let mut params = [0u8; 2 * CMDLINE_MAX];
    let params = bootline::module_params(words, bootline::module_name(p), &mut params);
    // Never the forcing flags: they skip the vermagic and signature checks
    // and taint the kernel.
    let compressed = [&b".xz"[..], b".zst", b".gz"]
        .iter()
        .any(|z| p.ends_with(z));
    let flags = if compressed {
        MODULE_INIT_COMPRESSED_FILE
    } else {
        0
    };
    match rustix::system::finit_module(&file, params.unwrap_or(c""), flags) {
        Ok(()) => report::debug("module loaded", p),
        // Loaded already, or built into this kernel.
        Err(Errno::EXIST) => report::debug("module already there", p),
        Err(e) => {
            let hint = match e {
                Errno::NOENT => "an unknown symbol: a module it needs is missing from /etc/nsinit/modules or comes after it",
                Errno::NOEXEC => "not a module for this kernel (format or vermagic)",
                _ if compressed => "compressed modules need Linux 5.17+ with CONFIG_MODULE_DECOMPRESS",
                _ => "",
            };
            return Err(fail_hint("finit_module", p, e, hint));
        }
    }
    Ok(())
}
