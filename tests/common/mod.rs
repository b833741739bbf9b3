//! Helpers shared by the integration tests: they run the real nsinit binary
//! (the one `cargo test` just built with the same profile) on this kernel,
//! as root and as uid 65534 through setpriv.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

pub const NOBODY: u32 = 65534;

/// A sandbox built from the host's /usr, as bubblewrap's manual shows it.
pub const USR_SANDBOX: &[&str] = &[
    "--ro-bind",
    "/usr",
    "/usr",
    "--symlink",
    "usr/bin",
    "/bin",
    "--symlink",
    "usr/lib",
    "/lib",
    "--symlink",
    "usr/lib64",
    "/lib64",
    "--proc",
    "/proc",
    "--dev",
    "/dev",
];

/// A copy of the binary that uid 65534 can reach: CI may clone the project
/// under a directory only root can enter.
/// `NSINIT_BIN=path` runs the tests against another build (an older one,
/// to see that a new test fails on it).
pub fn nsinit() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = test_dir();
        let dst = dir.join("nsinit");
        let src = std::env::var("NSINIT_BIN").unwrap_or(env!("CARGO_BIN_EXE_nsinit").to_string());
        std::fs::copy(src, &dst).unwrap();
        std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(0o755)).unwrap();
        dst.to_str().unwrap().to_string()
    })
}

/// `/tmp/nsinit-test-<pid>`, readable by uid 65534: the binary's copy and
/// the static helpers live there.
pub fn test_dir() -> PathBuf {
    let dir = PathBuf::from(format!("/tmp/nsinit-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// A static helper built from `tests/helpers/<name>.c` (once per test
/// process): what a hostile payload does where a shell cannot (ptrace,
/// TIOCSTI, openat on a /proc magic link). Static, so it runs in any root.
pub fn helper(name: &str) -> String {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = LOCK.lock().unwrap();
    let out = test_dir().join(name);
    if !out.exists() {
        let src = format!("{}/tests/helpers/{name}.c", env!("CARGO_MANIFEST_DIR"));
        let tmp = out.with_extension("tmp");
        let status = Command::new("cc")
            .args(["-static", "-O2", "-Wall", "-o"])
            .arg(&tmp)
            .arg(&src)
            .status()
            .unwrap();
        assert!(status.success(), "cc {src}");
        std::fs::rename(&tmp, &out).unwrap();
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    out.to_str().unwrap().to_string()
}

/// Who runs the command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum As {
    Root,
    Nobody,
}

/// `program args...` as the given user, from `/`, with no stdin.
pub fn command(who: As, program: &str, args: &[&str]) -> Command {
    let mut c = match who {
        As::Root => Command::new(program),
        As::Nobody => {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
                .arg(program);
            c
        }
    };
    c.args(args).current_dir("/").stdin(Stdio::null());
    c
}

pub fn run(who: As, args: &[&str]) -> Output {
    output(&mut command(who, nsinit(), args))
}

/// Runs `c` to the end. Retries while the kernel says ETXTBSY: a thread
/// that forked while another was still writing nsinit's copy holds the
/// copy open for writing until its own exec.
pub fn output(c: &mut Command) -> Output {
    for _ in 0..100 {
        match c.output() {
            Err(e) if e.raw_os_error() == Some(26) => {
                std::thread::sleep(std::time::Duration::from_millis(10))
            }
            other => return other.unwrap(),
        }
    }
    panic!("{c:?}: text file busy for a second");
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs nsinit and insists it succeeded; returns its stdout.
pub fn ok(who: As, args: &[&str]) -> String {
    let o = run(who, args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "nsinit {args:?} as {who:?}: {}",
        stderr(&o)
    );
    stdout(&o)
}

pub const NAMESPACES: [&str; 10] = [
    "cgroup",
    "ipc",
    "mnt",
    "net",
    "pid",
    "pid_for_children",
    "time",
    "time_for_children",
    "user",
    "uts",
];

/// This test process's namespaces (setpriv does not change them).
pub fn own_namespaces() -> BTreeMap<String, String> {
    NAMESPACES
        .iter()
        .map(|ns| {
            let link = std::fs::read_link(format!("/proc/self/ns/{ns}")).unwrap();
            (ns.to_string(), link.to_string_lossy().into_owned())
        })
        .collect()
}

/// A shell script that prints the kernel state the tests compare, one
/// `key: value` per line. It runs as the payload itself (sh); its commands
/// read /proc/self, since /proc/$$ would be the host's PID 1 under -p
/// without --mount-proc, and a child of sh shares all its namespaces.
pub const PROBE: &str = r#"
for f in uid_map gid_map setgroups; do echo "$f: $(tr -s ' \n' '  ' < /proc/self/$f)"; done
echo "id: $(id)"
echo "hostname: $(cat /proc/sys/kernel/hostname)"
echo "pid: $$"
for ns in cgroup ipc mnt net pid pid_for_children time time_for_children user uts; do
  echo "ns $ns: $(readlink /proc/self/ns/$ns)"
done
"#;

/// Parses PROBE's output; namespace links become "new" or "same" against
/// this process's, and any pid other than 1 becomes "other".
pub fn probe_state(out: &str) -> BTreeMap<String, String> {
    let own = own_namespaces();
    out.lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| {
            let v = if let Some(ns) = k.strip_prefix("ns ") {
                if own[ns] == v { "same" } else { "new" }.to_string()
            } else if k == "pid" && v != "1" {
                "other".to_string()
            } else {
                v.trim().to_string()
            };
            (k.to_string(), v)
        })
        .collect()
}

/// The namespaces PROBE found new.
pub fn new_namespaces(state: &BTreeMap<String, String>) -> Vec<String> {
    state
        .iter()
        .filter(|(k, v)| k.starts_with("ns ") && *v == "new")
        .map(|(k, _)| k[3..].to_string())
        .collect()
}

/// nsinit with `flags`, running PROBE.
pub fn probe(who: As, flags: &[&str]) -> BTreeMap<String, String> {
    let mut args: Vec<&str> = flags.to_vec();
    args.extend(["--", "/bin/sh", "-c", PROBE]);
    probe_state(&ok(who, &args))
}

pub fn overflow_id(kind: &str) -> String {
    std::fs::read_to_string(format!("/proc/sys/kernel/overflow{kind}"))
        .unwrap()
        .trim()
        .to_string()
}
