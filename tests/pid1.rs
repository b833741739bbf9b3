//! nsinit as a reaper on the host: `--init`, and PID 1 of a pid namespace
//! that is not the kernel's first (a container's init, as with
//! `podman run --init`), where it must act as tini, not as a VM's init.

mod common;

use common::*;
use std::os::unix::process::CommandExt;

/// Counts zombies among the pid namespace's processes after 50 orphans
/// ended: it waits (10 s at most) until none of them runs and none is left
/// a zombie, by condition rather than for a fixed time; unreaped, they stay
/// zombies and the count shows them.
const ORPHANS: &str = "for i in $(seq 50); do (sleep 0.1 &); done; \
    zombies() { grep -l '^State:.Z' /proc/[0-9]*/status 2>/dev/null | wc -l; }; \
    running() { for f in /proc/[0-9]*/status; do \
        grep -q '^Name:.sleep' $f 2>/dev/null && ! grep -q '^State:.Z' $f 2>/dev/null && echo; \
    done | wc -l; }; \
    i=0; while [ $i -lt 200 ] && { [ $(running) -gt 0 ] || [ $(zombies) -gt 0 ]; }; do \
        sleep 0.05; i=$((i+1)); done; \
    echo pid $$ zombies $(zombies)";

#[test]
fn init_reaps_orphans_in_its_pid_namespace() {
    let script = format!("{ORPHANS}; exit 3");
    let o = run(
        As::Nobody,
        &[
            "--init",
            "-r",
            "-p",
            "--mount-proc",
            "/bin/sh",
            "-c",
            &script,
        ],
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    // nsinit is PID 1 (the payload is 2): the 50 orphans came to it.
    assert_eq!(stdout(&o), "pid 2 zombies 0\n");
}

#[test]
fn init_forwards_signals_and_passes_statuses() {
    let o = run(
        As::Root,
        &["--init", "-p", "/bin/sh", "-c", "kill -TERM $$"],
    );
    assert_eq!(o.status.code(), Some(143));
    let out = ok(
        As::Nobody,
        &[
            "--init",
            "-r",
            "-p",
            "--mount-proc",
            "/bin/sh",
            "-c",
            "cat /proc/1/cmdline | tr '\\0' ' '; echo",
        ],
    );
    assert!(
        out.starts_with("/tmp/nsinit-test-") && out.contains("/nsinit --init -r -p"),
        "{out}"
    );
}

/// nsinit as PID 1 of a fresh pid namespace made by util-linux unshare.
fn as_container_init(args: &[&str]) -> std::process::Output {
    let mut a = vec!["--fork", "--pid", "--mount-proc", nsinit()];
    a.extend(args);
    command(As::Root, "unshare", &a).output().unwrap()
}

#[test]
fn container_init_is_tini_not_a_vm() {
    let o = as_container_init(&[
        "--debug",
        "--",
        "/bin/sh",
        "-c",
        &format!("{ORPHANS}; exit 42"),
    ]);
    assert_eq!(o.status.code(), Some(42), "{}", stderr(&o));
    assert_eq!(stdout(&o), "pid 2 zombies 0\n");
    let err = stderr(&o);
    // The timeline starts before the options are parsed: a boot that
    // fails in them still shows how far it got.
    let first = err.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("nsinit: [") && first.ends_with("us] init "),
        "{err}"
    );
    assert!(err.contains("] pid 1 of a container"), "{err}");
    // No early mounts, no console, no shutdown line.
    assert!(
        !err.contains("mounted") && !err.contains("powering off"),
        "{err}"
    );
    let o = as_container_init(&["/nonexistent"]);
    assert_eq!(o.status.code(), Some(127));
    let o = as_container_init(&["--bogus"]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        stderr(&o),
        "nsinit: option --bogus: unknown option; see nsinit --help\n"
    );
}

/// PID 1 blocks every signal it takes with sigwaitinfo, but never the
/// synchronous faults (signals.rs, SYNC_FAULTS): with one blocked, the
/// kernel resets a fault of nsinit's own to the default action, past the
/// crash handler's line and 125. The payload reads PID 1's blocked set
/// while PID 1 waits.
#[test]
fn container_init_never_blocks_the_synchronous_faults() {
    let o = as_container_init(&["--", "/bin/sh", "-c", "grep ^SigBlk: /proc/1/status"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let hex = out
        .trim()
        .strip_prefix("SigBlk:")
        .unwrap_or_else(|| panic!("{out}"));
    let blocked = u64::from_str_radix(hex.trim(), 16).unwrap();
    // ILL TRAP ABRT BUS FPE SEGV SYS: bit N-1 for signal N.
    let faults: u64 = [4, 5, 6, 7, 8, 11, 31].iter().map(|n| 1 << (n - 1)).sum();
    assert_eq!(blocked & faults, 0, "SigBlk {blocked:#x}");
}

/// nsinit completes a closed stdin, stdout or stderr with /dev/null before
/// it makes any fd (or its error lines would go into a pipe of its own).
/// Where that fails, as without /dev/null, a command exits 125 at once
/// with one line (on fd 2, where that is open); PID 1 goes on (a VM's
/// takes the console later, and a container's has nothing better to do
/// than run its payload).
#[test]
fn stdio_without_dev_null() {
    let run_with_closed_stdin = |flags: &[&str]| {
        let script = format!(
            "mount -t tmpfs none /dev && exec {} -- /bin/true <&-",
            nsinit()
        );
        let mut args = flags.to_vec();
        args.extend(["sh", "-c", &script]);
        let o = command(As::Root, "unshare", &args).output().unwrap();
        (o.status.code(), stderr(&o))
    };
    assert_eq!(
        run_with_closed_stdin(&["-m"]),
        (
            Some(125),
            "nsinit: open /dev/null: No such file or directory (ENOENT); \
             stdin, stdout or stderr is closed and cannot be filled\n"
                .to_string()
        )
    );
    assert_eq!(
        run_with_closed_stdin(&["-m", "-p", "-f"]),
        (Some(0), String::new())
    );
}

/// `--init` without a pid namespace is not PID 1, so orphans come to it
/// only as a child subreaper: an orphaned grandchild's parent is the
/// `--init` process, the payload's own parent.
#[test]
fn init_without_a_pid_namespace_is_a_subreaper() {
    let script = r#"p=$(sh -c 'sleep 2 >/dev/null 2>&1 & echo $!'); grep ^PPid: /proc/$p/status; echo "PPid:	$PPID"; kill $p"#;
    let o = run(As::Root, &["--init", "--", "/bin/sh", "-c", script]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert_eq!(
        lines[0], lines[1],
        "the orphan's parent, then the payload's"
    );
}

#[test]
fn own_session_payload_is_still_waited_for() {
    // The payload leaves our process group: waitpid(0) would never see it.
    let o = run(
        As::Root,
        &[
            "--new-session",
            "-u",
            "/bin/sh",
            "-c",
            "ps -o sid= -p $$ | tr -d ' '; echo $$; exit 5",
        ],
    );
    assert_eq!(o.status.code(), Some(5));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], lines[1], "the payload leads its own session");
}

#[test]
fn an_ignored_sigchld_does_not_hang_nsinit() {
    let mut c = command(As::Root, nsinit(), &["-u", "/bin/sh", "-c", "exit 6"]);
    // SAFETY: signal() is async-signal-safe.
    unsafe {
        c.pre_exec(|| {
            libc::signal(libc::SIGCHLD, libc::SIG_IGN);
            Ok(())
        });
    }
    let mut child = c.spawn().unwrap();
    for _ in 0..100 {
        if let Some(status) = child.try_wait().unwrap() {
            assert_eq!(status.code(), Some(6));
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().unwrap();
    panic!("nsinit hung with SIGCHLD ignored");
}

// --- A real container engine ------------------------------------------------

/// A root directory for `podman run --rootfs`: busybox and a few applets
/// (no image: nothing is pulled from a registry). In the test directory,
/// which goes when the test process exits.
fn podman_rootfs() -> std::path::PathBuf {
    let dir = test_dir().join("podman-root");
    if !dir.exists() {
        for sub in ["bin", "proc", "dev", "sys", "etc"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        std::fs::copy("/bin/busybox", dir.join("bin/busybox")).unwrap();
        for applet in ["sh", "cat", "tr", "grep", "wc", "seq", "sleep"] {
            let _ = std::os::unix::fs::symlink("busybox", dir.join("bin").join(applet));
        }
    }
    dir
}

/// `podman run` with nsinit as the container's init (`--init-path`), which
/// podman starts as `/run/podman-init -- PROGRAM ARGS`.
fn podman(args: &[&str]) -> std::process::Command {
    let mut c = std::process::Command::new("podman");
    // runc, cgroupfs and explicit limits: what works on this host (its
    // cgroups are v1/hybrid, its hard limits below podman's defaults).
    c.args(["--runtime", "runc", "--cgroup-manager=cgroupfs"])
        .args(args)
        .stdin(std::process::Stdio::null());
    c
}

fn podman_run(name: &str, detach: bool, script: &str) -> std::process::Output {
    let root = podman_rootfs();
    let mut args = vec![
        "run",
        "--name",
        name,
        "--ulimit",
        "nofile=1024:1024",
        "--ulimit",
        "nproc=4096:4096",
        "--init",
        "--init-path",
        nsinit(),
    ];
    if detach {
        args.push("-d");
    }
    // --rootfs takes the image's place: the command follows it.
    args.extend(["--rootfs", root.to_str().unwrap(), "/bin/sh", "-c", script]);
    podman(&args).output().unwrap()
}

#[test]
fn podman_init_reaps_and_passes_the_status() {
    let name = format!("nsinit-test-status-{}", std::process::id());
    let o = podman_run(
        &name,
        false,
        &format!("cat /proc/1/cmdline | tr '\\0' ' '; echo; {ORPHANS}; exit 7"),
    );
    let _ = podman(&["rm", "-f", &name]).output();
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("/run/podman-init -- /bin/sh -c "), "{out}");
    // The payload is not PID 1 (nsinit is), and the 50 orphans were reaped.
    assert!(
        out.ends_with(" zombies 0\n") && !out.contains("\npid 1 "),
        "{out}"
    );
}

#[test]
fn podman_stop_reaches_the_payload_through_nsinit() {
    let name = format!("nsinit-test-stop-{}", std::process::id());
    let script =
        "trap 'echo got TERM; exit 3' TERM; echo ready; while :; do sleep 10 & wait $!; done";
    let o = podman_run(&name, true, script);
    assert!(o.status.success(), "{}", stderr(&o));
    let logs = || stdout(&podman(&["logs", &name]).output().unwrap());
    for _ in 0..200 {
        if logs().contains("ready") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // podman stop sends SIGTERM to PID 1 (nsinit), which passes it on.
    let stop = podman(&["stop", "-t", "20", &name]).output().unwrap();
    assert!(stop.status.success(), "{}", stderr(&stop));
    let code = stdout(
        &podman(&["inspect", "--format", "{{.State.ExitCode}}", &name])
            .output()
            .unwrap(),
    );
    let all = logs();
    let _ = podman(&["rm", "-f", &name]).output();
    assert_eq!(all, "ready\ngot TERM\n");
    assert_eq!(code.trim(), "3");
}
