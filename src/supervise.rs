//! Waiting for the payload, the same way for the launcher, `--init` and
//! PID 1: every child that ends is reaped (orphans included, when we are a
//! reaper), chosen signals are passed on, and the caller learns how it ended.
//! One loop on sigwaitinfo, no polling: SIGCHLDs coalesce, so each one means
//! "reap until there is nothing left".

use crate::report::{self, fail, Failed};
use crate::signals::{self, Signal, FORWARDED, JOB_STOPS};
use crate::sys::{self, sig_bit, SigSet};
use linux_raw_sys::general as k;
use rustix::io::Errno;
use rustix::process::{WaitOptions, WaitStatus};

/// Who nsinit is in this run. nsinit decides it (its pid, whether
/// reboot(CAD_OFF) works), no option does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A command, started by a shell or a program.
    Launcher,
    /// PID 1 of a container (`podman run --init`): tini's job.
    ContainerInit,
    /// PID 1 of a VM, on the console.
    VmInit,
}

impl Role {
    /// The payload gets a session of its own with the console as its
    /// controlling terminal, so that ^C reaches its foreground job, not
    /// PID 1.
    pub fn console_session(self) -> bool {
        self == Role::VmInit
    }

    /// Every signal is at its default action already: the kernel starts
    /// PID 1 so and nsinit ignores none. The child skips resetting all 64
    /// (about a millisecond under TCG).
    pub fn signals_default(self) -> bool {
        self == Role::VmInit
    }
}

/// On a VM these end the wait and start the shutdown: SIGINT is how the
/// kernel reports Ctrl-Alt-Del once reboot(CAD_OFF) is set; SIGTERM and
/// SIGPWR are the usual requests to init. The rest is forwarded.
pub const VM_STOP: SigSet = sig_bit(k::SIGINT) | sig_bit(k::SIGTERM) | sig_bit(k::SIGPWR);

pub struct Supervisor {
    pub payload: u32,
    /// Passed on to the payload.
    forward: SigSet,
    /// End the wait (PID 1 of a VM: SIGINT from Ctrl-Alt-Del, TERM, PWR).
    stop: SigSet,
    /// The payload is in our process group, so it already got whatever the
    /// terminal sent to the group: ^C, ^\, window changes.
    shares_group: bool,
}

impl Supervisor {
    /// nsinit as a command, waiting outside the namespaces. Every signal
    /// is passed on but those the payload got from the terminal with us
    /// (`own_session`: it has a session of its own, so it got none).
    pub fn launcher(own_session: bool) -> Self {
        Self::forwarding(own_session)
    }

    /// `--init`: the payload's parent inside the namespaces, as tini.
    pub fn init(own_session: bool) -> Self {
        Self::forwarding(own_session)
    }

    /// PID 1 of a container: as `--init`, with orphans reaped by nature.
    pub fn container_init(own_session: bool) -> Self {
        Self::forwarding(own_session)
    }

    /// PID 1 of a VM: the shutdown requests end the wait, the rest is
    /// passed on; the payload is in a session of its own.
    pub fn vm_init() -> Self {
        Supervisor {
            payload: 0,
            forward: FORWARDED & !VM_STOP,
            stop: VM_STOP,
            shares_group: false,
        }
    }

    fn forwarding(own_session: bool) -> Self {
        Supervisor {
            payload: 0,
            forward: FORWARDED,
            stop: 0,
            shares_group: !own_session,
        }
    }
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
                report::debug("stop on signal", signals::name(info.signo));
                return Ok(Ending::Stop(info.signo));
            } else if !(self.shares_group && info.code == k::SI_KERNEL as i32) {
                if let Some(sig) = Signal::new(info.signo) {
                    send(self.payload, sig);
                }
                report::debug("forwarded signal", signals::name(info.signo));
            } else if JOB_STOPS & bit != 0 {
                // The terminal stopped the payload with the whole job: stop
                // too, so that the shell sees the job stopped (its SIGCONT
                // goes to the group again).
                send(
                    rustix::process::getpid().as_raw_nonzero().get() as u32,
                    Signal::STOP,
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

pub fn send(pid: u32, sig: Signal) {
    // Never 0 or -1 (the group, everyone): only a child's pid.
    if pid > 0 && pid <= i32::MAX as u32 {
        let _ = sys::kill(pid as i32, sig.get());
    }
}
