//! Signals: names as kill -l prints them, a signal number checked once
//! where it is made, and the sets nsinit treats alike (tini's rules).

use crate::num;
use crate::sys::{sig_bit, SigSet};
use core::num::NonZeroU8;
use linux_raw_sys::general as k;

/// A signal the kernel knows, 1-64 on x86_64. Made only by `new`, so that
/// every holder can pass it on without checking again; `Option<Signal>` is
/// one byte, 0 for `None` (the Spec's all-zero default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signal(NonZeroU8);

impl Signal {
    pub const KILL: Signal = Signal::known(k::SIGKILL);
    pub const STOP: Signal = Signal::known(k::SIGSTOP);

    pub const fn new(sig: u32) -> Option<Signal> {
        match sig {
            // The match keeps the value non-zero and within a byte.
            1..=64 => Some(Signal(NonZeroU8::new(sig as u8).unwrap())),
            _ => None,
        }
    }

    const fn known(sig: u32) -> Signal {
        match Signal::new(sig) {
            Some(s) => s,
            None => panic!("not a signal"),
        }
    }

    pub const fn get(self) -> u32 {
        self.0.get() as u32
    }
}

/// Signal names 1-31 in order, as kill -l prints them; one string rather
/// than a table of 31 `&str` (456 bytes less, measured).
const NAMES: &str = "HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM STKFLT \
    CHLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO PWR SYS";

/// The name of signal `sig` without "SIG", or "(realtime)".
pub fn name(sig: u32) -> &'static [u8] {
    let index = (sig as usize).wrapping_sub(1);
    crate::words::nth(NAMES, index).unwrap_or(b"(realtime)")
}

/// A signal given as a number (1-64) or a name, with or without "SIG".
pub fn parse(s: &[u8]) -> Option<Signal> {
    if let Some(n) = num::parse_u32(s) {
        return Signal::new(n);
    }
    let name = s.strip_prefix(b"SIG").unwrap_or(s);
    let index = crate::words::position(NAMES, name)?;
    Signal::new(index as u32 + 1)
}

/// Faults the kernel raises for the faulting instruction itself: blocking
/// them would turn a crash into a hang, so they are never blocked, and
/// never forwarded (tini's rule).
pub const SYNC_FAULTS: SigSet = sig_bit(k::SIGFPE)
    | sig_bit(k::SIGILL)
    | sig_bit(k::SIGSEGV)
    | sig_bit(k::SIGBUS)
    | sig_bit(k::SIGABRT)
    | sig_bit(k::SIGTRAP)
    | sig_bit(k::SIGSYS);

/// Signals passed on to the payload, as tini does: every one but the
/// synchronous faults, SIGCHLD (ours) and KILL and STOP (which cannot be
/// caught), realtime signals included. A signal left out would end nsinit
/// with its default action and orphan the payload.
pub const FORWARDED: SigSet =
    !(SYNC_FAULTS | sig_bit(k::SIGCHLD) | sig_bit(k::SIGKILL) | sig_bit(k::SIGSTOP));

/// The terminal's job-control stops (^Z, a background read or write).
pub const JOB_STOPS: SigSet = sig_bit(k::SIGTSTP) | sig_bit(k::SIGTTIN) | sig_bit(k::SIGTTOU);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(parse(b"0"), None);
        assert_eq!(parse(b"65"), None);
        assert_eq!(parse(b"64").map(Signal::get), Some(64));
        assert_eq!(parse(b"SIGSYS").map(Signal::get), Some(31));
        assert_eq!(parse(b"STKFLT").map(Signal::get), Some(16));
        assert_eq!(parse(b"sigterm"), None);
        assert_eq!(
            (name(1), name(31), name(34)),
            (&b"HUP"[..], &b"SYS"[..], &b"(realtime)"[..])
        );
        assert_eq!(size_of::<Option<Signal>>(), 1);
    }
}
