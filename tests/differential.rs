//! util-linux unshare(1) as the oracle: the same flags must give the same
//! uid_map, gid_map, setgroups, ids, hostname, pid, the same set of new
//! namespaces and the same mount table (mount points, types, options and
//! propagation), as root and as uid 65534. unshare runs with --fork so
//! that, like nsinit, the payload is the pid namespace's PID 1. Both run
//! in one private mount namespace whose / is rshared (as systemd leaves a
//! host), so that propagation shows, and both copy the same mounts.

mod common;

use common::*;
use std::collections::BTreeMap;

type State = BTreeMap<String, String>;

/// nsinit and `unshare --fork` with the same `flags`, each running PROBE,
/// one after the other in the same shared mount namespace.
fn ours_and_theirs(who: As, flags: &[&str]) -> (State, State) {
    // Other tests (podman's network namespaces) mount, unmount and remove
    // mount points on the host meanwhile, and what reaches the namespace
    // both runs share changes its table between them: a pair during which
    // that namespace's table changed is run again.
    for _ in 0..5 {
        if let Some(pair) = ours_and_theirs_once(who, flags) {
            return pair;
        }
    }
    panic!("{flags:?} as {who:?}: the shared namespace's mount table changed in each of 5 runs (or a run left mounts in it)");
}

fn ours_and_theirs_once(who: As, flags: &[&str]) -> Option<(State, State)> {
    let script = r#"n=$1; p=$2; shift 2
        "$n" "$@" -- /bin/sh -c "$p" || exit 98; echo %%
        unshare --fork "$@" -- /bin/sh -c "$p" || exit 97"#;
    let mut args = vec!["-c", script, "sh", nsinit(), PROBE];
    args.extend(flags);
    let run = run_in_shared_namespace(who, "/bin/sh", &args);
    assert_eq!(run.status, Some(0), "{flags:?} as {who:?}: {run:?}");
    let (ours, theirs) = run.stdout.split_once("%%\n").unwrap();
    let state = |out: &str| {
        SharedRun {
            stdout: out.to_string(),
            ..run.clone()
        }
        .probe_state()
    };
    (run.before == run.after).then(|| (state(ours), state(theirs)))
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
    // Where the mount tables differ: the default propagation, each value,
    // a fresh proc.
    &["-m"],
    &["-m", "--propagation=private"],
    &["-m", "--propagation=slave"],
    &["-m", "--propagation=shared"],
    &["-m", "--propagation=unchanged"],
    &["-p", "--mount-proc"],
    // Not with --propagation=slave or shared: unshare makes the covered
    // /proc private (MS_PRIVATE|MS_REC) before it mounts the new proc
    // there, nsinit leaves it as --propagation says (reported, not
    // compared).
    &["-r", "-m"],
    &["-r", "-m", "--propagation=private"],
    &["-r", "-m", "--propagation=shared"],
    &["-r", "-m", "--propagation=unchanged"],
];

fn users(flags: &[&str]) -> &'static [As] {
    let needs_root = !flags.iter().any(|f| {
        matches!(*f, "-U" | "-r" | "-c" | "-Urpf")
            || f.starts_with("--map-user")
            || f.starts_with("--map-group")
    });
    if needs_root {
        &[As::Root]
    } else {
        &[As::Root, As::Nobody]
    }
}

#[test]
fn same_observed_state_as_unshare() {
    let mut compared = 0;
    for flags in COMBINATIONS {
        for &who in users(flags) {
            let (ours, theirs) = ours_and_theirs(who, flags);
            assert!(
                ours.contains_key("mounts"),
                "{flags:?} as {who:?}: {ours:?}"
            );
            assert_eq!(ours, theirs, "flags {flags:?} as {who:?}");
            compared += 1;
        }
    }
    assert_eq!(compared, 48);
}

/// The normalised mountinfo line of `point`'s top mount.
fn mount_at<'a>(state: &'a State, point: &str) -> Vec<&'a str> {
    state["mounts"]
        .lines()
        .filter(|l| l.split(' ').next() == Some(point))
        .collect()
}

#[test]
fn propagation_of_root_inside_as_unshare_gives_it() {
    // The propagation column of / inside, against a caller whose / is
    // shared: a slave receives the caller's mounts (master:), a shared
    // mount also sends its own (shared:); in a new user namespace the
    // kernel turns what would be shared with a more privileged caller
    // into a slave (with a new peer group of its own for `shared`).
    let root = "/ ext4";
    let cases: &[(As, &[&str], &str)] = &[
        (As::Root, &["-m"], "private"),
        (As::Root, &["-m", "--propagation=private"], "private"),
        (As::Root, &["-m", "--propagation=slave"], "master:caller"),
        (As::Root, &["-m", "--propagation=shared"], "shared:caller"),
        (
            As::Root,
            &["-m", "--propagation=unchanged"],
            "shared:caller",
        ),
        (As::Nobody, &["-r", "-m"], "private"),
        (
            As::Nobody,
            &["-r", "-m", "--propagation=private"],
            "private",
        ),
        (
            As::Nobody,
            &["-r", "-m", "--propagation=slave"],
            "master:caller",
        ),
        (
            As::Nobody,
            &["-r", "-m", "--propagation=shared"],
            "shared:new,master:caller",
        ),
        (
            As::Nobody,
            &["-r", "-m", "--propagation=unchanged"],
            "master:caller",
        ),
    ];
    for (who, flags, want) in cases {
        let (ours, theirs) = ours_and_theirs(*who, flags);
        for (tool, state) in [("nsinit", &ours), ("unshare", &theirs)] {
            let lines = mount_at(state, "/");
            assert_eq!(lines.len(), 1, "{tool} {flags:?} as {who:?}: {lines:?}");
            assert!(
                lines[0].starts_with(root) && lines[0].ends_with(&format!(" {want}")),
                "{tool} {flags:?} as {who:?}: want / {want}, got {}",
                lines[0]
            );
        }
        // Every submount alike: the change is recursive.
        for line in ours["mounts"].lines() {
            assert!(
                line.ends_with(&format!(" {want}")),
                "{flags:?} as {who:?}: want {want}, got {line}"
            );
        }
    }
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
