//! Security: the processes nsinit leaves behind it. Each test plays the
//! attacker against one finding of the audit: ids the payload keeps from
//! the caller (--map-users without the caller's id, --uid without --gid),
//! an --init that a payload can read or trace, a --kill-child that is lost,
//! a container PID 1 taken for a VM, closed stdio, fixed-size buffers for
//! the environment and the defaults file, and clone3 refused by seccomp.

mod common;

use common::*;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// A fresh directory for one test, removed by `Drop`: `mode` 0o777 or
/// 0o1777 when a payload that is not host root must write there.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str, mode: u32) -> TempDir {
        let dir = std::env::temp_dir().join(format!("nsinit-proc-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
        TempDir(dir)
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The lines of /proc/self/status about ids, as the payload sees them.
const IDS: &str = "grep -E '^(Uid|Gid|Groups):' /proc/self/status";

/// `Uid:`/`Gid:` lines for one id in all four slots, and no supplementary
/// groups (the kernel prints a tab and a space for none).
fn ids(uid: u32, gid: u32) -> String {
    format!("Uid:\t{uid}\t{uid}\t{uid}\t{uid}\nGid:\t{gid}\t{gid}\t{gid}\t{gid}\nGroups:\t \n")
}

/// `setpriv --groups=4,6 nsinit ARGS`: a root caller with supplementary
/// groups the payload must not keep.
fn with_groups(args: &[&str]) -> std::process::Output {
    let mut a = vec!["--groups=4,6", nsinit()];
    a.extend(args);
    output(&mut command(As::Root, "setpriv", &a))
}

// --- 4: --map-users without the caller's own id ---------------------------------

#[test]
fn mapped_ranges_run_the_payload_as_a_mapped_id() {
    let dir = TempDir::new("mapped", 0o1777);
    // Root's file, readable by all: only host uid 0 may write it.
    let file = dir.path("rootfile");
    std::fs::write(&file, "orig\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let made = dir.path("made");
    let script = format!(
        "{IDS}; if echo x >> {file}; then echo write: done; else echo write: refused; fi; \
         touch {made}"
    );
    let o = with_groups(&[
        "--map-users=0:100000:65536",
        "--map-groups=0:100000:65536",
        "-p",
        "--",
        "/bin/sh",
        "-c",
        &script,
    ]);
    // Inner 0 is host 100000: root's file stays root's.
    assert_eq!(
        (stdout(&o).as_str(), o.status.code()),
        (format!("{}write: refused\n", ids(0, 0)).as_str(), Some(0)),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "orig\n");
    let meta = std::fs::metadata(&made).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid()),
        (100000, 100000),
        "owner of {made}"
    );
}

#[test]
fn mapped_ranges_combine_with_a_new_root() {
    let mut args = vec![
        "--map-users=0:100000:65536",
        "--map-groups=0:100000:65536",
        "-p",
    ];
    args.extend(USR_SANDBOX);
    args.extend([
        "--tmpfs",
        "/tmp",
        "--",
        "sh",
        "-c",
        "grep -E '^(Uid|Gid):' /proc/self/status; cat /proc/self/uid_map | tr -s ' '; \
         touch /tmp/x && stat -c %u:%g /tmp/x",
    ]);
    let o = run(As::Root, &args);
    assert_eq!(
        (stderr(&o).as_str(), o.status.code()),
        ("", Some(0)),
        "the sandbox did not start"
    );
    assert_eq!(
        stdout(&o),
        "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n 0 100000 65536\n0:0\n"
    );
}

#[test]
fn ranges_without_inner_0_need_uid_or_gid() {
    for (maps, want) in [
        (
            ["--map-users=1:100000:10", "--map-groups=0:100000:10"],
            "nsinit: option --map-users: maps no inner uid 0: add --uid with a mapped id; \
             see nsinit --help\n",
        ),
        (
            ["--map-users=0:100000:10", "--map-groups=1:100000:10"],
            "nsinit: option --map-groups: maps no inner gid 0: add --gid with a mapped id; \
             see nsinit --help\n",
        ),
    ] {
        let o = run(
            As::Root,
            &[maps[0], maps[1], "-p", "--", "/bin/sh", "-c", IDS],
        );
        assert_eq!(
            (stderr(&o).as_str(), o.status.code(), stdout(&o).as_str()),
            (want, Some(125), ""),
            "{maps:?}"
        );
    }
    // With --uid naming a mapped id it runs as that id (and, without
    // --gid, the same gid), seen from the host as 100000 and 100001.
    let dir = TempDir::new("uid1", 0o1777);
    let made = dir.path("made");
    let o = run(
        As::Root,
        &[
            "--map-users=1:100000:10",
            "--map-groups=0:100000:10",
            "--uid=1",
            "-p",
            "--",
            "/bin/sh",
            "-c",
            &format!("{IDS}; touch {made}"),
        ],
    );
    assert_eq!(
        (stdout(&o), o.status.code()),
        (ids(1, 1), Some(0)),
        "{}",
        stderr(&o)
    );
    let meta = std::fs::metadata(&made).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid()),
        (100000, 100001),
        "owner of {made}"
    );
}

// --- 8: --uid without --gid ---------------------------------------------------

#[test]
fn uid_alone_switches_the_gid_and_drops_groups() {
    let o = with_groups(&["-m", "--uid=65534", "--", "/bin/sh", "-c", IDS]);
    assert_eq!(
        (stdout(&o), o.status.code()),
        (ids(65534, 65534), Some(0)),
        "{}",
        stderr(&o)
    );
    // --gid alone: the groups go, the uid stays.
    let o = with_groups(&["-m", "--gid=100", "--", "/bin/sh", "-c", IDS]);
    assert_eq!(
        (stdout(&o), o.status.code()),
        (ids(0, 100), Some(0)),
        "{}",
        stderr(&o)
    );
}

// --- 6: the --init process ------------------------------------------------------

/// What the payload learns about its --init parent (PID 1): its
/// environment, its no_new_privs, and whether it can be traced.
fn init_probe(ptrace: &str) -> String {
    format!(
        "if env=$(tr '\\0' '\\n' < /proc/1/environ); then echo \"environ: $env\"; \
         else echo environ: unreadable; fi; grep NoNewPrivs /proc/1/status; {ptrace} 1"
    )
}

const INIT_SEALED: &str = "environ: unreadable\nNoNewPrivs:\t1\nattach: EPERM\nseize: EPERM\n";

/// A busybox root with the ptrace helper as /bin/proc_ptrace.
fn init_root(dir: &TempDir) -> String {
    let root = dir.0.join("root");
    for sub in ["bin", "proc"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    std::fs::copy("/bin/busybox", root.join("bin/busybox")).unwrap();
    for applet in ["sh", "tr", "grep"] {
        symlink("busybox", root.join("bin").join(applet)).unwrap();
    }
    std::fs::copy(helper("proc_ptrace"), root.join("bin/proc_ptrace")).unwrap();
    for p in [&dir.0, &root] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    root.to_str().unwrap().to_string()
}

#[test]
fn init_is_not_readable_or_traceable_by_the_payload() {
    let dir = TempDir::new("init", 0o755);
    let root = init_root(&dir);
    let ptrace = helper("proc_ptrace");
    let in_root = init_probe("/bin/proc_ptrace");
    let on_host = init_probe(&ptrace);
    for who in [As::Root, As::Nobody] {
        for args in [
            vec![
                "-r",
                "-R",
                &root,
                "--proc",
                "/proc",
                "--init",
                "--clearenv",
                "--",
                "/bin/sh",
                "-c",
                &in_root,
            ],
            vec![
                "-r",
                "-p",
                "--init",
                "--mount-proc",
                "--clearenv",
                "--",
                "/bin/sh",
                "-c",
                &on_host,
            ],
        ] {
            let mut c = command(who, nsinit(), &args);
            c.env_clear()
                .env("PATH", "/usr/bin:/bin")
                .env("SECRET_TOKEN", "hunter2");
            let o = output(&mut c);
            assert_eq!(
                (stdout(&o).as_str(), o.status.code()),
                (INIT_SEALED, Some(0)),
                "{who:?} {:?}: {}",
                &args[..6],
                stderr(&o)
            );
        }
    }
}

// --- 7: --kill-child --------------------------------------------------------------

/// A process nsinit started, and its start time (so a reused pid is not
/// taken for it).
struct Started {
    pid: i32,
    start: String,
}

/// `(state, start time, parent)` from /proc/PID/stat.
fn stat_of(pid: i32) -> Option<(String, String, i32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let parent = fields[1].parse().ok()?;
    Some((fields[0].to_string(), fields[19].to_string(), parent))
}

impl Started {
    fn alive(&self) -> bool {
        matches!(stat_of(self.pid), Some((state, start, _)) if state != "Z" && start == self.start)
    }
}

/// Every process below `pid`, depth first.
fn descendants(pid: i32, out: &mut Vec<Started>) {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return;
    };
    for task in tasks.flatten() {
        let children = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        for child in children.split_whitespace() {
            let child: i32 = child.parse().unwrap();
            if let Some((_, start, _)) = stat_of(child) {
                out.push(Started { pid: child, start });
                descendants(child, out);
            }
        }
    }
}

/// Starts nsinit with `args` (whose payload prints "ready" first), SIGKILLs
/// nsinit once the payload is ready, and gives every process it started 5
/// s to end. Returns those still alive then (killed before returning, so
/// nothing is left behind either way), as "pid (comm)". This test process
/// is a child subreaper meanwhile, so nsinit's orphans come to it and are
/// reaped here (this machine's PID 1 may leave them zombies for a while).
fn survivors_of_nsinit_death(who: As, args: &[&str]) -> Vec<String> {
    // SAFETY: prctl(2) with integer arguments; it only changes who adopts
    // this process's orphans.
    assert_eq!(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1) }, 0);
    let mut child = command(who, nsinit(), args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    if !matches!(lines.next(), Some(Ok(l)) if l == "ready") {
        // nsinit closed stdout without a payload: it is ending by itself.
        let o = child.wait_with_output().unwrap();
        panic!(
            "{who:?} {args:?}: no payload ({:?}): {}",
            o.status,
            stderr(&o)
        );
    }
    let mut started = Vec::new();
    descendants(child.id() as i32, &mut started);
    child.kill().unwrap(); // SIGKILL to nsinit itself
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while started.iter().any(Started::alive) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut left = Vec::new();
    for p in &started {
        if p.alive() {
            let comm = std::fs::read_to_string(format!("/proc/{}/comm", p.pid)).unwrap_or_default();
            left.push(format!("{} ({})", p.pid, comm.trim()));
            // SAFETY: kill(2) on a process this test started, checked by its
            // start time just above.
            unsafe { libc::kill(p.pid, libc::SIGKILL) };
        }
        // Reap what came to us: dead, or just killed.
        let ours = std::process::id() as i32;
        if matches!(stat_of(p.pid), Some((_, start, parent)) if parent == ours && start == p.start)
        {
            // SAFETY: waitpid(2) on our own child's pid.
            unsafe { libc::waitpid(p.pid, std::ptr::null_mut(), libc::__WALL) };
        }
    }
    assert!(
        !started.is_empty(),
        "{who:?} {args:?}: nothing below nsinit"
    );
    left
}

/// The payload: says it is ready, then sleeps as the same process.
const SLEEPER: [&str; 4] = ["--", "/bin/sh", "-c", "echo ready; exec sleep 1000"];

fn with_sleeper(flags: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
    v.extend(SLEEPER.iter().map(|s| s.to_string()));
    v
}

fn payload_outlives_nsinit(who: As, flags: &[&str]) -> Vec<String> {
    let args = with_sleeper(flags);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    survivors_of_nsinit_death(who, &args)
}

#[test]
fn kill_child_survives_a_switch_of_ids() {
    // The control: no id switch, the payload goes with nsinit.
    assert_eq!(
        payload_outlives_nsinit(As::Root, &["--kill-child", "-u"]),
        Vec::<String>::new()
    );
    assert_eq!(
        payload_outlives_nsinit(As::Nobody, &["--kill-child", "-r"]),
        Vec::<String>::new()
    );
    // setresuid/setresgid clear the parent-death signal in the kernel.
    assert_eq!(
        payload_outlives_nsinit(
            As::Root,
            &["-m", "--uid=65534", "--gid=65534", "--kill-child"]
        ),
        Vec::<String>::new(),
        "the payload outlived nsinit"
    );
}

#[test]
fn kill_child_reaches_the_payload_of_init_without_a_pid_namespace() {
    // fork() clears the parent-death signal: --init's payload kept none.
    for (who, ns) in [(As::Root, "-u"), (As::Nobody, "-r")] {
        assert_eq!(
            payload_outlives_nsinit(who, &["--kill-child", "--init", ns]),
            Vec::<String>::new(),
            "{who:?}: the payload outlived nsinit"
        );
    }
}

#[test]
fn kill_child_term_needs_init_in_a_pid_namespace() {
    // PID 1 of a pid namespace ignores a TERM it has no handler for (and a
    // payload cannot know it must have one): refused.
    for (who, flags) in [(As::Root, &["-p"][..]), (As::Nobody, &["-r", "-p"][..])] {
        let mut args = vec!["--kill-child=TERM"];
        args.extend(flags);
        args.extend(["--", "/bin/sh", "-c", "exit 0"]);
        let o = run(who, &args);
        assert_eq!(
            (stderr(&o).as_str(), o.status.code()),
            (
                "nsinit: option --kill-child=TERM: a pid namespace's PID 1 ignores it: \
                 use KILL or --init; see nsinit --help\n",
                Some(125)
            ),
            "{who:?} {args:?}"
        );
    }
    // With --init the payload is not PID 1, and TERM reaches it.
    let dir = TempDir::new("kcterm", 0o777);
    for (who, user) in [(As::Root, "-u"), (As::Nobody, "-r")] {
        let mark = dir.path(&format!("mark-{who:?}"));
        let script = format!(
            "trap 'echo term > {mark}; exit 0' TERM; echo ready; \
             while :; do sleep 10 & wait $!; done"
        );
        let args = [
            "--kill-child=TERM",
            "-p",
            "--init",
            user,
            "--",
            "/bin/sh",
            "-c",
            &script,
        ];
        assert_eq!(
            survivors_of_nsinit_death(who, &args),
            Vec::<String>::new(),
            "{who:?}"
        );
        assert_eq!(
            std::fs::read_to_string(&mark).ok().as_deref(),
            Some("term\n"),
            "{who:?}: TERM did not reach the payload"
        );
    }
}

// --- 9: a container's PID 1 without a usable /proc ------------------------------

#[test]
fn container_init_without_proc_does_not_reboot() {
    // /proc covered by an empty tmpfs: nsinit cannot read its pid
    // namespace, and must not take itself for a VM's init (reboot(),
    // which in a pid namespace kills it with SIGINT: status 130).
    let script = format!(
        "mount -t tmpfs none /proc; exec {} -- sh -c 'exit 3'",
        nsinit()
    );
    for who in [As::Root, As::Nobody] {
        let o = output(&mut command(
            who,
            "unshare",
            &["-U", "-r", "-p", "-f", "-m", "sh", "-c", &script],
        ));
        let err = stderr(&o);
        assert_eq!(
            (o.status.code(), stdout(&o).as_str()),
            (Some(3), ""),
            "{who:?}: unshare {:?}: {err}",
            o.status
        );
        // Nothing of a VM's init: no console, no shutdown.
        assert!(
            !err.contains("powering off") && !err.contains("TIOCSCTTY"),
            "{who:?}: {err}"
        );
    }
}

// --- 12: fds 0-2 closed at start ---------------------------------------------------

#[test]
fn closed_stdio_becomes_dev_null() {
    let dir = TempDir::new("stdio", 0o777);
    for who in [As::Root, As::Nobody] {
        for closed in [&[1, 2][..], &[0, 1, 2][..]] {
            let file = dir.path(&format!("fds-{who:?}-{}", closed.len()));
            // The shell's own fds ($$, from a subshell that has them too).
            let script = format!(
                "fds=$(readlink /proc/$$/fd/0 /proc/$$/fd/1 /proc/$$/fd/2 2>&1); \
                 echo \"$fds\" > {file}; id -u >> {file}"
            );
            let mut c = command(who, nsinit(), &["-v", "-r", "--", "/bin/sh", "-c", &script]);
            let fds = closed.to_vec();
            // SAFETY: close(2) is async-signal-safe.
            unsafe {
                c.pre_exec(move || {
                    for &fd in &fds {
                        libc::close(fd);
                    }
                    Ok(())
                });
            }
            let o = output(&mut c);
            assert_eq!(
                (
                    std::fs::read_to_string(&file).unwrap_or_default(),
                    o.status.code()
                ),
                ("/dev/null\n/dev/null\n/dev/null\n0\n".to_string(), Some(0)),
                "{who:?} closed {closed:?}: nsinit {:?}",
                o.status
            );
        }
    }
}

// --- 13a: a large inherited environment -------------------------------------------

#[test]
fn a_large_environment_passes_through_env_options() {
    let inherited: Vec<(String, String)> = (0..3000)
        .map(|i| (format!("V{i}"), format!("value-{i}")))
        .chain([("PATH".to_string(), "/usr/bin:/bin".to_string())])
        .collect();
    let lines = |skip: &str, extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = inherited
            .iter()
            .filter(|(k, _)| k != skip)
            .map(|(k, v)| format!("{k}={v}"))
            .chain(extra.iter().map(|s| s.to_string()))
            .collect();
        v.sort();
        v
    };
    for who in [As::Root, As::Nobody] {
        for (flags, want) in [
            (&["--setenv", "A", "B"][..], lines("", &["A=B"])),
            (&["--unsetenv", "V17"][..], lines("V17", &[])),
        ] {
            let mut args = flags.to_vec();
            if who == As::Nobody {
                args.push("-r");
            }
            args.extend(["--", "/usr/bin/env"]);
            let mut c = command(who, nsinit(), &args);
            c.env_clear().envs(inherited.iter().map(|(k, v)| (k, v)));
            let o = output(&mut c);
            assert_eq!(
                (stderr(&o).as_str(), o.status.code()),
                ("", Some(0)),
                "{who:?} {flags:?}"
            );
            let out = stdout(&o);
            let mut got: Vec<String> = out.lines().map(str::to_string).collect();
            got.sort();
            assert_eq!(got.len(), want.len(), "{who:?} {flags:?}");
            assert!(got == want, "{who:?} {flags:?}: the environment differs");
        }
    }
}

// --- 13b: the defaults file at its limit ----------------------------------------

/// `/bin/sh -c 'exit 7'`, one argument per line, padded with comment lines
/// to exactly `len` bytes.
fn defaults_text(len: usize) -> String {
    let mut text = String::from("/bin/sh\n-c\nexit 7\n");
    while text.len() < len {
        let room = len - text.len();
        text.push_str(&"#".repeat(room.min(80) - 1));
        text.push('\n');
    }
    assert_eq!(text.len(), len);
    text
}

/// nsinit as PID 1 of a container (util-linux unshare's pid namespace) with
/// no arguments, so it reads /etc/nsinit/args: a tmpfs over /etc in the
/// container's own mount namespace holds it (the host's /etc is untouched).
fn defaults_file_run(src: &Path) -> std::process::Output {
    let script = format!(
        "mount -t tmpfs none /etc && mkdir /etc/nsinit && cp {} /etc/nsinit/args && exec {}",
        src.display(),
        nsinit()
    );
    output(&mut command(
        As::Root,
        "unshare",
        &["-m", "-p", "-f", "--mount-proc", "/bin/sh", "-c", &script],
    ))
}

#[test]
fn defaults_file_of_4095_bytes_is_read() {
    assert!(
        !Path::new("/etc/nsinit").exists(),
        "the host has /etc/nsinit"
    );
    let dir = TempDir::new("defaults", 0o755);
    for (len, want) in [
        // The control: under the limit.
        (4094, (Some(7), "")),
        (4095, (Some(7), "")),
        (
            4096,
            (
                Some(125),
                "nsinit: read /etc/nsinit/args: longer than 4095 bytes\n",
            ),
        ),
    ] {
        let src = dir.0.join(format!("args-{len}"));
        std::fs::write(&src, defaults_text(len)).unwrap();
        let o = defaults_file_run(&src);
        assert_eq!(
            (o.status.code(), stderr(&o).as_str()),
            want,
            "a {len}-byte defaults file"
        );
        assert_eq!(stdout(&o), "");
    }
    assert!(
        !Path::new("/etc/nsinit").exists(),
        "left in the host's /etc"
    );
}

// --- 13f: clone3 refused by seccomp ------------------------------------------------

#[test]
fn clone3_refused_with_eperm_falls_back_to_clone() {
    let seccomp = helper("proc_seccomp_exec");
    for (who, flags) in [
        (As::Root, &["-m", "-u"][..]),
        (As::Nobody, &["-r", "-m", "-u"][..]),
    ] {
        let mut args = vec![nsinit()];
        args.extend(flags);
        args.extend(["--hostname=h", "--", "/bin/sh", "-c", "hostname; exit 4"]);
        let o = output(&mut command(who, &seccomp, &args));
        assert_eq!(
            (stdout(&o).as_str(), o.status.code()),
            ("h\n", Some(4)),
            "{who:?}: {}",
            stderr(&o)
        );
    }
}

/// Ranges on one side only, as root: the other side would stay root's own
/// kernel id (with its file access) in a payload that looks like nobody.
/// Refused before anything runs. (Found by the review after the fixes.)
#[test]
fn ranges_on_one_side_only_are_refused_as_root() {
    for (args, want) in [
        (
            &["--map-groups=0:100000:65536", "-p", "true"][..],
            "nsinit: check uid map: none beside --map-groups, so root's uid 0 would stay, \
             unmapped; add --map-users\n",
        ),
        (
            &["--map-users=0:100000:65536", "-p", "true"],
            "nsinit: check gid map: none beside --map-users, so root's gid 0 would stay, \
             unmapped; add --map-groups\n",
        ),
    ] {
        let o = run(As::Root, args);
        assert_eq!(
            (o.status.code(), stdout(&o), stderr(&o)),
            (Some(125), String::new(), want.to_string()),
            "{args:?}"
        );
    }
}
