//! nsinit as the initramfs of Debian's cloud kernel, whose drivers are
//! modules: PID 1 loads the image's /etc/nsinit/modules (`make
//! initramfs`'s default MODULES: virtio pci, blk, net, console, overlay)
//! before the payload runs. Ignored by a plain `cargo test`; `make
//! qemu-test` runs them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn top() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A temporary directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("nsinit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An ext4 image (image/mkdisk) with a file only it has.
fn disk(s: &Scratch) -> PathBuf {
    let tree = s.0.join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("DISK_MARKER"), "only on the disk\n").unwrap();
    let img = s.0.join("disk.img");
    let o = Command::new(top().join("image/mkdisk"))
        .arg(&tree)
        .arg(&img)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    img
}

/// Boots image/qemu with its own options `pre` and nsinit's `args`, the
/// image `initrd` (None: build/initramfs.cpio); returns the status and
/// the console.
fn boot(pre: &[&str], args: &[&str], initrd: Option<&Path>) -> (i32, String) {
    let mut c = Command::new(top().join("image/qemu"));
    c.args(pre)
        .args(args)
        .env("QEMU_TIMEOUT", "120")
        .stdin(Stdio::null());
    if let Some(initrd) = initrd {
        c.env("INITRD", initrd);
    }
    let o = c.output().unwrap();
    let console = String::from_utf8_lossy(&o.stdout).replace("\r\n", "\n");
    assert!(!console.contains("Kernel panic"), "{console}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("image/qemu:"), "{err}\n{console}");
    (o.status.code().unwrap(), console)
}

/// The image's module list (the text of its /etc/nsinit/modules).
fn module_list() -> Vec<String> {
    let cpio = std::fs::read(top().join("build/initramfs.cpio")).unwrap();
    let text = String::from_utf8_lossy(&cpio);
    let lines: Vec<String> = text
        .split(|c: char| c.is_control())
        .filter(|l| l.starts_with("/lib/modules/") && l.ends_with(".ko"))
        .map(String::from)
        .collect();
    assert!(
        lines.iter().any(|l| l.ends_with("/virtio_blk.ko")),
        "{lines:?}"
    );
    lines
}

fn name(path: &str) -> String {
    path.rsplit('/')
        .next()
        .unwrap()
        .trim_end_matches(".ko")
        .replace('-', "_")
}

/// `base` with these files added or replaced, (image path, host file), by
/// a second cpio archive: the kernel unpacks them in order, later wins.
fn image_with(s: &Scratch, base: &Path, files: &[(&str, &Path)]) -> PathBuf {
    let spec = s.0.join("extra.list");
    let lines: Vec<String> = files
        .iter()
        .map(|(at, from)| format!("file {at} {} 0644 0 0\n", from.display()))
        .collect();
    std::fs::write(&spec, lines.concat()).unwrap();
    let extra = s.0.join("extra.cpio");
    let o = Command::new("python3")
        .arg(top().join("image/mkcpio.py"))
        .args([&spec, &extra])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut image = std::fs::read(base).unwrap();
    image.extend(std::fs::read(&extra).unwrap());
    let initrd = s.0.join("initrd.cpio");
    std::fs::write(&initrd, image).unwrap();
    initrd
}

/// The image with its module list replaced by `lines`.
fn with_modules(s: &Scratch, lines: &[String]) -> PathBuf {
    let list = s.0.join("modules");
    std::fs::write(&list, lines.join("\n") + "\n").unwrap();
    image_with(
        s,
        &top().join("build/initramfs.cpio"),
        &[("/etc/nsinit/modules", &list)],
    )
}

#[test]
#[ignore = "boots a VM: run by make qemu-test"]
fn modules_load_in_order_with_their_parameters_before_the_payload() {
    let s = Scratch::new("vm-modules");
    let img = disk(&s);
    let list = module_list();
    // virtio_blk's parameter as `virtio-blk.`: the names are the same with
    // `-` or `_`, as modprobe takes them from the command line.
    let pre = [
        "--disk",
        img.to_str().unwrap(),
        "--append",
        "virtio-blk.queue_depth=77",
    ];
    let script = "cut -d' ' -f1 /proc/modules | sort | tr '\\n' ' '; echo; \
                  echo depth $(cat /sys/module/virtio_blk/parameters/queue_depth); \
                  mkdir /tmp/d && mount -r /dev/vda /tmp/d && cat /tmp/d/DISK_MARKER";
    let (status, console) = boot(&pre, &["--debug", "/bin/sh", "-c", script], None);
    assert_eq!(status, 0, "{console}");
    let mut names: Vec<String> = list.iter().map(|l| name(l)).collect();
    names.sort();
    assert!(
        console.contains(&format!("\n{} \n", names.join(" "))),
        "{names:?}\n{console}"
    );
    assert!(console.contains("depth 77\n"), "{console}");
    assert!(console.contains("only on the disk\n"), "{console}");
    // --debug: each module, in the list's order, with its time.
    let loaded: Vec<(u64, &str)> = console
        .lines()
        .filter_map(|l| {
            let (time, rest) = l
                .strip_prefix("nsinit: [")?
                .split_once("us] module loaded ")?;
            Some((time.parse().unwrap(), rest))
        })
        .collect();
    let paths: Vec<&str> = loaded.iter().map(|(_, p)| *p).collect();
    assert_eq!(paths, list, "{console}");
    assert!(loaded.windows(2).all(|w| w[0].0 <= w[1].0), "{loaded:?}");
    assert!(
        !console.contains("nsinit: finit_module") && !console.contains("nsinit: open"),
        "{console}"
    );
}

#[test]
#[ignore = "boots a VM: run by make qemu-test"]
fn module_failures_are_one_line_each_and_the_boot_goes_on() {
    let s = Scratch::new("vm-module-failures");
    let list = module_list();
    let blk = list
        .iter()
        .find(|l| l.ends_with("/virtio_blk.ko"))
        .unwrap()
        .clone();
    // A missing file, virtio_blk twice (loaded already: no line), a file
    // that is no module, and a compressed one (this 6.1 kernel has no
    // CONFIG_MODULE_DECOMPRESS).
    let xz = s.0.join("m.ko.xz");
    let tree = std::fs::read_dir(top().join("build/kernel/lib/modules")).unwrap();
    let tree = tree.map(|e| e.unwrap().path()).next().unwrap();
    let console_ko = tree.join("kernel/drivers/char/virtio_console.ko");
    let o = Command::new("xz")
        .arg("-c")
        .arg(&console_ko)
        .output()
        .unwrap();
    assert!(o.status.success());
    std::fs::write(&xz, o.stdout).unwrap();
    let mut lines: Vec<String> = list
        .iter()
        .filter(|l| !l.ends_with("/virtio_console.ko"))
        .cloned()
        .collect();
    lines.extend([
        "# a comment, then an empty line".to_string(),
        String::new(),
        format!("{blk}.gone"),
        blk.clone(),
        "/bin/busybox".to_string(),
        "/virtio_console.ko.xz".to_string(),
    ]);
    let base = with_modules(&s, &lines);
    let initrd = image_with(&s, &base, &[("/virtio_console.ko.xz", &xz)]);
    let (status, console) = boot(
        &[],
        &["/bin/sh", "-c", "echo payload ran; exit 3"],
        Some(&initrd),
    );
    assert_eq!(status, 3, "{console}");
    let errors: Vec<&str> = console
        .lines()
        .filter(|l| l.starts_with("nsinit: ") && !l.starts_with("nsinit: payload"))
        .collect();
    assert_eq!(
        errors,
        [
            format!("nsinit: open module {blk}.gone: No such file or directory (ENOENT)"),
            "nsinit: finit_module /bin/busybox: Exec format error (ENOEXEC); not a module for this kernel (format or vermagic)".to_string(),
            "nsinit: finit_module /virtio_console.ko.xz: Operation not supported (EOPNOTSUPP); compressed modules need Linux 5.17+ with CONFIG_MODULE_DECOMPRESS".to_string(),
        ],
        "{console}"
    );
    assert!(console.contains("payload ran\n"), "{console}");

    // virtio_blk without what it needs: an unknown symbol, and no disk.
    let initrd = with_modules(&s, std::slice::from_ref(&blk));
    let script = "ls /sys/block | grep -c vd";
    let img = disk(&s);
    let (status, console) = boot(
        &["--disk", img.to_str().unwrap()],
        &["/bin/sh", "-c", script],
        Some(&initrd),
    );
    assert_eq!(status, 1, "{console}");
    assert!(
        console.contains(&format!(
            "nsinit: finit_module {blk}: No such file or directory (ENOENT); an unknown symbol: \
             a module it needs is missing from /etc/nsinit/modules or comes after it\n"
        )),
        "{console}"
    );
}

#[test]
#[ignore = "boots a VM: run by make qemu-test"]
fn an_image_without_a_module_list_boots_without_a_word_about_it() {
    let s = Scratch::new("vm-no-modules");
    let list = s.0.join("initramfs.list");
    let o = Command::new(top().join("image/initramfs-list"))
        .arg(env!("CARGO_BIN_EXE_nsinit"))
        .arg(top().join("build/busybox/bin/busybox"))
        .output()
        .unwrap();
    assert!(o.status.success());
    std::fs::write(&list, o.stdout).unwrap();
    let initrd = s.0.join("plain.cpio");
    let o = Command::new("python3")
        .arg(top().join("image/mkcpio.py"))
        .args([&list, &initrd])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (status, console) = boot(
        &[],
        &["/bin/sh", "-c", "cat /proc/modules | wc -l"],
        Some(&initrd),
    );
    assert_eq!(status, 0, "{console}");
    let lines: Vec<&str> = console.lines().filter(|l| !l.starts_with('[')).collect();
    assert_eq!(
        lines,
        ["0", "nsinit: payload exited with status 0; powering off"],
        "{console}"
    );
}
