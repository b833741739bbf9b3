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
/// Removed when the test process exits (the harness calls exit(3), which
/// runs atexit handlers; a test binary has no other hook after its tests).
pub fn test_dir() -> PathBuf {
    static ONCE: std::sync::Once = std::sync::Once::new();
    let dir = PathBuf::from(format!("/tmp/nsinit-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    ONCE.call_once(|| {
        extern "C" fn remove_test_dir() {
            let dir = format!("/tmp/nsinit-test-{}", std::process::id());
            let _ = std::fs::remove_dir_all(dir);
        }
        // SAFETY: registers a plain function; atexit has no other contract.
        unsafe { libc::atexit(remove_test_dir) };
    });
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

/// The refusal of a run: status 125, this one line on stderr (`line`
/// without its newline), and no program run.
pub fn refused(who: As, args: &[&str], line: &str) {
    let mut all = args.to_vec();
    all.extend(["--", "sh", "-c", "echo ran"]);
    let o = run(who, &all);
    assert_eq!(
        (o.status.code(), stderr(&o), stdout(&o)),
        (Some(125), format!("{line}\n"), String::new()),
        "{all:?} as {who:?}"
    );
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
[ -r /proc/self/mountinfo ] && while IFS= read -r l; do echo "mountinfo: $l"; done < /proc/self/mountinfo
for ns in cgroup ipc mnt net pid pid_for_children time time_for_children user uts; do
  echo "ns $ns: $(readlink /proc/self/ns/$ns)"
done
"#;

/// Parses PROBE's output; namespace links become "new" or "same" against
/// this process's, and any pid other than 1 becomes "other". The
/// payload's mountinfo becomes one "mounts" entry, normalised against this
/// process's (see `normalise_mountinfo`).
pub fn probe_state(out: &str) -> BTreeMap<String, String> {
    let caller = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    probe_state_with(out, &own_namespaces(), &caller)
}

/// `probe_state` against a given caller: its namespace links and its
/// mountinfo.
pub fn probe_state_with(
    out: &str,
    own: &BTreeMap<String, String>,
    caller_mountinfo: &str,
) -> BTreeMap<String, String> {
    let mut mountinfo = String::new();
    let mut state: BTreeMap<String, String> = out
        .lines()
        .filter_map(|l| l.split_once(": "))
        .filter(|(k, v)| {
            if *k == "mountinfo" {
                mountinfo.push_str(v);
                mountinfo.push('\n');
            }
            *k != "mountinfo"
        })
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
        .collect();
    if !mountinfo.is_empty() {
        let mounts = normalise_mountinfo(&mountinfo, caller_mountinfo);
        state.insert("mounts".to_string(), mounts.join("\n"));
    }
    state
}

/// The peer groups (`shared:N`) in a mountinfo text.
fn peer_groups(mountinfo: &str) -> std::collections::BTreeSet<String> {
    mountinfo
        .split(' ')
        .filter_map(|t| t.strip_prefix("shared:"))
        .map(str::to_string)
        .collect()
}

/// mountinfo as two tools can be compared on it: one line per mount,
/// `<mount point> <fs type> <mount options> <super options> <propagation>`,
/// sorted (mount ids and order differ between tools). Peer-group numbers
/// become `caller` (a group of `caller`'s mountinfo: the mount still
/// receives, or sends, the caller's events) or `new`; a mount with no tag
/// is `private`.
pub fn normalise_mountinfo(mountinfo: &str, caller: &str) -> Vec<String> {
    let groups = peer_groups(caller);
    let mut lines: Vec<String> = mountinfo
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let dash = f.iter().position(|&x| x == "-").unwrap();
            let tags: Vec<String> = f[6..dash]
                .iter()
                .map(|t| match t.split_once(':') {
                    Some((kind @ ("shared" | "master"), n)) => {
                        let whose = if groups.contains(n) { "caller" } else { "new" };
                        format!("{kind}:{whose}")
                    }
                    _ => t.to_string(),
                })
                .collect();
            let propagation = if tags.is_empty() {
                "private".to_string()
            } else {
                tags.join(",")
            };
            let (fstype, super_options) = (f[dash + 1], f[dash + 3]);
            format!("{} {fstype} {} {super_options} {propagation}", f[4], f[5])
        })
        .collect();
    lines.sort();
    lines
}

/// Runs `program args...` as `who` inside a new private mount namespace
/// (made by root with util-linux unshare) whose `/` is then made rshared,
/// as systemd leaves a host: propagation can only be observed from a
/// shared caller. The host's mounts are not touched. Returns that
/// namespace's mountinfo before the run, the program's status, stdout and
/// stderr, and that namespace's mountinfo after the run.
pub fn run_in_shared_namespace(who: As, program: &str, args: &[&str]) -> SharedRun {
    let script = "mount --make-rshared / || exit 99; readlink /proc/self/ns/mnt; \
        cat /proc/self/mountinfo; echo @@; \"$@\"; echo \"@@ $?\"; cat /proc/self/mountinfo";
    let mut all = vec!["-m", "--propagation=private", "/bin/sh", "-c", script, "sh"];
    if who == As::Nobody {
        all.extend([
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
        ]);
    }
    all.push(program);
    all.extend(args);
    let o = output(&mut command(As::Root, "unshare", &all));
    let out = stdout(&o);
    let parts: Vec<&str> = out.splitn(3, "@@").collect();
    assert_eq!(
        (o.status.code(), parts.len()),
        (Some(0), 3),
        "unshare {all:?}: {out}{}",
        stderr(&o)
    );
    let (mnt_ns, before) = parts[0].split_once('\n').unwrap();
    assert!(before.contains(" shared:"), "/ not shared: {before}");
    // The program's own output ends in a newline, or is empty.
    let (status, after) = parts[2].split_once('\n').unwrap();
    SharedRun {
        mnt_ns: mnt_ns.to_string(),
        before: before.to_string(),
        status: status.trim().parse().ok(),
        stdout: parts[1].strip_prefix('\n').unwrap_or(parts[1]).to_string(),
        stderr: stderr(&o),
        after: after.to_string(),
    }
}

/// What `run_in_shared_namespace` saw.
#[derive(Clone, Debug)]
pub struct SharedRun {
    /// The shared namespace's own `mnt:[...]` link.
    pub mnt_ns: String,
    pub before: String,
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub after: String,
}

impl SharedRun {
    /// Mounts of the shared namespace after the run that were not there
    /// before.
    pub fn left(&self) -> Vec<String> {
        let before: Vec<&str> = self.before.lines().collect();
        self.after
            .lines()
            .filter(|l| !before.contains(l))
            .map(str::to_string)
            .collect()
    }

    /// PROBE's output parsed against the shared namespace (its mountinfo,
    /// and its mount namespace in place of this process's).
    pub fn probe_state(&self) -> BTreeMap<String, String> {
        let mut own = own_namespaces();
        own.insert("mnt".to_string(), self.mnt_ns.clone());
        probe_state_with(&self.stdout, &own, &self.before)
    }
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
