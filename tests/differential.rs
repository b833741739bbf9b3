//! util-linux unshare(1) as the oracle: the same flags must give the same
//! uid_map, gid_map, setgroups, ids, hostname, pid and the same set of new
//! namespaces, as root and as uid 65534. unshare runs with --fork so that,
//! like nsinit, the payload is the pid namespace's PID 1.

mod common;

use common::*;

fn unshare(who: As, flags: &[&str]) -> std::collections::BTreeMap<String, String> {
    let mut args = vec!["--fork"];
    args.extend(flags);
    args.extend(["--", "/bin/sh", "-c", PROBE]);
    let o = command(who, "unshare", &args).output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "unshare {flags:?} as {who:?}: {}",
        stderr(&o)
    );
    probe_state(&stdout(&o))
}

/// Flag sets both tools accept; each runs as root, and as uid 65534 when it
/// creates a user namespace.
const COMBINATIONS: &[&[&str]] = &[
    &["-u"],
    &["-i", "-n"],
    &["-p"],
    &["-m", "-u", "-i", "-n", "-p"],
    &["-C"],
    &["-T"],
    &["-U"],
    &["-U", "-r"],
    &["-r"],
    &["-c"],
    &["-U", "-p", "-m", "-u", "-i", "-n"],
    &["-r", "-p", "-m", "-u", "-i", "-n", "-C", "-T"],
    &["-Urpf"],
    &["--map-user=1234", "--map-group=5678"],
    &["--map-user=0", "-p"],
    &["-U", "--map-user=0", "--setgroups=deny"],
    &["-U", "--map-user=0", "--setgroups=allow"],
    &["-r", "-p", "--mount-proc"],
    &["-r", "-m", "--propagation=slave"],
    &["-c", "-n", "-i"],
];

#[test]
fn same_observed_state_as_unshare() {
    let mut compared = 0;
    for flags in COMBINATIONS {
        let needs_root = !flags.iter().any(|f| {
            matches!(*f, "-U" | "-r" | "-c" | "-Urpf")
                || f.starts_with("--map-user")
                || f.starts_with("--map-group")
        });
        let users: &[As] = if needs_root {
            &[As::Root]
        } else {
            &[As::Root, As::Nobody]
        };
        for &who in users {
            let ours = probe(who, flags);
            let theirs = unshare(who, flags);
            assert_eq!(ours, theirs, "flags {flags:?} as {who:?}");
            compared += 1;
        }
    }
    assert!(compared >= 30, "{compared}");
}

#[test]
fn both_refuse_namespaces_without_privilege() {
    for flags in [&["-u"][..], &["-n", "-i"], &["-p", "-m"]] {
        let ours = run(As::Nobody, &[flags, &["true"]].concat());
        let mut args = vec!["--fork"];
        args.extend(flags);
        args.push("true");
        let theirs = command(As::Nobody, "unshare", &args).output().unwrap();
        assert_eq!(ours.status.code(), Some(125), "{flags:?}");
        assert_ne!(theirs.status.code(), Some(0), "{flags:?}");
        assert!(
            stderr(&theirs).contains("Operation not permitted"),
            "{}",
            stderr(&theirs)
        );
        assert!(
            stderr(&ours).contains("Operation not permitted (EPERM)"),
            "{}",
            stderr(&ours)
        );
    }
}

#[test]
fn time_offsets_agree_with_unshare() {
    let script = "cut -d' ' -f1 /proc/uptime";
    let ours = ok(
        As::Nobody,
        &["-r", "-T", "--boottime=500000", "/bin/sh", "-c", script],
    );
    let o = command(
        As::Nobody,
        "unshare",
        &[
            "--fork",
            "-r",
            "-T",
            "--boottime=500000",
            "/bin/sh",
            "-c",
            script,
        ],
    )
    .output()
    .unwrap();
    let (a, b): (f64, f64) = (
        ours.trim().parse().unwrap(),
        stdout(&o).trim().parse().unwrap(),
    );
    assert!(a >= 500000.0 && (a - b).abs() < 30.0, "{a} vs {b}");
}
