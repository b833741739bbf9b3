//! Capabilities and seccomp on the real kernel: the five capability sets
//! the payload shows in /proc/self/status, against bubblewrap and
//! unshare where they have the same options; the seccomp filters played
//! against by a static helper (`sys_call`) that makes raw system calls,
//! i386 and x32 ones too; and the one-line refusals.

mod common;

use common::*;
use std::process::Command;

/// The payload's view: the five sets, no_new_privs and seccomp mode.
const STATUS: &[&str] = &[
    "grep",
    "-E",
    "^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):",
    "/proc/self/status",
];

/// The sets as (inheritable, permitted, effective, bounding, ambient) and
/// the two flags, from STATUS's output.
fn sets(out: &str) -> ([u64; 5], String) {
    let field = |name: &str| {
        let line = out
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} in {out:?}"));
        line[name.len()..].trim().to_string()
    };
    let cap = |name| u64::from_str_radix(&field(name), 16).unwrap();
    let caps = ["CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:"].map(cap);
    (
        caps,
        format!("nnp {} seccomp {}", field("NoNewPrivs:"), field("Seccomp:")),
    )
}

/// Every capability a user namespace's root holds on this kernel.
fn full_set() -> u64 {
    let last: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    (1u64 << (last + 1)) - 1
}

/// What root outside any user namespace holds here: the test's own set
/// (a container may have left some out of its bounding set).
fn host_root_set() -> u64 {
    let own = std::fs::read_to_string("/proc/self/status").unwrap();
    sets(&(own + "NoNewPrivs: 0\nSeccomp: 0\n")).0[1]
}

fn peer(who: As, program: &str, args: &[&str]) -> String {
    let mut all = args.to_vec();
    all.push("--");
    all.extend(STATUS);
    let o = output(&mut command(who, program, &all));
    assert_eq!(
        o.status.code(),
        Some(0),
        "{program} {args:?} as {who:?}: {}",
        stderr(&o)
    );
    stdout(&o)
}

const NBS: u64 = 1 << 10;

/// Who runs nsinit, its options, the sets expected, and a peer with the
/// same behaviour and its options.
type Case = (
    As,
    Vec<String>,
    [u64; 5],
    Option<(&'static str, Vec<String>)>,
);

#[test]
fn capability_sets_as_bubblewrap_and_unshare_give_them() {
    let (ns, host) = (full_set(), host_root_set());
    let nbs_only = ["--cap-drop", "ALL", "--cap-add", "CAP_NET_BIND_SERVICE"];
    let uid1000 = ["--map-user", "1000", "--map-group", "1000"];
    let bwrap_uid1000 = [
        "--unshare-user",
        "--uid",
        "1000",
        "--gid",
        "1000",
        "--dev-bind",
        "/",
        "/",
    ];
    let bwrap_root = ["--unshare-user", "--uid", "0", "--dev-bind", "/", "/"];
    let sandbox: Vec<&str> = ["-r"].iter().chain(USR_SANDBOX).copied().collect();
    let bwrap_sandbox: Vec<&str> = ["--unshare-user", "--unshare-pid", "--uid", "0"]
        .iter()
        .chain(USR_SANDBOX)
        .copied()
        .collect();
    let cat = |a: &[&str], b: &[&str]| -> Vec<String> {
        a.iter().chain(b).map(|s| s.to_string()).collect()
    };
    let cases: Vec<Case> = vec![
        // unshare-style: the kernel decides.
        (
            As::Root,
            vec![],
            [0, host, host, host, 0],
            Some(("unshare", vec![])),
        ),
        (
            As::Root,
            cat(&["-r"], &[]),
            [0, ns, ns, ns, 0],
            Some(("unshare", cat(&["-r"], &[]))),
        ),
        (
            As::Nobody,
            cat(&["-r"], &[]),
            [0, ns, ns, ns, 0],
            Some(("unshare", cat(&["-r"], &[]))),
        ),
        (
            As::Root,
            cat(&["--uid", "1000"], &[]),
            [0, 0, 0, host, 0],
            None,
        ),
        (As::Nobody, cat(&uid1000, &[]), [0, 0, 0, ns, 0], None),
        (
            As::Root,
            cat(
                &[
                    "--map-users=0:0:2000",
                    "--map-groups=0:0:2000",
                    "--uid=1000",
                ],
                &[],
            ),
            [0, 0, 0, ns, 0],
            None,
        ),
        // --cap-add/--cap-drop: all five sets, as bubblewrap's.
        (As::Root, cat(&nbs_only, &[]), [NBS; 5], None),
        // Through a switch away from uid 0, which empties the permitted set
        // unless told to keep it.
        (As::Root, cat(&["--uid=1000"], &nbs_only), [NBS; 5], None),
        // Another uid inside starts from none; root inside from its set,
        // which an add of one it holds leaves whole.
        (
            As::Root,
            cat(&["--uid=1000", "--cap-add=net_bind_service"], &[]),
            [NBS; 5],
            None,
        ),
        (
            As::Nobody,
            cat(&["-r", "--cap-add=chown"], &[]),
            [ns; 5],
            None,
        ),
        (
            As::Root,
            cat(
                &[
                    "--map-users=0:0:2000",
                    "--map-groups=0:0:2000",
                    "--uid=1000",
                ],
                &nbs_only,
            ),
            [NBS; 5],
            Some(("bwrap", cat(&bwrap_uid1000, &nbs_only))),
        ),
        (
            As::Root,
            cat(&["-r"], &nbs_only),
            [NBS; 5],
            Some(("bwrap", cat(&bwrap_root, &nbs_only))),
        ),
        (
            As::Nobody,
            cat(&["-r"], &nbs_only),
            [NBS; 5],
            Some(("bwrap", cat(&bwrap_root, &nbs_only))),
        ),
        (
            As::Root,
            cat(&uid1000, &nbs_only),
            [NBS; 5],
            Some(("bwrap", cat(&bwrap_uid1000, &nbs_only))),
        ),
        (
            As::Nobody,
            cat(&uid1000, &nbs_only),
            [NBS; 5],
            Some(("bwrap", cat(&bwrap_uid1000, &nbs_only))),
        ),
        (
            As::Nobody,
            cat(&["-r", "--cap-add", "ALL", "--cap-drop", "chown"], &[]),
            [ns & !1; 5],
            Some((
                "bwrap",
                cat(
                    &bwrap_root,
                    &["--cap-add", "ALL", "--cap-drop", "CAP_CHOWN"],
                ),
            )),
        ),
        (
            As::Root,
            cat(&["--cap-drop", "Cap_Chown"], &[]),
            [host & !1; 5],
            None,
        ),
        // A bubblewrap-style sandbox: none, unless added.
        (
            As::Nobody,
            cat(&sandbox, &[]),
            [0; 5],
            Some(("bwrap", cat(&bwrap_sandbox, &[]))),
        ),
        (As::Root, cat(&sandbox, &[]), [0; 5], None),
        (
            As::Nobody,
            cat(&sandbox, &["--cap-add", "CAP_NET_BIND_SERVICE"]),
            [NBS; 5],
            Some((
                "bwrap",
                cat(&bwrap_sandbox, &["--cap-add", "CAP_NET_BIND_SERVICE"]),
            )),
        ),
    ];
    for (who, args, want, peer_run) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut all = args.clone();
        all.push("--");
        all.extend(STATUS);
        let (got, flags) = sets(&ok(who, &all));
        assert_eq!(
            (got, flags.as_str()),
            (want, "nnp 1 seccomp 0"),
            "nsinit {args:?} as {who:?}"
        );
        if let Some((program, peer_args)) = peer_run {
            let peer_args: Vec<&str> = peer_args.iter().map(String::as_str).collect();
            let (theirs, _) = sets(&peer(who, program, &peer_args));
            assert_eq!(theirs, want, "{program} {peer_args:?} as {who:?}");
        }
    }
}

#[test]
fn a_capability_not_held_is_refused_not_ignored() {
    let hint = "not held by nsinit in the payload's user namespace; \
                root in a new user namespace (-r) holds every one";
    refused(
        As::Nobody,
        &["--cap-add", "net_raw"],
        &format!("nsinit: --cap-add net_raw: {hint}"),
    );
    refused(
        As::Nobody,
        &[
            "--cap-drop",
            "ALL",
            "--cap-add",
            "CAP_SYS_ADMIN",
            "--cap-add=chown",
        ],
        &format!("nsinit: --cap-add chown: {hint}"),
    );
    // In a user namespace of its own, root holds every one.
    let out = ok(
        As::Nobody,
        &[
            "-r",
            "--cap-drop=ALL",
            "--cap-add=sys_resource",
            "--",
            STATUS[0],
            STATUS[1],
            STATUS[2],
            STATUS[3],
        ],
    );
    assert_eq!(sets(&out).0, [1 << 24; 5]);
}

fn sys_call(who: As, flags: &[&str], calls: &[&str]) -> (Option<i32>, String) {
    let helper = helper("sys_call");
    let mut args = flags.to_vec();
    args.push("--");
    args.push(&helper);
    args.extend(calls);
    let o = run(who, &args);
    assert_eq!(stderr(&o), "", "{args:?} as {who:?}");
    (o.status.code(), stdout(&o))
}

/// "CALL ERRNO" lines, as sys_call prints them.
fn results(pairs: &[(&str, i32)]) -> String {
    pairs
        .iter()
        .map(|(call, e)| format!("{call} {e}\n"))
        .collect()
}

#[test]
fn denied_calls_fail_with_the_chosen_errno_and_others_work() {
    // getpid (39), getgid (104) and getuid (102) work without a filter.
    for who in [As::Root, As::Nobody] {
        let free = sys_call(who, &[], &["39", "104", "102"]);
        assert_eq!(
            free,
            (Some(0), results(&[("39", 0), ("104", 0), ("102", 0)]))
        );
        let denied = sys_call(
            who,
            &["--seccomp-deny=39,ptrace", "--seccomp-deny", "104"],
            &["39", "104", "101", "102"],
        );
        assert_eq!(
            denied,
            (
                Some(0),
                results(&[("39", 1), ("104", 1), ("101", 1), ("102", 0)])
            )
        );
        let enosys = sys_call(
            who,
            &["--seccomp-deny=39", "--seccomp-errno=ENOSYS"],
            &["39", "102"],
        );
        assert_eq!(enosys, (Some(0), results(&[("39", 38), ("102", 0)])));
        let numbered = sys_call(who, &["--seccomp-deny=39", "--seccomp-errno=4095"], &["39"]);
        assert_eq!(numbered, (Some(0), results(&[("39", 4095)])));
    }
    // The filter is the payload's, after no_new_privs: Seccomp 2.
    let mut args = vec!["--seccomp-deny=ptrace", "--"];
    args.extend(STATUS);
    assert_eq!(sets(&ok(As::Nobody, &args)).1, "nnp 1 seccomp 2");
    // Under --init only the payload runs under it: the inner nsinit reaps
    // and reports as before.
    let init = sys_call(
        As::Root,
        &["-p", "--init", "--seccomp-deny=39"],
        &["39", "102"],
    );
    assert_eq!(init, (Some(0), results(&[("39", 1), ("102", 0)])));
}

#[test]
fn the_default_list_stops_kernel_wide_calls_while_a_shell_works() {
    // keyctl, bpf, init_module, kexec_load, add_key, perf_event_open,
    // userfaultfd, open_by_handle_at: as root without the filter the
    // kernel answers something other than EPERM (the all-zero arguments
    // are wrong, or the call is compiled out); with it, EPERM.
    let calls = ["250", "321", "175", "246", "248", "298", "323", "304"];
    let (status, free) = sys_call(As::Root, &[], &calls);
    assert_eq!(status, Some(0));
    for line in free.lines() {
        assert!(!line.ends_with(" 1"), "EPERM without a filter: {free}");
    }
    let denied: Vec<(&str, i32)> = calls.iter().map(|&c| (c, 1)).collect();
    assert_eq!(
        sys_call(As::Root, &["--seccomp-default"], &calls),
        (Some(0), results(&denied))
    );
    assert_eq!(
        sys_call(
            As::Nobody,
            &["-r", "--seccomp-default", "--seccomp-errno=ENOSYS"],
            &calls[..2]
        ),
        (Some(0), results(&[("250", 38), ("321", 38)]))
    );
    // A busybox shell session: pipes, forks, files, signals, job waits.
    let script = "echo hello | busybox tr a-z A-Z; busybox mkdir /tmp/d && echo x > /tmp/d/f && \
                  busybox cat /tmp/d/f; busybox sleep 0.01 & wait $!; echo status $?; \
                  kill -0 $$ && busybox id -u; busybox grep -c ^Seccomp:.2 /proc/self/status";
    for who in [As::Root, As::Nobody] {
        let mut args = vec!["-r", "--seccomp-default", "--cap-drop=ALL"];
        args.extend(USR_SANDBOX);
        args.extend(["--tmpfs", "/tmp", "--", "busybox", "sh", "-c", script]);
        assert_eq!(ok(who, &args), "HELLO\nx\nstatus 0\n0\n1\n", "as {who:?}");
    }
}

#[test]
fn other_system_call_tables_are_killed() {
    // Without a filter, i386's getpid (20, through int 0x80) works and the
    // x32 getpid answers (0, or ENOSYS where x32 is compiled out).
    let (status, free) = sys_call(As::Root, &[], &["i386:20", "x32:39"]);
    assert_eq!(status, Some(0));
    assert!(free.starts_with("i386:20 0\nx32:39 "), "{free}");
    // Killed with SIGSYS (128 + 31), before the call prints anything.
    for who in [As::Root, As::Nobody] {
        for call in ["i386:20", "x32:39", "x32:512"] {
            let flags = ["--seccomp-deny=ptrace"];
            assert_eq!(
                sys_call(who, &flags, &["39", call]),
                (Some(159), results(&[("39", 0)])),
                "{call}"
            );
        }
        let default = sys_call(who, &["--seccomp-default"], &["i386:20"]);
        assert_eq!(default, (Some(159), String::new()));
    }
}

/// nsinit with fd 3 open on `file` (or on nothing), through a shell.
fn with_fd3(
    who: As,
    file: Option<&str>,
    flags: &str,
    calls: &str,
) -> (Option<i32>, String, String) {
    // No file: fd 3 closed, whatever the test runner left open there.
    let redirect = file.map_or("3<&-".to_string(), |f| format!("3<{f}"));
    let script = format!(
        "exec {} {flags} -- {} {calls} {redirect}",
        nsinit(),
        helper("sys_call")
    );
    let o = output(&mut command(who, "sh", &["-c", &script]));
    (o.status.code(), stdout(&o), stderr(&o))
}

fn write_file(name: &str, bytes: &[u8]) -> String {
    let path = test_dir().join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn a_filter_compiled_elsewhere_loads_from_an_fd() {
    let filter = Command::new(helper("sys_call"))
        .args(["--filter", "42", "63"])
        .output()
        .unwrap();
    assert_eq!(filter.stdout.len(), 9 * 8);
    let file = write_file("uname-42.bpf", &filter.stdout);
    for who in [As::Root, As::Nobody] {
        let (status, out, err) = with_fd3(who, Some(&file), "--seccomp-fd=3", "63 39");
        assert_eq!(
            (status, out.as_str(), err.as_str()),
            (Some(0), "63 42\n39 0\n", ""),
            "{who:?}"
        );
        // Stacked with a deny list: each filter answers for its own calls.
        let (status, out, _) = with_fd3(
            who,
            Some(&file),
            "--seccomp-fd 3 --seccomp-deny 39",
            "63 39 102",
        );
        assert_eq!(
            (status, out.as_str()),
            (Some(0), "63 42\n39 1\n102 0\n"),
            "{who:?}"
        );
    }
}

#[test]
fn a_filter_that_arrives_in_pieces_is_read_whole() {
    // Through a pipe, in two writes 0.3 s apart: the first read gets 40
    // bytes of 72, and the reading must go on to end of file.
    let filter = Command::new(helper("sys_call"))
        .args(["--filter", "42", "63"])
        .output()
        .unwrap();
    let file = write_file("uname-42-pieces.bpf", &filter.stdout);
    let script = format!(
        "{{ head -c 40 {file}; sleep 0.3; tail -c +41 {file}; }} | \
         {{ exec {} --seccomp-fd=3 -- {} 63 39 3<&0 </dev/null; }}",
        nsinit(),
        helper("sys_call")
    );
    let o = output(&mut command(As::Root, "sh", &["-c", &script]));
    assert_eq!(
        (o.status.code(), stdout(&o).as_str(), stderr(&o).as_str()),
        (Some(0), "63 42\n39 0\n", "")
    );
}

/// A valid classic-BPF program of `n` instructions: loads, then ALLOW.
fn long_filter(n: usize) -> Vec<u8> {
    let insn = |code: u16, k: u32| [&code.to_le_bytes()[..], &[0, 0], &k.to_le_bytes()].concat();
    let mut prog: Vec<u8> = (1..n).flat_map(|_| insn(0x20, 0)).collect();
    prog.extend(insn(0x06, 0x7fff_0000));
    prog
}

#[test]
fn a_filter_of_the_kernels_largest_size_loads() {
    // BPF_MAXINSNS is 4096: exactly that many is a filter, one more is not.
    let file = write_file("longest.bpf", &long_filter(4096));
    let (status, out, err) = with_fd3(As::Root, Some(&file), "--seccomp-fd=3", "39");
    assert_eq!(
        (status, out.as_str(), err.as_str()),
        (Some(0), "39 0\n", "")
    );
}

#[test]
fn bad_filters_are_refused_in_one_line() {
    let odd = write_file("odd.bpf", b"1234567");
    let empty = write_file("empty.bpf", b"");
    let zeros = write_file("zeros.bpf", &[0; 16]);
    let long = write_file("long.bpf", &vec![0; 4097 * 8]);
    let cases = [
        (Some(odd.as_str()), "read --seccomp-fd: the filter is not a whole number of 8-byte instructions"),
        (Some(empty.as_str()), "read --seccomp-fd: the filter is empty"),
        (None, "read --seccomp-fd: Bad file descriptor (EBADF)"),
        (Some(long.as_str()), "read --seccomp-fd: the filter has more than 4096 instructions (BPF_MAXINSNS)"),
        (
            Some(zeros.as_str()),
            "seccomp --seccomp-fd: Invalid argument (EINVAL); not a valid classic BPF program for seccomp",
        ),
    ];
    for who in [As::Root, As::Nobody] {
        for (file, line) in cases {
            let got = with_fd3(who, file, "--seccomp-fd=3", "39");
            assert_eq!(
                got,
                (Some(125), String::new(), format!("nsinit: {line}\n")),
                "{file:?} as {who:?}"
            );
        }
    }
    // Without no_new_privs only CAP_SYS_ADMIN may load a filter.
    refused(
        As::Nobody,
        &["--allow-new-privs", "--seccomp-deny=ptrace"],
        "nsinit: seccomp --seccomp-deny: Permission denied (EACCES); a filter needs no_new_privs \
         (leave out --allow-new-privs) or CAP_SYS_ADMIN",
    );
}

/// The nsinit that stays beside the payload, as the payload sees it in
/// /proc/1/status: `--init` with -p, and a container's PID 1.
fn pid1_status(wrap: &[&str], flags: &[&str]) -> ([u64; 5], String) {
    let mut words: Vec<&str> = wrap.to_vec();
    words.push(nsinit());
    words.extend(flags);
    words.extend(["--", "grep", "-E", STATUS[2], "/proc/1/status"]);
    let o = output(&mut command(As::Root, words[0], &words[1..]));
    assert_eq!(o.status.code(), Some(0), "{words:?}: {}", stderr(&o));
    sets(&stdout(&o))
}

#[test]
fn the_nsinit_beside_the_payload_holds_only_cap_kill_and_its_filters() {
    // A root payload that may ptrace it would otherwise make it run, with
    // every capability, the calls the payload's own filter denies.
    let kill = 1 << 5;
    let beside = [kill; 5];
    let container = ["unshare", "-p", "-f", "--mount-proc"];
    for (wrap, flags) in [
        (
            &[][..],
            &["-p", "--mount-proc", "--init", "--seccomp-deny=syslog"][..],
        ),
        (&[], &["-p", "--mount-proc", "--init"]),
        (&container[..], &["--seccomp-default"]),
        (&container, &[]),
    ] {
        let (caps, state) = pid1_status(wrap, flags);
        let filtered = flags.iter().any(|f| f.starts_with("--seccomp"));
        let want = if filtered {
            "nnp 1 seccomp 2"
        } else {
            "nnp 1 seccomp 0"
        };
        assert_eq!((caps, state.as_str()), (beside, want), "{wrap:?} {flags:?}");
    }
    // And it still does its job: signals to the payload, its status back.
    let o = run(
        As::Root,
        &[
            "-p",
            "--init",
            "--seccomp-default",
            "--",
            "sh",
            "-c",
            "exit 7",
        ],
    );
    assert_eq!(o.status.code(), Some(7));
}

#[test]
fn a_caller_without_capabilities_can_drop_them() {
    // Without CAP_SETPCAP the bounding set cannot shrink; under
    // no_new_privs it gives nothing at exec either, so it stays.
    let bounding = host_root_set();
    let mut args = vec!["--cap-drop", "ALL", "--"];
    args.extend(STATUS);
    assert_eq!(sets(&ok(As::Nobody, &args)).0, [0, 0, 0, bounding, 0]);
    // Unless setuid files may raise what is left (--allow-new-privs): then
    // the bounding set must go, and without CAP_SETPCAP it cannot.
    refused(
        As::Nobody,
        &["--allow-new-privs", "--cap-drop", "ALL"],
        "nsinit: prctl PR_CAPBSET_DROP: Operation not permitted (EPERM)",
    );
    // --cap-add ALL undoes the drops before it, as bubblewrap's does.
    let ns = full_set();
    let mut args = vec!["-r", "--cap-drop", "chown", "--cap-add", "ALL", "--"];
    args.extend(STATUS);
    assert_eq!(sets(&ok(As::Nobody, &args)).0, [ns; 5]);
    let bwrap = ["--unshare-user", "--uid", "0", "--dev-bind", "/", "/"];
    let bwrap_args = [&bwrap[..], &["--cap-drop", "CAP_CHOWN", "--cap-add", "ALL"]].concat();
    assert_eq!(sets(&peer(As::Nobody, "bwrap", &bwrap_args)).0, [ns; 5]);
}

#[test]
fn a_filter_that_denies_exiting_or_a_tracer_s_no_call_is_survived() {
    // exit_group denied: nsinit's own exit still ends it, with its status.
    let o = run(As::Root, &["--seccomp-deny=231", "--", "/nonexistent"]);
    assert_eq!(o.status.code(), Some(127));
    assert_eq!(
        stderr(&o),
        "nsinit: exec /nonexistent: No such file or directory (ENOENT)\n"
    );
    // -1, the number a tracer sets to skip a call, gets the kernel's ENOSYS.
    for flags in [&["--seccomp-deny=39"][..], &["--seccomp-default"]] {
        assert_eq!(
            sys_call(As::Root, flags, &["-1", "39"]).1.lines().next(),
            Some("-1 38")
        );
    }
}
