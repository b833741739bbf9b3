//! nsinit as PID 1 of a real VM: Debian's cloud kernel under QEMU (TCG),
//! booting build/initramfs.cpio through image/qemu. Ignored by a plain
//! `cargo test`; `make qemu-test` (part of `make test`) builds the image and
//! runs them with `--ignored`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn top() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn qemu(args: &[&str]) -> Command {
    let mut c = Command::new(top().join("image/qemu"));
    c.args(args)
        .env("QEMU_TIMEOUT", "120")
        .env("QEMU_SHOW_EXIT", "1")
        .stdin(Stdio::null());
    c
}

/// Boots with `args` for nsinit; returns image/qemu's status and the console.
fn boot(args: &[&str]) -> (i32, String) {
    let (status, _, console) = boot_raw(args);
    (status, console)
}

/// Boots with `args`; returns image/qemu's status (nsinit's, from its last
/// console line), QEMU's own exit code (what nsinit wrote to isa-debug-exit)
/// and the console.
fn boot_raw(args: &[&str]) -> (i32, i32, String) {
    let o = qemu(args).output().unwrap();
    let console = String::from_utf8_lossy(&o.stdout).replace("\r\n", "\n");
    let (status, raw) = finish(
        o.status.code().unwrap(),
        &String::from_utf8_lossy(&o.stderr),
        &console,
    );
    (status, raw, console)
}

/// Checks one boot's outcome: no panic, no failure of image/qemu, and
/// QEMU's own exit code is (status << 1) | 1 in 8 bits, the status nsinit
/// wrote to isa-debug-exit. Returns the status and that exit code.
fn finish(status: i32, err: &str, console: &str) -> (i32, i32) {
    assert!(!console.contains("Kernel panic"), "{console}");
    assert!(
        !err.contains("timed out") && !err.contains("QEMU exited"),
        "{err}\n{console}"
    );
    let raw: i32 = err
        .lines()
        .find_map(|l| l.strip_prefix("image/qemu: QEMU exit code "))
        .unwrap_or_else(|| panic!("no QEMU exit code: {err}\n{console}"))
        .parse()
        .unwrap();
    assert_eq!(raw, ((status << 1) | 1) & 0xff, "{err}\n{console}");
    (status, raw)
}

fn last_line(console: &str) -> &str {
    console
        .lines()
        .rev()
        .find(|l| l.starts_with("nsinit: payload"))
        .unwrap_or("")
}

#[test]
#[ignore = "boots a VM: run by make qemu-test"]
fn exit_statuses_come_out_of_the_vm() {
    // QEMU exits with (value << 1) | 1 for what nsinit wrote to its
    // isa-debug-exit port, cut to 8 bits by the exit status.
    for (code, raw) in [(0, 1), (1, 3), (42, 85), (255, 255)] {
        let (status, qemu_code, console) = boot_raw(&["/bin/sh", "-c", &format!("exit {code}")]);
        assert_eq!((status, qemu_code), (code, raw), "{console}");
        assert_eq!(
            last_line(&console),
            format!("nsinit: payload exited with status {code}; powering off")
        );
    }
    for (sig, n, raw) in [("TERM", 15, 31), ("KILL", 9, 19)] {
        let (status, qemu_code, console) = boot_raw(&["/bin/sh", "-c", &format!("kill -{sig} $$")]);
        assert_eq!((status, qemu_code), (128 + n, raw), "{console}");
        assert_eq!(
            last_line(&console),
            format!(
                "nsinit: payload killed by SIG{sig}, status {}; powering off",
                128 + n
            )
        );
    }
}

#[test]
#[ignore = "boots a VM: run by make qemu-test"]
fn missing_payload_or_bad_options_give_a_clear_error() {
    let (status, qemu_code, console) = boot_raw(&["/nonexistent/payload"]);
    assert_eq!((status, qemu_code), (127, 255), "{console}");
    assert!(
        console.contains("nsinit: exec /nonexistent/payload: No such file or directory (ENOENT)\n"),
        "{console}"
    );
    assert_eq!(
        last_line(&console),
        "nsinit: payload exited with status 127; powering off"
    );
    // Bad options: one line, then the usual shutdown with 125.
    let (status, qemu_code, console) = boot_raw(&["--map-users=0:1", "/bin/true"]);
    assert_eq!((status, qemu_code), (125, 251), "{console}");
    assert!(
        console.contains(
            "nsinit: option --map-users=0:1: expected INNER:OUTER:COUNT; see nsinit --help\n"
        ),
        "{console}"
    );
    assert_eq!(
        last_line(&console),
        "nsinit: payload did not run, status 125; powering off"
    );
    // What parsed before the bad option still counts: a Firecracker guest
    // asked to reboot must not be left powered off.
    let (status, qemu_code, console) = boot_raw(&["--reboot", "--bogus"]);
    assert_eq!((status, qemu_code), (125, 251), "{console}");
    assert_eq!(
        last_line(&console),
        "nsinit: payload did not run, status 125; rebooting"
    );
}

#[test]
#[ignore = "boots a VM: run by make qemu-test"]
fn seed_steps_inside_the_vm() {
    let (status, console) = boot(&["/bin/sh", "/demo"]);
    assert_eq!(status, 0, "{console}");
    let sections: Vec<&str> = console.split("\n== ").skip(1).collect();
    assert_eq!(sections.len(), 4, "{console}");
    let new = |s: &str| -> Vec<String> {
        let mut v: Vec<String> = s
            .lines()
            .filter(|l| l.ends_with("<- new"))
            .map(|l| l.split_whitespace().next().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    // PID 1 is in the kernel's initial namespaces: user and pid have fixed
    // inodes there (PROC_USER_INIT_INO, PROC_PID_INIT_INO).
    assert!(
        sections[0].contains("user:[4026531837]") && sections[0].contains("pid:[4026531836]"),
        "{}",
        sections[0]
    );
    assert_eq!(new(sections[1]), ["uts"]);
    let six = ["ipc", "mnt", "net", "pid", "user", "uts"];
    assert_eq!(new(sections[2]), six);
    assert!(
        sections[2].contains("uid=65534(nobody) gid=65534(nogroup)"),
        "{}",
        sections[2]
    );
    assert_eq!(new(sections[3]), six);
    assert!(
        sections[3].contains("uid=0(root) gid=0(root)"),
        "{}",
        sections[3]
    );
    assert!(
        sections[3].contains("uid_map:  0 0 1   pid: 1"),
        "{}",
        sections[3]
    );
}

#[test]
#[ignore = "boots a VM: run by make qemu-test"]
fn payload_gets_the_requested_namespaces_and_maps() {
    // The VM's PID 1 is in the initial user namespace; the payload is not.
    let script = "readlink /proc/self/ns/user; readlink /proc/self/ns/pid; cat /proc/self/uid_map /proc/self/gid_map; id -u; echo $$; hostname";
    let (status, console) = boot(&[
        "--map-users=0:100000:65536",
        "--map-groups=0:100000:65536",
        "--map-user=70000",
        "-p",
        "-m",
        "-u",
        "--hostname=vm-box",
        "--mount-proc",
        "--",
        "/bin/sh",
        "-c",
        script,
    ]);
    assert_eq!(status, 0, "{console}");
    let lines: Vec<&str> = console
        .lines()
        .filter(|l| !l.starts_with("nsinit:"))
        .collect();
    let at = lines.iter().position(|l| l.starts_with("user:[")).unwrap();
    let out: Vec<String> = lines[at..]
        .iter()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_ne!(out[0], "user:[4026531837]");
    assert_ne!(out[1], "pid:[4026531836]");
    assert_eq!(
        out[2..8],
        [
            "70000 0 1",
            "0 100000 65536",
            "0 100000 65536",
            "70000",
            "1",
            "vm-box"
        ]
    );
}

#[test]
#[ignore = "boots a VM: run by make qemu-test"]
fn early_mounts_and_a_tty() {
    // No double quotes: the kernel command line cannot carry them. PID 1's
    // own mount table, as its payload (in no new namespace) reads it.
    let script = r#"echo BEGIN; cat /proc/1/mountinfo; echo END; [ -t 0 ] && echo 'stdin is a tty'; set -- $(cat /proc/$$/stat); echo session $6 tty_nr $7"#;
    let (status, console) = boot(&["/bin/sh", "-c", script]);
    assert_eq!(status, 0, "{console}");
    // Each mount from its root on: root, mount point, per-mount options,
    // propagation (none: private), "-", type, source, superblock options;
    // devtmpfs's size and inode count follow the VM's memory, left out.
    let mounts: Vec<String> = between_markers(&console)
        .iter()
        .map(|l| {
            l.split(' ')
                .skip(3)
                .map(|w| {
                    w.split(',')
                        .filter(|o| !o.starts_with("size=") && !o.starts_with("nr_inodes="))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert_eq!(
        mounts,
        [
            "/ / rw - rootfs rootfs rw,inode64",
            "/ /dev rw,nosuid,relatime - devtmpfs devtmpfs rw,mode=755,inode64",
            "/ /dev/pts rw,nosuid,noexec,relatime - devpts devpts rw,gid=5,mode=620,ptmxmode=666",
            "/ /dev/shm rw,nosuid,nodev,relatime - tmpfs tmpfs rw,inode64",
            "/ /proc rw,nosuid,nodev,noexec,relatime - proc proc rw",
            "/ /sys rw,nosuid,nodev,noexec,relatime - sysfs sysfs rw",
            "/ /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate",
            "/ /run rw,nosuid,nodev,relatime - tmpfs tmpfs rw,mode=755,inode64",
            "/ /tmp rw,nosuid,nodev,relatime - tmpfs tmpfs rw,inode64",
        ],
        "{console}"
    );
    assert!(console.contains("stdin is a tty\n"), "{console}");
    let line = console.lines().find(|l| l.starts_with("session ")).unwrap();
    let words: Vec<&str> = line.split(' ').collect();
    assert_ne!(words[1], "0", "own session: {line}");
    assert_ne!(words[3], "0", "a controlling tty: {line}");
}

#[test]
#[ignore = "boots a VM: run by make qemu-test"]
fn orphans_are_reaped_and_shutdown_completes() {
    // 100 zombies come to PID 1 at once, with one SIGCHLD: a shell makes
    // them and execs a sleep that never reaps them; when it ends, they are
    // reparented to PID 1 with it. The payload waits (10 s at most) until
    // PID 1 has no child but the payload, then reports what is left.
    // Then orphans still running at the end: a sleep that SIGTERM ends, and
    // a shell deaf to SIGTERM (and to the SIGHUP the session's end sends)
    // that writes a heartbeat to the console every 0.1 s until it dies.
    // One line: the kernel command line cannot carry a newline.
    let script = "(sh -c 'for i in $(seq 100); do sleep 0 & done; exec sleep 1' &); \
        n=0; until [ $(cat /proc/1/task/1/children) = $$ ] 2>/dev/null || [ $n = 100 ]; \
        do sleep 0.1; n=$((n+1)); done; \
        echo children of pid 1: $(cat /proc/1/task/1/children) payload: $$; \
        echo zombies: $(grep -l '^State:.Z' /proc/[0-9]*/status 2>/dev/null | wc -l); \
        (sleep 1000 &); \
        printf 'trap \\047\\047 TERM HUP; touch /tmp/deaf-ready; i=0; \
        while :; do i=$((i+1)); echo beat $i >/dev/console; sleep 0.1; done\\n' > /tmp/deaf; \
        (sh /tmp/deaf &); while [ ! -e /tmp/deaf-ready ]; do sleep 0.1; done; exit 0";
    let (status, console) = boot(&["--grace=3", "--debug", "/bin/sh", "-c", script]);
    assert_eq!(status, 0, "{console}");
    let line = console
        .lines()
        .find(|l| l.starts_with("children of pid 1: "))
        .expect(&console);
    let words: Vec<&str> = line.split(' ').skip(4).collect();
    let payload = words[words.len() - 1];
    assert_eq!(words, [payload, "payload:", payload], "{console}");
    assert!(console.lines().any(|l| l == "zombies: 0"), "{console}");
    // The deaf shell's heartbeat goes on through the grace period and
    // stops at the KILL: nothing after it but, at most, one beat written
    // in the microseconds between nsinit's line and its kill(-1).
    let lines: Vec<&str> = console.lines().collect();
    let at = |what: &str| {
        lines
            .iter()
            .position(|l| l.starts_with("nsinit: [") && l.contains(what))
            .expect(&console)
    };
    let (term, kill) = (
        at("] shutdown: SIGTERM to all"),
        at("] shutdown: SIGKILL to all"),
    );
    let beats = |from: usize, to: usize| {
        lines[from..to]
            .iter()
            .filter(|l| l.starts_with("beat "))
            .count()
    };
    assert!(
        beats(term, kill) >= 1,
        "the deaf shell beat on after SIGTERM: {console}"
    );
    assert!(
        beats(kill, lines.len()) <= 1,
        "the deaf shell's heartbeat stops at SIGKILL: {console}"
    );
    // --grace=3: the KILL comes three seconds after the TERM, not sooner.
    let micros = |i: usize| -> u64 {
        let rest = lines[i].strip_prefix("nsinit: [").unwrap();
        rest.split_once("us]").unwrap().0.parse().unwrap()
    };
    let grace = micros(kill) - micros(term);
    assert!(
        (3_000_000..5_000_000).contains(&grace),
        "{grace} µs between SIGTERM and SIGKILL: {console}"
    );
    assert_eq!(
        last_line(&console),
        "nsinit: payload exited with status 0; powering off"
    );
}

#[test]
#[ignore = "boots a VM: run by make qemu-test"]
fn init_reaps_orphans_inside_a_pid_namespace() {
    // As above: 50 zombies come to nsinit --init, PID 1 of the payload's
    // pid namespace, at once; the payload waits until they are gone.
    let script = "(sh -c 'for i in $(seq 50); do sleep 0 & done; exec sleep 1' &); \
        n=0; until [ $(cat /proc/1/task/1/children) = $$ ] 2>/dev/null || [ $n = 100 ]; \
        do sleep 0.1; n=$((n+1)); done; \
        echo children of pid 1: $(cat /proc/1/task/1/children); \
        echo pid $$ zombies: $(grep -l '^State:.Z' /proc/[0-9]*/status 2>/dev/null | wc -l); exit 9";
    let (status, console) = boot(&[
        "--init",
        "-r",
        "-p",
        "--mount-proc",
        "/bin/sh",
        "-c",
        script,
    ]);
    assert_eq!(status, 9, "{console}");
    // The payload is not PID 1: nsinit --init is, and it reaped them all.
    assert!(
        console.contains("children of pid 1: 2\npid 2 zombies: 0\n"),
        "{console}"
    );
}

#[test]
#[ignore = "boots a VM: run by make qemu-test"]
fn root_directory_inside_the_initramfs() {
    // pivot_root cannot move an initramfs root: nsinit falls back to MS_MOVE
    // and chroot and says so under --debug. The payload sees only /srv/root.
    let script = "ls /; ls /..; cat /etc/passwd | wc -l; wc -l < /proc/self/mountinfo; id -u";
    let (status, console) = boot(&[
        "--debug",
        "-r",
        "-p",
        "-R",
        "/srv/root",
        "--mount-proc",
        "/bin/sh",
        "-c",
        script,
    ]);
    assert_eq!(status, 0, "{console}");
    assert!(
        console
            .contains("] pivot_root refused (initramfs?): moved over / and chrooted /srv/root\n"),
        "{console}"
    );
    let out: Vec<&str> = console
        .lines()
        .filter(|l| !l.starts_with("nsinit:"))
        .collect();
    let at = out.iter().position(|l| l.starts_with("bin")).unwrap();
    let words: Vec<&str> = out[at..at + 5]
        .iter()
        .flat_map(|l| l.split_whitespace())
        .collect();
    assert_eq!(
        words,
        ["bin", "etc", "proc", "bin", "etc", "proc", "2", "2", "0"],
        "{console}"
    );
}

/// The payload's lines between its own BEGIN and END markers.
fn between_markers(console: &str) -> Vec<&str> {
    let lines: Vec<&str> = console.lines().collect();
    let begin = lines.iter().position(|l| *l == "BEGIN").expect(console);
    let end = lines.iter().position(|l| *l == "END").expect(console);
    lines[begin + 1..end].to_vec()
}

#[test]
#[ignore = "boots a VM: run by make qemu-test"]
fn root_directory_with_binds_inside_the_initramfs() {
    // /srv/root has only busybox, sh and a passwd; the binds bring in the
    // initramfs's /bin (every applet) and, read-only, its /etc.
    let script = "echo BEGIN; ls /; ls /..; ls /bin | wc -l; wc -l < /etc/group; \
        touch /etc/x 2>&1; awk '$5 !~ /^\\/proc\\// {print $5}' /proc/self/mountinfo; echo END";
    let (status, console) = boot(&[
        "-r",
        "-p",
        "-R",
        "/srv/root",
        "--ro-bind",
        "/bin",
        "/bin",
        "--ro-bind",
        "/etc",
        "/etc",
        "--tmpfs",
        "/tmp",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "/bin/sh",
        "-c",
        script,
    ]);
    assert_eq!(status, 0, "{console}");
    let out = between_markers(&console);
    let applets: usize = out[2].trim().parse().unwrap();
    assert!(applets > 100, "{console}");
    assert_eq!(
        out[0].split_whitespace().collect::<Vec<_>>(),
        ["bin", "dev", "etc", "proc", "tmp"]
    );
    assert_eq!(out[1], out[0], "/.. is / itself");
    assert_eq!(out[3].trim(), "3", "the initramfs's /etc/group");
    assert_eq!(out[4], "touch: /etc/x: Read-only file system");
    assert_eq!(
        out[5..],
        [
            "/",
            "/bin",
            "/etc",
            "/tmp",
            "/proc",
            "/dev",
            "/dev/null",
            "/dev/zero",
            "/dev/full",
            "/dev/random",
            "/dev/urandom",
            "/dev/tty",
            "/dev/pts"
        ],
        "{console}"
    );
}

#[test]
#[ignore = "boots a VM: run by make qemu-test"]
fn a_fresh_root_inside_the_initramfs() {
    let script = "echo BEGIN; ls /; ls /..; echo END";
    let (status, console) = boot(&[
        "--debug",
        "-r",
        "--ro-bind",
        "/bin",
        "/bin",
        "--proc",
        "/proc",
        "/bin/sh",
        "-c",
        script,
    ]);
    assert_eq!(status, 0, "{console}");
    assert!(
        console.contains("] pivot_root refused (initramfs?): moved over / and chrooted (tmpfs)\n"),
        "{console}"
    );
    assert_eq!(
        between_markers(&console),
        ["bin   proc", "bin   proc"],
        "{console}"
    );
}

#[test]
#[ignore = "boots a VM: run by make qemu-test"]
fn sigterm_to_pid1_shuts_down_gracefully() {
    // SIGTERM and SIGPWR to PID 1 start the shutdown (which TERMs the
    // payload), rather than being passed on to it.
    for sig in ["TERM", "PWR"] {
        let script = format!(
            "trap 'echo payload got TERM; exit 0' TERM; kill -{sig} 1; \
             while :; do sleep 10 & wait $!; done"
        );
        let (status, console) = boot(&["--debug", "/bin/sh", "-c", &script]);
        assert_eq!(status, 0, "{console}");
        assert!(
            console.contains(&format!("] stop on signal {sig}")),
            "{console}"
        );
        assert!(console.contains("payload got TERM\n"), "{console}");
        assert_eq!(
            last_line(&console),
            "nsinit: payload exited with status 0; powering off"
        );
    }
}

/// What the VM's PID 1 passes on to its payload: every signal but the
/// synchronous faults (ILL, TRAP, ABRT, BUS, FPE, SEGV, SYS), CHLD, KILL,
/// STOP, and INT, TERM and PWR, which start the shutdown. Less 32 and 33,
/// which glibc keeps for itself: busybox's shell cannot trap them.
const VM_FORWARDED: [&str; 49] = [
    "HUP", "QUIT", "USR1", "USR2", "PIPE", "ALRM", "STKFLT", "CONT", "TSTP", "TTIN", "TTOU", "URG",
    "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "34", "35", "36", "37", "38", "39", "40",
    "41", "42", "43", "44", "45", "46", "47", "48", "49", "50", "51", "52", "53", "54", "55", "56",
    "57", "58", "59", "60", "61", "62", "63", "64",
];

#[test]
#[ignore = "boots a VM: run by make qemu-test"]
fn pid1_forwards_every_signal_to_the_payload() {
    // The payload, in no new pid namespace, is PID 1's child: it traps each
    // signal, sends it to PID 1, and waits (5 s at most) until its trap
    // has run before the next one, so that none merges with another.
    // Signal 33, which it cannot trap, ends it last (32 in a boot of its own).
    let sigs = VM_FORWARDED.join(" ");
    let script = format!(
        "t() {{ trap g=$1 $1; }}; for s in {sigs}; do t $s; done; echo BEGIN; \
         for s in {sigs}; do g=; kill -$s 1; n=0; \
         while [ x$g != x$s ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n+1)); done; \
         [ x$g = x$s ] || {{ echo missed $s; break; }}; echo got $g; done; echo END; \
         kill -33 1; sleep 10; echo not killed"
    );
    let (status, qemu_code, console) = boot_raw(&["/bin/sh", "-c", &script]);
    let want: Vec<String> = VM_FORWARDED.iter().map(|s| format!("got {s}")).collect();
    assert_eq!(between_markers(&console), want, "{console}");
    assert_eq!((status, qemu_code), (161, 67), "{console}");
    assert_eq!(
        last_line(&console),
        "nsinit: payload killed by SIG(realtime), status 161; powering off"
    );
    let (status, qemu_code, console) =
        boot_raw(&["/bin/sh", "-c", "kill -32 1; sleep 10; echo not killed"]);
    assert_eq!((status, qemu_code), (160, 65), "{console}");
    assert_eq!(
        last_line(&console),
        "nsinit: payload killed by SIG(realtime), status 160; powering off"
    );
}

#[test]
#[ignore = "boots a VM: run by make qemu-test"]
fn ctrl_alt_del_from_the_monitor_shuts_down_gracefully() {
    let sock = std::env::temp_dir().join(format!("nsinit-monitor-{}.sock", std::process::id()));
    let script = r#"trap 'echo payload got TERM; exit 0' TERM; echo ready; while :; do sleep 10 & wait $!; done"#;
    let mut child = qemu(&["/bin/sh", "-c", script])
        .env(
            "QEMU_OPTS",
            format!("-monitor unix:{},server=on,wait=off", sock.display()),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut console = String::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap());
    while !console.contains("ready") {
        let mut line = String::new();
        assert!(lines.read_line(&mut line).unwrap() > 0, "{console}");
        console.push_str(&line);
    }
    let mut monitor = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    monitor.write_all(b"sendkey ctrl-alt-delete\n").unwrap();
    monitor.flush().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut lines, &mut rest).unwrap();
    console.push_str(&rest.replace("\r\n", "\n"));
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    let status = child.wait().unwrap().code().unwrap();
    let _ = std::fs::remove_file(&sock);
    assert_eq!(finish(status, &err, &console), (0, 1), "{console}");
    assert!(console.contains("payload got TERM\n"), "{console}");
    assert_eq!(
        last_line(&console),
        "nsinit: payload exited with status 0; powering off"
    );
}

#[test]
#[ignore = "boots a VM: run by make qemu-test"]
fn defaults_file_gives_a_shell_in_a_container() {
    // No arguments: nsinit reads /etc/nsinit/args in the image (image/args).
    // Type only once the shell prompts: its line editor flushes input.
    let mut child = qemu(&[])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut console = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&console).contains("/ # ") {
        let n = std::io::Read::read(&mut out, &mut buf).unwrap();
        assert!(n > 0, "{}", String::from_utf8_lossy(&console));
        console.extend_from_slice(&buf[..n]);
    }
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"echo \"host=$(hostname) uid=$(id -u) pid=$$ map=$(cat /proc/self/uid_map | tr -s ' ')\"; exit 7\n").unwrap();
    std::io::Read::read_to_end(&mut out, &mut console).unwrap();
    drop(stdin);
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    let status = child.wait().unwrap().code().unwrap();
    let console = String::from_utf8_lossy(&console).replace("\r\n", "\n");
    assert_eq!(finish(status, &err, &console), (7, 15), "{console}");
    assert!(
        console.contains("host=nsinit uid=0 pid=1 map= 0 0 1\n"),
        "{console}"
    );
}

#[test]
#[ignore = "needs the image inputs: run by make qemu-test"]
fn initramfs_is_reproducible() {
    let dir = std::env::temp_dir().join(format!("nsinit-cpio-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let list = Command::new(top().join("image/initramfs-list"))
        .args([
            env!("CARGO_BIN_EXE_nsinit"),
            top().join("build/busybox/bin/busybox").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(list.status.success());
    std::fs::write(dir.join("list"), &list.stdout).unwrap();
    let build = |out: &Path| {
        let status = Command::new("python3")
            .arg(top().join("image/mkcpio.py"))
            .args([dir.join("list").as_path(), out])
            .status()
            .unwrap();
        assert!(status.success());
        std::fs::read(out).unwrap()
    };
    let (a, b) = (build(&dir.join("a.cpio")), build(&dir.join("b.cpio")));
    assert!(a == b, "two builds differ");
    // The first entry, sorted, is bin/ (a directory owned by root, mtime 0).
    assert!(
        a.starts_with(b"07070100000001000041ED0000000000000000000000020000000000000000"),
        "{:?}",
        &a[..64]
    );
    let text = String::from_utf8_lossy(&a);
    for name in [
        "init\0",
        "dev/console\0",
        "etc/nsinit/args\0",
        "bin/sh\0",
        "TRAILER!!!\0",
    ] {
        assert!(text.contains(name), "{name}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
