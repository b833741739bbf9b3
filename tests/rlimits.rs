//! `--rlimit` on the real kernel: the limits the program (and what it
//! execs) runs with, as root and as uid 65534, and the one-line refusals.

mod common;

use common::*;

/// The soft and hard values of one row of `/proc/self/limits` text
/// ("Max open files  64  64  files").
fn row(limits: &str, name: &str) -> (String, String) {
    let line = limits
        .lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("no {name:?} in {limits:?}"));
    let values: Vec<&str> = line[name.len()..].split_whitespace().collect();
    (values[0].to_string(), values[1].to_string())
}

/// This test process's own limits: what nsinit inherits (setpriv keeps
/// them).
fn own(name: &str) -> (String, String) {
    row(&std::fs::read_to_string("/proc/self/limits").unwrap(), name)
}

fn own_nofile() -> (u64, u64) {
    let (soft, hard) = own("Max open files");
    (soft.parse().unwrap(), hard.parse().unwrap())
}

/// The payload prints its limits (the file a child of its reads: the
/// limits passed on through fork and exec) and what its own shell says.
const SHOW: &str = "cat /proc/self/limits; echo \"ulimit: $(ulimit -Sn) $(ulimit -Hn)\"";

fn limits_in_payload(who: As, flags: &[&str]) -> String {
    let mut args = flags.to_vec();
    args.extend(["--", "sh", "-c", SHOW]);
    ok(who, &args)
}

fn nofile(out: &str) -> (String, String) {
    row(out, "Max open files")
}

fn ulimit(out: &str) -> String {
    let line = out.lines().find(|l| l.starts_with("ulimit: ")).unwrap();
    line["ulimit: ".len()..].to_string()
}

fn pair(soft: &str, hard: &str) -> (String, String) {
    (soft.to_string(), hard.to_string())
}

#[test]
fn nofile_64_is_in_proc_self_limits_and_in_the_payloads_shell() {
    for who in [As::Root, As::Nobody] {
        for extra in [&[][..], &["-r", "-p"], &["--init"]] {
            let mut flags = vec!["--rlimit", "NOFILE=64"];
            flags.extend(extra);
            let out = limits_in_payload(who, &flags);
            assert_eq!(nofile(&out), pair("64", "64"), "{who:?} {flags:?}");
            assert_eq!(ulimit(&out), "64 64", "{who:?} {flags:?}");
        }
    }
}

#[test]
fn soft_only_and_hard_only_keep_the_other_limit() {
    let (soft, hard) = own_nofile();
    assert!(soft >= 64, "this test needs a soft NOFILE of 64 or more");
    let hard_text = hard.to_string();
    for who in [As::Root, As::Nobody] {
        let out = limits_in_payload(who, &["--rlimit=nofile=32:"]);
        assert_eq!(nofile(&out), pair("32", &hard_text), "{who:?}");
        // The hard limit down to the soft one, which stays.
        let arg = format!("--rlimit=NOFILE=:{soft}");
        let out = limits_in_payload(who, &["-r", &arg]);
        assert_eq!(nofile(&out), pair(&soft.to_string(), &soft.to_string()));
        // Given again, each later limit replaces the earlier one.
        let out = limits_in_payload(who, &["--rlimit", "NOFILE=10:40", "--rlimit", "NOFILE=20:"]);
        assert_eq!(nofile(&out), pair("20", "40"), "{who:?}");
        assert_eq!(ulimit(&out), "20 40", "{who:?}");
    }
}

#[test]
fn unlimited_is_rlim_infinity() {
    // A resource whose hard limit is unlimited here (CPU time nearly
    // everywhere): its soft limit may go up to it, as any user.
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    // Only limits a shell still runs under at 5 (not DATA or AS, in bytes).
    let rows = [
        ("Max cpu time", "CPU"),
        ("Max core file size", "CORE"),
        ("Max realtime timeout", "RTTIME"),
    ];
    let (row_name, name) = rows
        .iter()
        .find(|(r, _)| row(&limits, r).1 == "unlimited")
        .expect("no resource with an unlimited hard limit here");
    for who in [As::Root, As::Nobody] {
        let lower = format!("--rlimit={name}=1000");
        let up = format!("--rlimit={name}=unlimited:");
        let out = limits_in_payload(who, &[&lower, "--rlimit", &format!("{name}=5:")]);
        assert_eq!(row(&out, row_name), pair("5", "1000"), "{who:?}");
        let out = limits_in_payload(who, &[&up]);
        assert_eq!(
            row(&out, row_name),
            pair("unlimited", "unlimited"),
            "{who:?}"
        );
        let out = limits_in_payload(who, &[&format!("--rlimit={name}=7:infinity")]);
        assert_eq!(row(&out, row_name), pair("7", "unlimited"), "{who:?}");
    }
}

#[test]
fn raising_the_hard_limit_without_cap_sys_resource_is_refused() {
    let (_, hard) = own_nofile();
    let arg = format!("--rlimit=NOFILE=:{}", hard + 1);
    let line = "nsinit: setrlimit NOFILE: Operation not permitted (EPERM); raising a hard \
                limit needs CAP_SYS_RESOURCE outside any user namespace, and NOFILE's stays \
                within fs.nr_open";
    refused(As::Nobody, &[&arg], line);
    // Root in a new user namespace has no CAP_SYS_RESOURCE where it counts.
    refused(As::Root, &["-r", &arg], line);
    refused(As::Nobody, &["-r", &arg], line);
    // A soft limit above the inherited hard one: the kernel's EINVAL.
    let arg = format!("--rlimit=NOFILE={}:", hard + 1);
    let line = "nsinit: setrlimit NOFILE: Invalid argument (EINVAL); the soft limit would be \
                above the hard limit";
    refused(As::Nobody, &[&arg], line);
}

#[test]
fn bad_rlimits_are_usage_errors() {
    for (arg, reason) in [
        ("--rlimit=FILES=64", "unknown resource"),
        (
            "--rlimit=NOFILE=100:50",
            "the soft limit is above the hard limit",
        ),
        ("--rlimit=NOFILE", "expected NAME=SOFT[:HARD]"),
        (
            "--rlimit=NOFILE=18446744073709551616",
            "expected limits below 2^64, or unlimited",
        ),
    ] {
        let line = format!("nsinit: option {arg}: {reason}; see nsinit --help");
        refused(As::Nobody, &[arg], &line);
    }
}

/// A process of uid 65534, killed when dropped.
struct Sleeper(std::process::Child);

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Sleeper {
    fn start() -> Sleeper {
        let sleeper = Sleeper(command(As::Nobody, "sleep", &["60"]).spawn().unwrap());
        let status = format!("/proc/{}/status", sleeper.0.id());
        let uids = format!("Uid:\t{NOBODY}\t{NOBODY}\t{NOBODY}\t{NOBODY}");
        let is_nobody = || {
            let text = std::fs::read_to_string(&status).unwrap_or_default();
            text.lines().any(|l| l == uids)
        };
        // setpriv changes its uid after the spawn returns.
        for _ in 0..500 {
            if is_nobody() {
                return sleeper;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("setpriv never became uid {NOBODY}");
    }
}

/// The limits are set before the uid changes: the kernel weighs NPROC
/// against the new uid at that change, and execve then fails with EAGAIN.
/// Set after it, the payload would run.
#[test]
fn nproc_is_weighed_at_the_uid_change() {
    // A process of uid 65534 for as long as the run: over NPROC=0.
    let sleeper = Sleeper::start();
    let o = run(
        As::Root,
        &["--uid=65534", "--rlimit=NPROC=0", "--", "/bin/true"],
    );
    drop(sleeper);
    assert_eq!(
        (o.status.code(), stderr(&o)),
        (
            Some(126),
            "nsinit: exec /bin/true: Resource temporarily unavailable (EAGAIN)\n".to_string()
        )
    );
    // Without the limit the same run works.
    ok(As::Root, &["--uid=65534", "--", "/bin/true"]);
}

/// With NOFILE, the inherited fds are marked close-on-exec while setup
/// still needs the go pipe (`--kill-child` reads it to see that nsinit is
/// alive): marked, never closed.
#[test]
fn nofile_with_kill_child_keeps_the_go_pipe() {
    for who in [As::Root, As::Nobody] {
        let out = ok(
            who,
            &[
                "--kill-child",
                "--rlimit=NOFILE=64",
                "--",
                "sh",
                "-c",
                "echo ran",
            ],
        );
        assert_eq!(out, "ran\n", "{who:?}");
    }
}
