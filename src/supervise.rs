//! Waiting for the payload, the same way for the launcher, `--init` and
//! PID 1: every child that ends is reaped (orphans included, when we are a
//! reaper), chosen signals are passed on, and the caller learns how it ended.
//! One loop on sigwaitinfo, no polling: SIGCHLDs coalesce, so each one means
//! "reap until there is nothing left".

use crate::report::{self, fail, Failed};
use crate::sys::{self, sig_bit, SigSet};
use linux_raw_sys::general as k;
use rustix::io::Errno;
use rustix::process::{Pid, Signal, WaitOptions, WaitStatus};

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
const JOB_STOPS: SigSet = sig_bit(k::SIGTSTP) | sig_bit(k::SIGTTIN) | sig_bit(k::SIGTTOU);

pub struct Supervisor {
    pub payload: u32,
    /// Passed on to the payload.
    pub forward: SigSet,
    /// End the wait (PID 1 of a VM: SIGINT from Ctrl-Alt-Del, TERM, PWR).
    pub stop: SigSet,
    /// The payload is in our process group, so it already got whatever the
    /// terminal sent to the group: ^C, ^\, window changes.
    pub shares_group: bool,
}

/// How the payload ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exit {
    /// nsinit's exit status for it: its own, or 128+N for signal N, as in sh.
    pub status: i32,
    pub signal: Option<u32>,
}

impl From<WaitStatus> for Exit {
    fn from(w: WaitStatus) -> Self {
        match (w.exit_status(), w.terminating_signal()) {
            (Some(code), _) => Exit {
                status: code,
                signal: None,
            },
            (None, Some(sig)) => Exit {
                status: 128 + sig,
                signal: Some(sig as u32),
            },
            (None, None) => Exit {
                status: 128,
                signal: None,
            },
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    Payload(Exit),
    /// A `stop` signal came first.
    Stop(u32),
}

/// What one round of reaping found.
pub struct Reaped {
    pub payload: Option<Exit>,
    /// No child is left at all (ECHILD).
    pub none_left: bool,
}

impl Supervisor {
    /// The signals to block before the payload exists and to wait on after.
    pub fn waited(&self) -> SigSet {
        self.forward | self.stop | sig_bit(k::SIGCHLD)
    }

    pub fn wait(&self) -> Result<Ending, Failed> {
        loop {
            let info = match sys::sigwaitinfo(self.waited()) {
                Ok(info) => info,
                Err(Errno::INTR) => continue,
                Err(e) => return Err(fail("sigwaitinfo", b"", e)),
            };
            let bit = sig_bit(info.signo);
            if info.signo == k::SIGCHLD {
                if let Some(exit) = self.reap().payload {
                    return Ok(Ending::Payload(exit));
                }
            } else if self.stop & bit != 0 {
                report::debug("stop on signal", signal_name(info.signo));
                return Ok(Ending::Stop(info.signo));
            } else if !(self.shares_group && info.code == k::SI_KERNEL as i32) {
                send(self.payload, info.signo);
                report::debug("forwarded signal", signal_name(info.signo));
            } else if JOB_STOPS & bit != 0 {
                // The terminal stopped the payload with the whole job: stop
                // too, so that the shell sees the job stopped (its SIGCONT
                // goes to the group again).
                send(
                    rustix::process::getpid().as_raw_nonzero().get() as u32,
                    k::SIGSTOP,
                );
            }
        }
    }

    /// Reaps every child that has ended, without blocking.
    pub fn reap(&self) -> Reaped {
        let mut payload = None;
        loop {
            // wait(), not waitpid(None): rustix turns None into 0, "any child
            // in my process group", which misses a payload with its own session.
            match rustix::process::wait(WaitOptions::NOHANG) {
                Ok(Some((pid, status))) => {
                    if pid.as_raw_nonzero().get() as u32 == self.payload {
                        let exit = Exit::from(status);
                        if report::debugging() {
                            report::debug_line("payload ended, status")
                                .num(exit.status as u64)
                                .send();
                        }
                        payload = Some(exit);
                    }
                }
                Ok(None) => {
                    return Reaped {
                        payload,
                        none_left: false,
                    }
                }
                Err(_) => {
                    return Reaped {
                        payload,
                        none_left: true,
                    }
                }
            }
        }
    }
}

pub fn send(pid: u32, sig: u32) {
    // SAFETY: `sig` is a signal number the kernel just gave us or a standard
    // one from linux-raw-sys.
    let sig = unsafe { Signal::from_raw_unchecked(sig as i32) };
    if let Some(pid) = Pid::from_raw(pid as i32) {
        let _ = rustix::process::kill_process(pid, sig);
    }
}

pub use crate::cli::signal_name;
