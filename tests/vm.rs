//! nsinit as PID 1 of a real VM: Debian's cloud kernel under QEMU (TCG),
//! booting build/initramfs.cpio through image/qemu. Ignored by a plain
//! `cargo test`; `make qemu-test` (part of `make test`) builds the image and
//! runs them with `--ignored`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn top() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn qemu(args: &[&str]) -> Command {
    let mut c = Command::new(top().join("image/qemu"));
    c.args(args).env("QEMU_TIMEOUT", "120").stdin(Stdio::null());
    c
}

/// Boots with `args` for nsinit; returns image/qemu's status and the console.
fn boot(args: &[&str]) -> (i32, String) {
    finish(qemu(args).output().unwrap())
}

fn finish(o: Output) -> (i32, String) {
    let console = String::from_utf8_lossy(&o.stdout).replace("\r\n", "\n");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!console.contains("Kernel panic"), "{console}");
    assert!(
        !err.contains("timed out") && !err.contains("QEMU exited"),
        "{err}\n{console}"
    );
    (o.status.code().unwrap(), console)
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
    for code in [0, 1, 42, 255] {
        let (status, console) = boot(&["/bin/sh", "-c", &format!("exit {code}")]);
        assert_eq!(status, code, "{console}");
        assert_eq!(
            last_line(&console),
            format!("nsinit: payload exited with status {code}; powering off")
        );
    }
    for (sig, n) in [("TERM", 15), ("KILL", 9)] {
        let (status, console) = boot(&["/bin/sh", "-c", &format!("kill -{sig} $$")]);
        assert_eq!(status, 128 + n, "{console}");
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
    let (status, console) = boot(&["/nonexistent/payload"]);
    assert_eq!(status, 127);
    assert!(
        console.contains("nsinit: exec /nonexistent/payload: No such file or directory (ENOENT)\n"),
        "{console}"
    );
    assert_eq!(
        last_line(&console),
        "nsinit: payload exited with status 127; powering off"
    );
    // Bad options: one line, then the usual shutdown with 125.
    let (status, console) = boot(&["--map-users=0:1", "/bin/true"]);
    assert_eq!(status, 125);
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
    let (status, console) = boot(&["--reboot", "--bogus"]);
    assert_eq!(status, 125);
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
    // No double quotes: the kernel command line cannot carry them.
    let script = r#"cat /proc/mounts; [ -t 0 ] && echo 'stdin is a tty'; set -- $(cat /proc/$$/stat); echo session $6 tty_nr $7"#;
    let (status, console) = boot(&["/bin/sh", "-c", script]);
    assert_eq!(status, 0, "{console}");
    for (dev, dir, fs) in [
        ("devtmpfs", "/dev", "devtmpfs"),
        ("devpts", "/dev/pts", "devpts"),
        ("tmpfs", "/dev/shm", "tmpfs"),
        ("proc", "/proc", "proc"),
        ("sysfs", "/sys", "sysfs"),
        ("cgroup2", "/sys/fs/cgroup", "cgroup2"),
        ("tmpfs", "/run", "tmpfs"),
        ("tmpfs", "/tmp", "tmpfs"),
    ] {
        let want = format!("{dev} {dir} {fs} ");
        assert_eq!(
            console.lines().filter(|l| l.starts_with(&want)).count(),
            1,
            "{want} in {console}"
        );
    }
    assert!(console.contains("ptmxmode=666"), "{console}");
    assert!(console.contains("stdin is a tty\n"), "{console}");
    let line = console.lines().find(|l| l.starts_with("session ")).unwrap();
    let words: Vec<&str> = line.split(' ').collect();
    assert_ne!(words[1], "0", "own session: {line}");
    assert_ne!(words[3], "0", "a controlling tty: {line}");
}

#[test]
#[ignore = "boots a VM: run by make qemu-test"]
fn orphans_are_reaped_and_shutdown_completes() {
    // 100 orphans that end at once, counted as zombies a second later; then
    // orphans still running at the end, one of them a shell deaf to SIGTERM
    // (and to the SIGHUP the session's end sends when the payload exits).
    // One line: the kernel command line cannot carry a newline.
    let script = "for i in $(seq 100); do (sleep 0.2 &); done; sleep 1.5; \
        echo zombies: $(grep -l '^State:.Z' /proc/[0-9]*/status 2>/dev/null | wc -l); \
        (sleep 1000 &); \
        printf 'trap \\047\\047 TERM HUP; touch /tmp/deaf-ready; while :; do sleep 1; done\\n' > /tmp/deaf; \
        (sh /tmp/deaf &); while [ ! -e /tmp/deaf-ready ]; do sleep 0.1; done; exit 0";
    let (status, console) = boot(&["--grace=1", "--debug", "/bin/sh", "-c", script]);
    assert_eq!(status, 0, "{console}");
    assert!(console.contains("zombies: 0\n"), "{console}");
    assert!(
        console.contains("shutdown: SIGKILL to all"),
        "the deaf orphan needed KILL: {console}"
    );
    assert_eq!(
        last_line(&console),
        "nsinit: payload exited with status 0; powering off"
    );
}

#[test]
#[ignore = "boots a VM: run by make qemu-test"]
fn init_reaps_orphans_inside_a_pid_namespace() {
    let script = "for i in $(seq 50); do (sleep 0.2 &); done; sleep 1.5; \
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
    assert!(console.contains("pid 2 zombies: 0\n"), "{console}");
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
    let script = r#"trap 'echo payload got TERM; exit 0' TERM; kill -TERM 1; while :; do sleep 10 & wait $!; done"#;
    let (status, console) = boot(&["/bin/sh", "-c", script]);
    assert_eq!(status, 0, "{console}");
    assert!(console.contains("payload got TERM\n"), "{console}");
    assert_eq!(
        last_line(&console),
        "nsinit: payload exited with status 0; powering off"
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
    std::thread::sleep(Duration::from_millis(200));
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut lines, &mut rest).unwrap();
    console.push_str(&rest.replace("\r\n", "\n"));
    let status = child.wait().unwrap().code().unwrap();
    let _ = std::fs::remove_file(&sock);
    assert!(!console.contains("Kernel panic"), "{console}");
    assert!(console.contains("payload got TERM\n"), "{console}");
    assert_eq!(status, 0, "{console}");
}

#[test]
#[ignore = "boots a VM: run by make qemu-test"]
fn defaults_file_gives_a_shell_in_a_container() {
    // No arguments: nsinit reads /etc/nsinit/args in the image (image/args).
    // Type only once the shell prompts: its line editor flushes input.
    let mut child = qemu(&[])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
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
    let status = child.wait().unwrap().code().unwrap();
    let console = String::from_utf8_lossy(&console).replace("\r\n", "\n");
    assert!(!console.contains("Kernel panic"), "{console}");
    assert_eq!(status, 7, "{console}");
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
