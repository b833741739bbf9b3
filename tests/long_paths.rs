//! Paths at the kernel's limit (PATH_MAX, 4096 bytes with the NUL) at every
//! place nsinit builds or passes one: each gives one clear line naming the
//! step, and never runs on with a shortened path.

mod common;
use common::*;

/// A path of `len` bytes: components of 200 'a's (NAME_MAX is 255).
fn long_path(len: usize) -> String {
    let mut p = String::new();
    while p.len() < len {
        p.push('/');
        p.extend(std::iter::repeat_n('a', (len - p.len()).min(200)));
    }
    p
}

/// A long path as a failure's line shows it: its start, "...", its end,
/// `max` bytes in all.
fn short(path: &str, max: usize) -> String {
    if path.len() <= max {
        return path.into();
    }
    let half = (max - 3) / 2;
    format!("{}...{}", &path[..half], &path[path.len() - half..])
}

/// The one line a failure prints.
fn line(step: &str, object: &str, reason: &str) -> String {
    format!("nsinit: {step} {}: {reason}\n", short(object, 256))
}

const TOO_LONG: &str = "File name too long (ENAMETOOLONG)";

#[test]
fn a_4096_byte_path_is_one_clear_error_everywhere() {
    let p = long_path(4096);
    let s = short(&p, 120);
    let cases: Vec<(Vec<&str>, String)> = vec![
        (vec!["--tmpfs", &p], format!("--tmpfs {s}")),
        (vec!["--dev", &p], format!("--dev {s}")),
        (vec!["--bind", "/tmp", &p], format!("--bind /tmp {s}")),
        (vec!["--bind", &p, "/x"], format!("--bind {s} /x")),
        (vec!["--symlink", "x", &p], format!("--symlink x {s}")),
        (vec!["-R", &p], format!("--root {s}")),
    ];
    let mut bad = Vec::new();
    for (args, object) in cases {
        let mut a = args.clone();
        a.extend(["/bin/true"]);
        let o = run(As::Root, &a);
        let want = line("mount", &object, TOO_LONG);
        if (o.status.code(), stderr(&o)) != (Some(125), want.clone()) {
            bad.push(format!(
                "{:?}: {:?} {:?}\n  want {want:?}",
                &args[..1],
                o.status.code(),
                stderr(&o)
            ));
        }
    }
    // Past the new root: the working directory and a fresh /proc.
    let o = run(As::Root, &["-m", "--wd", &p, "/bin/true"]);
    if (o.status.code(), stderr(&o)) != (Some(125), line("chdir", &p, TOO_LONG)) {
        bad.push(format!("--wd: {:?} {:?}", o.status.code(), stderr(&o)));
    }
    let proc_at = format!("--mount-proc={p}");
    let o = run(As::Root, &["-pf", &proc_at, "/bin/true"]);
    if (o.status.code(), stderr(&o)) != (Some(125), line("mount proc", &p, TOO_LONG)) {
        bad.push(format!(
            "--mount-proc: {:?} {:?}",
            o.status.code(),
            stderr(&o)
        ));
    }
    // The payload itself: 126, as a shell gives for a name it cannot run.
    let o = run(As::Root, &["--", &p]);
    if (o.status.code(), stderr(&o)) != (Some(126), line("exec", &p, TOO_LONG)) {
        bad.push(format!("payload: {:?} {:?}", o.status.code(), stderr(&o)));
    }
    assert!(bad.is_empty(), "\n{}", bad.join("\n"));
}

#[test]
fn a_4095_byte_destination_is_within_the_limit() {
    // One byte less fits: the mount happens, inside the scratch root.
    let p = long_path(4095);
    let parent = &p[..p.len() - 10];
    let mut args = USR_SANDBOX.to_vec();
    args.extend(["--tmpfs", &p, "/bin/busybox", "test", "-d", &p]);
    let o = run(As::Root, &args);
    assert_eq!((o.status.code(), stderr(&o)), (Some(0), String::new()));
    // Not in the caller's tree.
    assert!(!std::path::Path::new(parent).exists());
}

#[test]
fn path_search_skips_a_too_long_entry_and_goes_on() {
    // execvp's rule: a PATH entry that makes too long a name is skipped,
    // never shortened into another directory.
    let dir = long_path(4090);
    let path = format!("{dir}:/bin");
    let mut c = command(As::Root, nsinit(), &["busybox", "echo", "found"]);
    c.env("PATH", &path);
    let o = output(&mut c);
    assert_eq!((o.status.code(), stdout(&o)), (Some(0), "found\n".into()));
    let mut c = command(As::Root, nsinit(), &["busybox", "true"]);
    c.env("PATH", &dir);
    let o = output(&mut c);
    assert_eq!(
        (o.status.code(), stderr(&o)),
        (
            Some(127),
            "nsinit: exec busybox: No such file or directory (ENOENT)\n".into()
        )
    );
}
