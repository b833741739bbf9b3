//! -R/--root: a real root change (pivot_root, the old root detached), after
//! which nothing of the host is in reach.

mod common;

use common::*;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

/// The directory make_root fills, removed when dropped: also when a test
/// fails half-way.
struct Top(PathBuf);

impl std::ops::Deref for Top {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Top {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Top {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `<tmp>/root` with a static busybox, a few applets, /proc and a marker;
/// `<tmp>/host-marker` next to it stands for the host.
fn make_root(tag: &str) -> Top {
    let top = std::env::temp_dir().join(format!("nsinit-root-{tag}-{}", std::process::id()));
    let root = top.join("root");
    for dir in ["bin", "proc", "etc"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    std::fs::copy("/bin/busybox", root.join("bin/busybox")).unwrap();
    for applet in ["sh", "ls", "cat", "readlink", "wc"] {
        symlink("busybox", root.join("bin").join(applet)).unwrap();
    }
    std::fs::write(root.join("inside-marker"), "in\n").unwrap();
    std::fs::write(top.join("host-marker"), "host\n").unwrap();
    for p in [&top, &root] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    Top(top)
}

fn root_of(top: &Path) -> String {
    top.join("root").to_str().unwrap().to_string()
}

#[test]
fn the_host_is_out_of_reach() {
    let top = make_root("reach");
    let script = "ls /..; ls /proc/1/root/; readlink /proc/self/cwd; readlink /proc/1/root; \
        [ -e /proc/self/fd/7 ] && echo fd7 || echo no-fd7; wc -l < /proc/self/mountinfo";
    for who in [As::Root, As::Nobody] {
        let host_dir = std::fs::File::open(&top).unwrap();
        let raw = std::os::fd::AsRawFd::as_raw_fd(&host_dir);
        let mut c = command(
            who,
            nsinit(),
            &[
                "-r",
                "-p",
                "-R",
                &root_of(&top),
                "--mount-proc",
                "/bin/sh",
                "-c",
                script,
            ],
        );
        // SAFETY: dup2 is async-signal-safe; fd 7 stays open across exec.
        unsafe {
            c.pre_exec(move || {
                libc::dup2(raw, 7);
                Ok(())
            });
        }
        let o = c.output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{who:?}: {}", stderr(&o));
        let listing = "bin\netc\ninside-marker\nproc\n";
        // /.. is / itself; PID 1's root is the new root; a host directory the
        // caller held open is gone; only the new root and its /proc are mounted.
        assert_eq!(
            stdout(&o),
            format!("{listing}{listing}/\n/\nno-fd7\n2\n"),
            "{who:?}"
        );
    }
}

/// -R and -w need only search permission on their directories, as
/// chroot(8) and cd do: each is held by an O_PATH fd, never opened for
/// reading.
#[test]
fn a_root_and_a_workdir_that_may_only_be_searched() {
    let top = make_root("xonly");
    let root = root_of(&top);
    for dir in [&root, &format!("{root}/etc")] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711)).unwrap();
    }
    let o = run(
        As::Nobody,
        &[
            "-r",
            "-R",
            &root,
            "-w",
            "/etc",
            "/bin/busybox",
            "cat",
            "../inside-marker",
        ],
    );
    assert_eq!(
        (o.status.code(), stdout(&o), stderr(&o)),
        (Some(0), "in\n".to_string(), String::new())
    );
}

#[test]
fn workdir_and_relative_paths_resolve_inside() {
    let top = make_root("wd");
    let out = ok(
        As::Nobody,
        &[
            "-r",
            "-R",
            &root_of(&top),
            "-w",
            "/etc",
            "/bin/sh",
            "-c",
            "pwd; cat ../inside-marker",
        ],
    );
    assert_eq!(out, "/etc\nin\n");
    let o = run(
        As::Nobody,
        &[
            "-r",
            "-R",
            &root_of(&top),
            "-w",
            "/nonexistent",
            "/bin/sh",
            "-c",
            "pwd",
        ],
    );
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        stderr(&o),
        "nsinit: chdir /nonexistent: No such file or directory (ENOENT)\n"
    );
}

#[test]
fn a_cwd_through_a_leaked_fd_is_refused() {
    // CVE-2024-21626: the new root holds a live /proc (bound in from the
    // host in a private mount namespace), and fd 7 is a host directory:
    // `-w /proc/self/fd/7` would start the payload outside the root.
    let top = make_root("cve");
    let root = root_of(&top);
    let host_dir = std::fs::File::open(&top).unwrap();
    let raw = std::os::fd::AsRawFd::as_raw_fd(&host_dir);
    let script = format!(
        "mount --bind /proc {root}/proc && exec {} -R {root} -w /proc/self/fd/7 /bin/sh -c pwd",
        nsinit()
    );
    let mut c = command(
        As::Root,
        "unshare",
        &["-m", "--propagation=private", "/bin/sh", "-c", &script],
    );
    // SAFETY: dup2 is async-signal-safe.
    unsafe {
        c.pre_exec(move || {
            libc::dup2(raw, 7);
            Ok(())
        });
    }
    let o = c.output().unwrap();
    assert_eq!(o.status.code(), Some(125), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(
        stderr(&o),
        "nsinit: chdir /proc/self/fd/7: Too many levels of symbolic links (ELOOP); not through a /proc magic link (CVE-2024-21626)\n"
    );
    assert_eq!(stdout(&o), "");
}

#[test]
fn root_implies_a_mount_namespace_and_leaves_the_host_alone() {
    let top = make_root("ns");
    let before = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let s = ok(
        As::Root,
        &[
            "-R",
            &root_of(&top),
            "/bin/sh",
            "-c",
            "readlink /proc/self/ns/mnt || echo no-proc",
        ],
    );
    // No /proc in the new root: the payload cannot even name its namespaces.
    assert_eq!(s, "no-proc\n");
    assert_eq!(
        std::fs::read_to_string("/proc/self/mountinfo").unwrap(),
        before,
        "no mount left behind"
    );
}
