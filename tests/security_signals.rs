//! Attacks through the terminal, the stack limit and signals:
//! - a payload pushing input into the caller's terminal with TIOCSTI
//!   (CVE-2017-5226), by every ABI a seccomp filter might forget;
//! - a small RLIMIT_STACK that crashed nsinit, reported as if the payload
//!   had died of SIGSEGV;
//! - signals that killed or stopped nsinit (or stayed pending in it)
//!   instead of reaching the payload: tini's rule is that everything but
//!   KILL, STOP, CHLD and the synchronous faults is forwarded.

mod common;

use common::*;
use std::io::{BufRead, BufReader};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long any one thing may take before the test gives up on it.
const BOUND: Duration = Duration::from_secs(5);
const TICK: Duration = Duration::from_millis(10);

// --- Processes ----------------------------------------------------------------

/// `c.spawn()`, retried while the kernel says ETXTBSY (see `output`).
fn spawn(c: &mut Command) -> Child {
    for _ in 0..100 {
        match c.spawn() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => std::thread::sleep(TICK),
            other => return other.unwrap(),
        }
    }
    panic!("{c:?}: text file busy for a second");
}

/// The fields of /proc/PID/stat after the command name.
fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let tail = &stat[stat.rfind(')')? + 2..];
    Some(tail.split(' ').map(str::to_string).collect())
}

/// A process, told apart from a later one with the same pid by its start time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Proc {
    pid: i32,
    start: u64,
}

impl Proc {
    fn of(pid: i32) -> Option<Proc> {
        let start = stat_fields(pid)?.get(19)?.parse().ok()?;
        Some(Proc { pid, start })
    }

    /// Its state letter (R, S, T, Z, ...) while it is the same process.
    fn state(self) -> Option<char> {
        let f = stat_fields(self.pid)?;
        (f.get(19)?.parse::<u64>().ok()? == self.start).then(|| f[0].chars().next())?
    }

    fn running(self) -> bool {
        !matches!(self.state(), None | Some('Z') | Some('X'))
    }

    fn signal(self, sig: i32) {
        if self.state().is_some() {
            // SAFETY: kill(2) on a process this test started, checked to be
            // the same one just before.
            unsafe { libc::kill(self.pid, sig) };
        }
    }

    fn comm(self) -> String {
        std::fs::read_to_string(format!("/proc/{}/comm", self.pid))
            .unwrap_or_default()
            .trim()
            .to_string()
    }
}

fn children(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            let list = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            out.extend(
                list.split_whitespace()
                    .filter_map(|p| p.parse::<i32>().ok()),
            );
        }
    }
    out
}

/// `pid` and every process below it.
fn tree(pid: i32) -> Vec<Proc> {
    let mut out: Vec<Proc> = Proc::of(pid).into_iter().collect();
    let mut i = 0;
    while i < out.len() {
        let below: Vec<Proc> = children(out[i].pid)
            .into_iter()
            .filter_map(Proc::of)
            .collect();
        out.extend(below);
        i += 1;
    }
    out
}

/// Polls `f` until it gives something or BOUND has passed.
fn poll<T>(mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + BOUND;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > end {
            return None;
        }
        std::thread::sleep(TICK);
    }
}

/// SIGKILLs everything it knows of (and what is below it) when dropped, so
/// that a failing test leaves no process, stopped or orphaned, behind.
struct Reaper {
    child: Child,
    known: Vec<Proc>,
}

impl Reaper {
    fn new(child: Child) -> Reaper {
        Reaper {
            child,
            known: Vec::new(),
        }
    }

    fn learn(&mut self) {
        for p in tree(self.child.id() as i32) {
            if !self.known.contains(&p) {
                self.known.push(p);
            }
        }
    }

    /// The status of the process we started, if it ended within BOUND.
    fn wait(&mut self) -> Option<ExitStatus> {
        poll(|| self.child.try_wait().unwrap())
    }

    /// What is still running of what we knew.
    fn left(&self) -> Vec<(Proc, String)> {
        self.known
            .iter()
            .filter(|p| p.running())
            .map(|p| (*p, p.comm()))
            .collect()
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        self.learn();
        for p in &self.known {
            p.signal(libc::SIGKILL);
            p.signal(libc::SIGCONT);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An exit status as a shell would show it, signals apart.
fn shown(s: Option<ExitStatus>) -> String {
    match s {
        None => "still running".to_string(),
        Some(s) => match (s.code(), s.signal()) {
            (Some(c), _) => format!("status {c}"),
            (_, Some(sig)) => format!("killed by signal {sig}"),
            _ => format!("{s:?}"),
        },
    }
}

// --- A terminal ------------------------------------------------------------------

struct Pty {
    master: OwnedFd,
    slave: OwnedFd,
}

/// A fresh pty pair (both ends close-on-exec, so no other test's child
/// inherits them), 24x80; `raw`: no echo, no line editing, no signals.
fn pty(raw: bool) -> Pty {
    // SAFETY: plain fd calls; the fds are checked and owned at once.
    unsafe {
        let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        assert!(m >= 0, "posix_openpt: {}", std::io::Error::last_os_error());
        let master = OwnedFd::from_raw_fd(m);
        assert_eq!(libc::unlockpt(m), 0);
        let s = libc::ioctl(
            m,
            libc::TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        assert!(s >= 0, "TIOCGPTPEER: {}", std::io::Error::last_os_error());
        let slave = OwnedFd::from_raw_fd(s);
        let ws = libc::winsize {
            ws_row: 24,
            ws_col: 80,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        assert_eq!(libc::ioctl(s, libc::TIOCSWINSZ, &ws), 0);
        if raw {
            let mut t: libc::termios = std::mem::zeroed();
            assert_eq!(libc::tcgetattr(s, &mut t), 0);
            libc::cfmakeraw(&mut t);
            assert_eq!(libc::tcsetattr(s, libc::TCSANOW, &t), 0);
        }
        Pty { master, slave }
    }
}

/// Makes the pty's slave the controlling terminal and stdio of `c`, which
/// leads a new session (a terminal's login shell, as it were).
fn on_tty(c: &mut Command, slave: RawFd) {
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        c.pre_exec(move || {
            if libc::setsid() < 0 || libc::ioctl(slave, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            for fd in 0..3 {
                if libc::dup2(slave, fd) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

/// Bytes waiting in the terminal's input queue: what a TIOCSTI put there
/// and the user's shell would read next.
fn queued(slave: &OwnedFd) -> i32 {
    let mut n: libc::c_int = -1;
    // SAFETY: FIONREAD writes one int.
    assert_eq!(
        unsafe { libc::ioctl(slave.as_raw_fd(), libc::FIONREAD, &mut n) },
        0
    );
    n
}

/// What the terminal showed, read from the master until `lines` lines came
/// or BOUND passed (the pty hands output over asynchronously).
fn shown_on(master: &OwnedFd, lines: usize) -> String {
    let mut out = Vec::new();
    let end = Instant::now() + BOUND;
    while out.iter().filter(|&&b| b == b'\n').count() < lines {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let mut pfd = libc::pollfd {
            fd: master.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd; then a read into our own buffer.
        if unsafe { libc::poll(&mut pfd, 1, left.as_millis() as i32) } <= 0 {
            continue;
        }
        let mut buf = [0u8; 4096];
        let n = unsafe { libc::read(master.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            break;
        }
        out.extend_from_slice(&buf[..n as usize]);
    }
    String::from_utf8_lossy(&out).into_owned()
}

// --- 10. TIOCSTI ------------------------------------------------------------------

/// Runs sig_tiocsti under nsinit `flags` with a fresh raw pty as its
/// controlling terminal and stdio; returns nsinit's status, what the
/// terminal showed, and the bytes then waiting in its input queue.
fn tiocsti(who: As, flags: &[&str]) -> (String, String, i32) {
    tiocsti_via(who, flags, false)
}

/// As `tiocsti`; with `dev_tty`, nsinit's stdin is /dev/null and the
/// payload reaches its controlling terminal through /dev/tty instead.
fn tiocsti_via(who: As, flags: &[&str], dev_tty: bool) -> (String, String, i32) {
    let pty = pty(true);
    let prog = helper("sig_tiocsti");
    let mut args = flags.to_vec();
    args.extend(["--", &prog]);
    if dev_tty {
        args.push("dev-tty");
    }
    let mut c = command(who, nsinit(), &args);
    on_tty(&mut c, pty.slave.as_raw_fd());
    if dev_tty {
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            c.pre_exec(|| {
                let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
                if null < 0 || libc::dup2(null, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let mut r = Reaper::new(spawn(&mut c));
    let status = shown(r.wait());
    let out = shown_on(&pty.master, 6);
    (status, out, queued(&pty.slave))
}

/// Whether sig_tiocsti's report says every injection failed as it must
/// under nsinit's filter, and the ordinary ioctl still worked.
/// `x32`: what the x32 calls may give. x32 is compiled out of this kernel,
/// so without a filter they fail ENOSYS; a filter sees the number before
/// the kernel dispatches it, and must refuse it (EPERM), or a kernel that
/// has x32 would run it.
fn all_blocked(out: &str, tioclinux: &[&str], x32: &[&str]) -> bool {
    let lines: Vec<&str> = out.lines().collect();
    let want: [(&str, &[&str]); 7] = [
        ("TIOCSTI", &["EPERM"]),
        // The command's upper half is dropped by the kernel (an unsigned
        // int), so a filter comparing all 64 bits is bypassed (CVE-2019-10063).
        ("TIOCSTI|1<<32", &["EPERM"]),
        // Bit 0x40000000 and the 64-bit number, and x32's own ioctl.
        ("x32 TIOCSTI", x32),
        ("x32/514 TIOCSTI", x32),
        // The i386 ABI (int $0x80, ioctl is 54 there): a filter must check
        // the architecture, or refuse foreign ones.
        ("i386 TIOCSTI", &["EPERM", "ENOSYS"]),
        ("TIOCLINUX", tioclinux),
        ("TIOCGWINSZ", &["24x80"]),
    ];
    lines.len() == want.len()
        && lines.iter().zip(want).all(|(line, (call, ends))| {
            line.rsplit_once(' ')
                .is_some_and(|(c, e)| c == call && ends.contains(&e))
        })
}

#[test]
fn payload_cannot_push_input_into_the_callers_terminal() {
    // Root without a user namespace has CAP_SYS_ADMIN, so the kernel's own
    // check lets it inject into any tty; in a user namespace (legacy_tiocsti
    // is 1 here) the shared controlling terminal is enough.
    let mut bad = Vec::new();
    for (who, flags) in [
        (As::Root, &["-m"][..]),
        (As::Root, &["-r"][..]),
        (As::Nobody, &["-r"][..]),
    ] {
        let (status, out, queued) = tiocsti(who, flags);
        if !(status == "status 0" && all_blocked(&out, &["EPERM"], &["EPERM"]) && queued == 0) {
            bad.push(format!(
                "{who:?} {flags:?}: nsinit {status}, {queued} bytes pushed into the \
                 caller's terminal; the payload saw:\n{out}"
            ));
        }
        // No standard fd on the terminal, still the controlling one.
        let (status, out, queued) = tiocsti_via(who, flags, true);
        if !(status == "status 0" && all_blocked(&out, &["EPERM"], &["EPERM"]) && queued == 0) {
            bad.push(format!(
                "{who:?} {flags:?}: nsinit {status}, {queued} bytes pushed into the \
                 caller's terminal; the payload saw:\n{out}"
            ));
        }
    }
    assert!(bad.is_empty(), "\n{}", bad.join("\n"));
}

#[test]
fn control_new_session_already_blocks_tiocsti_in_a_user_namespace() {
    // Passes on today's binary: the payload's own session has no
    // controlling terminal and no CAP_SYS_ADMIN of the host, so the kernel
    // refuses. This shows the report the test above waits for, and that
    // TIOCGWINSZ still works; TIOCLINUX is ENOTTY on a pty without the
    // filter, EPERM with it.
    for who in [As::Root, As::Nobody] {
        let (status, out, queued) = tiocsti(who, &["-r", "--new-session"]);
        assert!(
            status == "status 0"
                && all_blocked(&out, &["ENOTTY", "EPERM"], &["ENOSYS"])
                && queued == 0,
            "{who:?}: nsinit {status}, {queued} bytes queued; the payload saw:\n{out}"
        );
    }
}

// --- 11. A small stack limit -----------------------------------------------------

/// nsinit run under a stack limit of `kb` KiB (soft and hard) set by a
/// static helper that execs it (a shell may itself crash under 8 KiB),
/// with a small known environment: the stack holds it too.
fn under_stack_limit(who: As, kb: u32, args: &[&str]) -> std::process::Output {
    let kb = kb.to_string();
    let mut a = vec![kb.as_str(), nsinit()];
    a.extend(args);
    let mut c = command(who, &helper("sig_stacklimit"), &a);
    c.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", "/")
        .env("PWD", "/");
    output(&mut c)
}

fn stack_cases() -> [(As, &'static [&'static str]); 2] {
    [(As::Root, &["-m"]), (As::Nobody, &["-r", "-m"])]
}

#[test]
fn a_32k_stack_limit_still_runs_the_payload() {
    // Today nsinit's child crashes on a 16 KiB buffer on its stack and
    // nsinit reports status 139. 8192 (the usual limit) is the control.
    let mut bad = Vec::new();
    for kb in [8192, 32] {
        for (who, flags) in stack_cases() {
            for (env_args, want) in [
                (&[][..], "HOME=/\nPATH=/usr/bin:/bin\nPWD=/\n"),
                (
                    &["--setenv", "A", "B"][..],
                    "A=B\nHOME=/\nPATH=/usr/bin:/bin\nPWD=/\n",
                ),
                // --clearenv keeps PWD, as bubblewrap does.
                (&["--clearenv"][..], "PWD=/\n"),
            ] {
                let mut args = flags.to_vec();
                args.extend(env_args);
                args.extend(["--", "/bin/busybox", "env"]);
                let o = under_stack_limit(who, kb, &args);
                let mut env: Vec<&str> = std::str::from_utf8(&o.stdout).unwrap().lines().collect();
                env.sort();
                let env: String = env.iter().map(|l| format!("{l}\n")).collect();
                let status = shown(Some(o.status));
                if status != "status 0" || env != want || !o.stderr.is_empty() {
                    bad.push(format!(
                        "ulimit -s {kb}, {who:?} {args:?}: {status}, env {env:?}, stderr {:?}",
                        stderr(&o)
                    ));
                }
            }
        }
    }
    assert!(bad.is_empty(), "\n{}", bad.join("\n"));
}

#[test]
fn nsinits_own_crash_is_never_reported_as_the_payloads_status() {
    // Smaller limits: nsinit may refuse (125, one `nsinit: ` line) but must
    // neither crash nor pass a crash off as the payload's 128+N. Not below
    // 12 KiB: there the kernel's own execve of nsinit fails now and then
    // (EFAULT past the point of no return, then SIGSEGV), before a single
    // instruction of nsinit runs.
    let mut bad = Vec::new();
    for kb in [24, 16, 12] {
        for (who, flags) in stack_cases() {
            for env_args in [&[][..], &["--setenv", "A", "B"][..]] {
                let mut args = flags.to_vec();
                args.extend(env_args);
                args.extend(["--", "/bin/busybox", "true"]);
                let o = under_stack_limit(who, kb, &args);
                let err = stderr(&o);
                let fine = match o.status.code() {
                    Some(0) => err.is_empty(),
                    Some(125) => err.starts_with("nsinit: ") && err.lines().count() == 1,
                    _ => false,
                };
                if !fine {
                    bad.push(format!(
                        "ulimit -s {kb}, {who:?} {args:?}: {}, stderr {err:?}",
                        shown(Some(o.status))
                    ));
                }
            }
        }
    }
    assert!(bad.is_empty(), "\n{}", bad.join("\n"));
}

// --- 13e. Signal forwarding ----------------------------------------------------------

/// Every signal tini forwards (all but KILL, STOP, CHLD and the synchronous
/// ILL TRAP ABRT BUS FPE SEGV SYS), a few realtime ones, and last the
/// helper's terminator, SIGRTMIN+10.
const SENT: [i32; 25] = [
    1, 2, 3, 10, 12, 13, 14, 15, 16, 18, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 34, 40, 64, 44,
];

enum Event {
    Out(String),
    Err(String),
}

/// The synchronous faults as a process sends them (kill -SEGV): never
/// forwarded (tini's rule), and never nsinit's end. The first four have
/// nsinit's crash handler, which drops a sent one; the other three keep
/// their default action, which kills a process that is not PID 1 of its
/// namespace, so only a PID 1 is sent those.
const HANDLED_FAULTS: &[i32] = &[4, 7, 8, 11];
const ALL_FAULTS: &[i32] = &[4, 5, 6, 7, 8, 11, 31];

/// Starts `c` with sig_catch as the payload, sends nsinit (`target` finds
/// its pid from the started process's) first `faults`, then SENT one at a
/// time, each once the payload reported the one before; asserts every one
/// of SENT arrived, in order, and none of `faults` (an extra report breaks
/// the order), nsinit's status 0, and nothing left running; returns what
/// went wrong.
fn forwards_everything(
    what: &str,
    mut c: Command,
    target: impl Fn(i32) -> Option<i32>,
    faults: &[i32],
) -> Option<String> {
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = spawn(&mut c);
    let (tx, rx) = mpsc::channel();
    let out = BufReader::new(child.stdout.take().unwrap());
    let err = BufReader::new(child.stderr.take().unwrap());
    let tx2 = tx.clone();
    std::thread::spawn(move || {
        out.lines()
            .map_while(Result::ok)
            .try_for_each(|l| tx.send(Event::Out(l)))
    });
    std::thread::spawn(move || {
        err.lines()
            .map_while(Result::ok)
            .try_for_each(|l| tx2.send(Event::Err(l)))
    });
    let mut r = Reaper::new(child);
    let mut errors = String::new();
    // The payload's next line; Err when nsinit ended or stopped first, or
    // BOUND passed.
    let mut next = |r: &mut Reaper, nsinit: Option<Proc>| -> Result<String, String> {
        let end = Instant::now() + BOUND;
        loop {
            match rx.recv_timeout(TICK) {
                Ok(Event::Out(l)) => return Ok(l),
                Ok(Event::Err(l)) => errors.push_str(&format!("{l}\n")),
                Err(_) => {
                    if let Some(s) = r.child.try_wait().unwrap() {
                        if let Ok(Event::Out(l)) = rx.recv_timeout(TICK) {
                            return Ok(l);
                        }
                        return Err(format!("nsinit ended first, {}", shown(Some(s))));
                    }
                    if nsinit.is_some_and(|p| p.state() == Some('T')) {
                        return Err("nsinit stopped".to_string());
                    }
                    if Instant::now() > end {
                        return Err("nothing within 5 s".to_string());
                    }
                }
            }
        }
    };
    let mut reported = Vec::new();
    let mut problem = None;
    match next(&mut r, None) {
        Ok(l) if l == "ready" => {}
        other => problem = Some(format!("no ready line: {other:?}")),
    }
    r.learn();
    let nsinit = target(r.child.id() as i32).and_then(Proc::of);
    if problem.is_none() && nsinit.is_none() {
        problem = Some("nsinit's pid not found".to_string());
    }
    if let (None, Some(nsinit)) = (&problem, nsinit) {
        for &sig in faults {
            // SAFETY: kill(2) on the nsinit this test started.
            unsafe { libc::kill(nsinit.pid, sig) };
        }
        for sig in SENT {
            // SAFETY: kill(2) on the nsinit this test started.
            unsafe { libc::kill(nsinit.pid, sig) };
            match next(&mut r, Some(nsinit)) {
                Ok(l) => {
                    let wrong = l != sig.to_string();
                    reported.push(l);
                    if wrong {
                        problem = Some(format!("sent {sig}, the payload reported another"));
                        break;
                    }
                }
                Err(e) => {
                    problem = Some(format!(
                        "sent {sig}: {e} (nsinit's state {:?})",
                        nsinit.state()
                    ));
                    break;
                }
            }
        }
    }
    let status = match problem {
        None => shown(r.wait()),
        Some(_) => shown(r.child.try_wait().unwrap()),
    };
    if problem.is_none() && poll(|| r.left().is_empty().then_some(())).is_none() {
        problem = Some(format!("left running: {:?}", r.left()));
    }
    let want: Vec<String> = SENT.iter().map(i32::to_string).collect();
    (problem.is_some() || reported != want || status != "status 0").then(|| {
        format!(
            "{what}: {}; the payload reported {reported:?}; nsinit {status}; stderr {errors:?}",
            problem.as_deref().unwrap_or("-")
        )
    })
}

fn assert_all_forwarded(failures: Vec<Option<String>>) {
    let failures: Vec<String> = failures.into_iter().flatten().collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

fn catcher(who: As, flags: &[&str]) -> Command {
    let prog = helper("sig_catch");
    let mut args = flags.to_vec();
    args.extend(["--", &prog]);
    command(who, nsinit(), &args)
}

#[test]
fn launcher_forwards_every_signal() {
    assert_all_forwarded(vec![
        forwards_everything("nsinit --", catcher(As::Root, &[]), Some, HANDLED_FAULTS),
        forwards_everything(
            "nsinit -U -r -p as Root",
            catcher(As::Root, &["-U", "-r", "-p"]),
            Some,
            HANDLED_FAULTS,
        ),
        forwards_everything(
            "nsinit -U -r -p as Nobody",
            catcher(As::Nobody, &["-U", "-r", "-p"]),
            Some,
            HANDLED_FAULTS,
        ),
    ]);
}

#[test]
fn init_forwards_every_signal() {
    assert_all_forwarded(vec![
        forwards_everything(
            "nsinit --init -U -r -p as Root",
            catcher(As::Root, &["--init", "-U", "-r", "-p"]),
            Some,
            HANDLED_FAULTS,
        ),
        forwards_everything(
            "nsinit --init -U -r -p as Nobody",
            catcher(As::Nobody, &["--init", "-U", "-r", "-p"]),
            Some,
            HANDLED_FAULTS,
        ),
        // Signals sent to the --init process itself, PID 1 of the new
        // namespace, which may be sent every fault.
        forwards_everything(
            "nsinit --init -U -r -p as Root, to PID 1",
            catcher(As::Root, &["--init", "-U", "-r", "-p"]),
            nsinit_child,
            ALL_FAULTS,
        ),
    ]);
}

#[test]
fn container_init_forwards_every_signal() {
    let prog = helper("sig_catch");
    let c = command(
        As::Root,
        "unshare",
        &["-p", "-f", "--mount-proc", nsinit(), "--", &prog],
    );
    // nsinit is unshare's child, PID 1 of the new pid namespace.
    assert_all_forwarded(vec![forwards_everything(
        "unshare -p -f --mount-proc nsinit",
        c,
        nsinit_child,
        ALL_FAULTS,
    )]);
}

/// The child of `pid` that is an nsinit (unshare's, or the launcher's
/// PID 1 of the new namespace).
fn nsinit_child(pid: i32) -> Option<i32> {
    children(pid)
        .into_iter()
        .find(|&p| Proc::of(p).is_some_and(|p| p.comm() == "nsinit"))
}

// --- 13f. The terminal's signals ------------------------------------------------------

/// A shell with job control (`sh -m`) running `script` on a fresh pty as
/// its controlling terminal: each command is a job of its own, as at a
/// prompt, and the test types into the terminal as its user would.
struct Terminal {
    pty: Pty,
    r: Reaper,
}

fn at_terminal(script: &str) -> Terminal {
    let pty = pty(false);
    let mut c = Command::new("/bin/sh");
    c.args(["-m", "-c", script]).current_dir("/");
    on_tty(&mut c, pty.slave.as_raw_fd());
    let r = Reaper::new(spawn(&mut c));
    Terminal { pty, r }
}

impl Terminal {
    /// The job the shell started (nsinit, or unshare) once it is the
    /// terminal's foreground job (`fg`) or exists at all, and what runs
    /// below it as `comm`; all learned by the Reaper.
    fn job(&mut self, fg: bool, comm: &str) -> (Proc, Vec<Proc>) {
        let shell = self.r.child.id() as i32;
        let master = self.pty.master.as_raw_fd();
        let found = poll(|| {
            let job = children(shell).into_iter().find_map(Proc::of)?;
            let below: Vec<Proc> = tree(job.pid).into_iter().skip(1).collect();
            // SAFETY: tcgetpgrp on our own master fd.
            let foreground = unsafe { libc::tcgetpgrp(master) } == job.pid;
            let started = below.iter().any(|p| p.comm() == comm);
            (started && foreground == fg).then_some((job, below))
        });
        self.r.learn();
        found.unwrap_or_else(|| panic!("no job running {comm} (foreground: {fg})"))
    }

    /// Types `keys` as the terminal's user (^C is b"\x03", ^Z b"\x1a").
    fn type_in(&self, keys: &[u8]) {
        // SAFETY: a write from our own buffer to our own fd.
        let n = unsafe {
            libc::write(
                self.pty.master.as_raw_fd(),
                keys.as_ptr().cast(),
                keys.len(),
            )
        };
        assert_eq!(n, keys.len() as isize);
    }

    /// What the terminal showed until a line containing `text` came (or
    /// BOUND passed).
    fn shows(&self, text: &str) -> String {
        let end = Instant::now() + BOUND;
        let mut seen = String::new();
        while !seen.contains(text) && Instant::now() < end {
            let more = shown_on(&self.pty.master, 1);
            if more.is_empty() {
                break;
            }
            seen.push_str(&more);
        }
        seen
    }
}

/// Polls until the job and every process below it are stopped (state T);
/// returns the states it saw last, SIGCONTs them all either way.
fn all_stop(job: Proc, below: Vec<Proc>) -> Result<(), Vec<(String, Option<char>)>> {
    let procs: Vec<Proc> = std::iter::once(job).chain(below).collect();
    let stopped = poll(|| procs.iter().all(|p| p.state() == Some('T')).then_some(()));
    let states = procs.iter().map(|p| (p.comm(), p.state())).collect();
    for p in &procs {
        p.signal(libc::SIGCONT);
    }
    stopped.ok_or(states)
}

/// A job-control stop from the terminal (^Z: SIGTSTP to the whole
/// foreground group) must stop nsinit, with --init the process between
/// too, as well as its payload, so that the shell sees the job stopped.
/// (A regression test: it passes on the binary before the forwarding
/// change, which left SIGTSTP at its default.)
#[test]
fn ctrl_z_stops_nsinit_and_its_payload_together() {
    for flags in ["", "--init"] {
        let mut t = at_terminal(&format!(
            "{} {flags} -- sleep 100; exec sleep 100",
            nsinit()
        ));
        let (nsinit, below) = t.job(true, "sleep");
        t.type_in(b"\x1a");
        if let Err(states) = all_stop(nsinit, below) {
            panic!("nsinit {flags}: after ^Z the states are {states:?} (want T for each)");
        }
    }
}

/// ^C reaches a payload that shares nsinit's process group from the
/// terminal itself: nsinit passes nothing on, does not stop, and ends
/// with the payload's 130.
#[test]
fn ctrl_c_ends_the_payload_and_nsinit_with_130() {
    let script = format!("{} -- sleep 100; echo status $?; exec sleep 100", nsinit());
    let mut t = at_terminal(&script);
    t.job(true, "sleep");
    t.type_in(b"\x03");
    let seen = t.shows("status");
    assert!(
        seen.contains("status 130"),
        "after ^C the terminal showed {seen:?}"
    );
}

/// A payload with a session of its own (--new-session) gets nothing from
/// the terminal: the ^Z or ^C that nsinit got with its job is passed on
/// to it, by --init and by PID 1 of a container alike, instead of
/// stopping nsinit or being dropped as already delivered.
#[test]
fn a_payload_in_its_own_session_gets_the_terminals_signals_from_nsinit() {
    let payload = |sig: &str| {
        format!(
            "/bin/sh -c 'trap \"echo got {sig}\" {sig}; echo ready; while :; do sleep 0.1; done'"
        )
    };
    let cases = [
        (
            format!("{} --init --new-session -- {}", nsinit(), payload("TSTP")),
            b"\x1a",
            "got TSTP",
        ),
        (
            format!(
                "unshare -p -f --mount-proc {} --new-session -- {}",
                nsinit(),
                payload("INT")
            ),
            b"\x03",
            "got INT",
        ),
    ];
    for (job, key, want) in cases {
        let mut t = at_terminal(&format!("{job}; exec sleep 100"));
        let ready = t.shows("ready");
        assert!(ready.contains("ready"), "{job}: {ready:?}");
        let (nsinit, below) = t.job(true, "sleep");
        t.type_in(key);
        let seen = t.shows(want);
        let states: Vec<_> = std::iter::once(nsinit)
            .chain(below)
            .map(|p| (p.comm(), p.state()))
            .collect();
        assert!(
            seen.contains(want) && states.iter().all(|(_, s)| *s != Some('T')),
            "{job}: the terminal showed {seen:?}; states {states:?} (none stopped)"
        );
    }
}

/// A background job that reads the terminal is stopped by it (SIGTTIN to
/// its group): nsinit stops with its payload, as with ^Z, so that the
/// shell sees the job stopped and `fg` can bring it back.
#[test]
fn a_background_read_stops_nsinit_with_its_payload() {
    let mut t = at_terminal(&format!("{} -- /bin/cat & exec sleep 100", nsinit()));
    let (nsinit, below) = t.job(false, "cat");
    if let Err(states) = all_stop(nsinit, below) {
        panic!("after a background read the states are {states:?} (want T for each)");
    }
}

#[test]
fn control_the_catcher_reports_every_signal_sent_to_it_directly() {
    // Passes on today's binary: with no nsinit in between, the same
    // sequence and checks hold, TSTP, CONT and the realtime ones included.
    let c = command(As::Root, &helper("sig_catch"), &[]);
    assert_all_forwarded(vec![forwards_everything("sig_catch alone", c, Some, &[])]);
}

/// A fault signal a process sends (kill -SEGV) is no fault: nsinit's crash
/// handler must not take it for one and end the namespace with 125; as
/// PID 1 it is dropped like any signal PID 1 does not handle. (Not an
/// audit finding: the review of the crash handler found it; the code
/// before the handler passes.)
#[test]
fn a_sent_fault_signal_is_not_a_crash() {
    let script = "kill -SEGV 1; kill -BUS 1; kill -ILL 1; kill -FPE 1; exit 3";
    for (program, args) in [
        (
            nsinit(),
            vec!["-p", "--init", "--", "/bin/sh", "-c", script],
        ),
        (
            "unshare",
            vec!["-p", "-f", "--", nsinit(), "--", "/bin/sh", "-c", script],
        ),
    ] {
        let o = output(&mut command(As::Root, program, &args));
        assert_eq!(
            (o.status.code(), stderr(&o)),
            (Some(3), String::new()),
            "{program} {args:?}"
        );
    }
}
