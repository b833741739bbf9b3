//! The image side of booting a distribution kernel with nsinit as its
//! initramfs: image/modules (the module resolver, with kmod's depmod and
//! modprobe as the oracle), the initramfs with modules, image/mkdisk (a
//! reproducible ext4 image without root) and image/qemu's --disk and
//! --append. The tests that need the fetched kernel or boot a VM are
//! ignored by a plain `cargo test`; `make qemu-test` runs them.

mod common;

use common::{command, output, stderr, stdout, As};
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn top() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A directory of one test, readable by uid 65534, removed when dropped
/// (also when the test fails: the harness unwinds).
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("nsinit-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        TempDir(dir)
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `program args...` with /usr/sbin and /sbin on PATH (e2fsprogs, kmod,
/// blkid live there), from `/`, no stdin.
fn sbin(program: &str, args: &[&str]) -> Command {
    let mut c = Command::new(program);
    let path = std::env::var("PATH").unwrap_or_default();
    c.args(args)
        .env("PATH", format!("{path}:/usr/sbin:/sbin"))
        .current_dir("/")
        .stdin(Stdio::null());
    c
}

fn ok(c: &mut Command) -> String {
    let o = output(c);
    assert!(o.status.success(), "{c:?}: {}{}", stdout(&o), stderr(&o));
    stdout(&o)
}

/// Status, stdout and stderr of a run.
fn outcome(o: &Output) -> (Option<i32>, String, String) {
    (o.status.code(), stdout(o), stderr(o))
}

fn modules(args: &[&Path]) -> Output {
    output(
        Command::new(top().join("image/modules"))
            .args(args)
            .stdin(Stdio::null()),
    )
}

// --- image/modules on modules made here ---------------------------------

/// An ELF object whose `.modinfo` section holds `info` (NUL-separated
/// key=value), as a kernel module's does; None: no such section.
fn fake_module(path: &Path, info: Option<&str>) {
    let source = match info {
        Some(info) => format!(
            "__attribute__((section(\".modinfo\"), used)) static const char info[] = \"{}\";\n",
            info.replace('\0', "\\0")
        ),
        None => "int not_a_module;\n".to_string(),
    };
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let c = path.with_extension("c");
    std::fs::write(&c, source).unwrap();
    ok(Command::new("cc").arg("-c").arg("-o").arg(path).arg(&c));
    std::fs::remove_file(c).unwrap();
}

#[test]
fn resolver_orders_dependencies_from_modinfo() {
    let dir = TempDir::new("modules");
    let tree = dir.path("lib/modules/9.9.9-test");
    let t = |rel: &str| tree.join(rel);
    fake_module(
        &t("kernel/a.ko"),
        Some("license=GPL\0depends=b,c-x\0name=a"),
    );
    fake_module(&t("kernel/b.ko"), Some("depends=c_x"));
    fake_module(&t("kernel/sub/c-x.ko"), Some("depends=\0vermagic=9.9.9"));
    fake_module(&t("kernel/f.ko"), Some("depends=gone"));
    fake_module(&t("kernel/g.ko"), Some("depends=h"));
    fake_module(&t("kernel/h.ko"), Some("depends=g"));
    fake_module(&t("kernel/n.ko"), None);
    // d.ko.xz: compressed, read through python's lzma.
    fake_module(&t("kernel/d.ko"), Some("depends=a"));
    let xz = "import lzma, sys; open(sys.argv[2], 'wb').write(lzma.compress(open(sys.argv[1], 'rb').read()))";
    ok(Command::new("python3")
        .args(["-c", xz])
        .arg(t("kernel/d.ko"))
        .arg(t("kernel/d.ko.xz")));
    std::fs::remove_file(t("kernel/d.ko")).unwrap();
    std::fs::write(t("kernel/z.ko.zst"), b"(zstd)").unwrap();
    std::fs::write(t("modules.builtin"), "kernel/fs/e.ko\n").unwrap();

    let image = "/lib/modules/9.9.9-test/kernel";
    let run = |names: &[&str]| {
        let mut args = vec![tree.as_path()];
        args.extend(names.iter().map(Path::new));
        outcome(&modules(&args))
    };
    let shown = tree.display();
    assert_eq!(
        run(&["d", "e"]),
        (
            Some(0),
            format!("{image}/sub/c-x.ko\n{image}/b.ko\n{image}/a.ko\n{image}/d.ko.xz\n"),
            "image/modules: e is built into the kernel: skipped\n".to_string()
        )
    );
    // Names in the order given, each once; '-' and '_' are one.
    assert_eq!(
        run(&["c-x", "a", "c_x"]),
        (
            Some(0),
            format!("{image}/sub/c-x.ko\n{image}/b.ko\n{image}/a.ko\n"),
            String::new()
        )
    );
    assert_eq!(run(&[]), (Some(0), String::new(), String::new()));
    for (names, line) in [
        (&["a", "nosuch"][..], format!("no module nosuch in {shown}")),
        (&["f"], format!("no module gone in {shown} (needed by f)")),
        (&["g"], "dependency cycle: g -> h -> g".to_string()),
        (
            &["z"],
            format!("{shown}/kernel/z.ko.zst: cannot read a zstd-compressed module (python has no zstd)"),
        ),
        (
            &["n"],
            format!("{shown}/kernel/n.ko: not a kernel module (no .modinfo section)"),
        ),
    ] {
        assert_eq!(
            run(names),
            (Some(1), String::new(), format!("image/modules: {line}\n")),
            "{names:?}"
        );
    }

    // --cpio: the files, their directories and the load list as
    // /etc/nsinit/modules, in gen_init_cpio syntax.
    let list = dir.path("load");
    let o = modules(&[Path::new("--cpio"), &list, &tree, Path::new("d")]);
    let mut want = [
        "/etc",
        "/etc/nsinit",
        "/lib",
        "/lib/modules",
        "/lib/modules/9.9.9-test",
    ]
    .iter()
    .map(|d| format!("dir {d} 0755 0 0\n"))
    .collect::<String>();
    want += &format!("dir {image} 0755 0 0\ndir {image}/sub 0755 0 0\n");
    for rel in ["sub/c-x.ko", "b.ko", "a.ko", "d.ko.xz"] {
        want += &format!("file {image}/{rel} {shown}/kernel/{rel} 0644 0 0\n");
    }
    want += &format!("file /etc/nsinit/modules {} 0644 0 0\n", list.display());
    assert_eq!(outcome(&o), (Some(0), want, String::new()));
    assert_eq!(
        std::fs::read_to_string(&list).unwrap(),
        format!("{image}/sub/c-x.ko\n{image}/b.ko\n{image}/a.ko\n{image}/d.ko.xz\n")
    );
    // Nothing to load: no lines, no list file.
    std::fs::remove_file(&list).unwrap();
    let o = modules(&[Path::new("--cpio"), &list, &tree, Path::new("e")]);
    assert_eq!(outcome(&o).0, Some(0));
    assert_eq!(stdout(&o), "");
    assert!(!list.exists());

    // Two files for one name.
    std::fs::create_dir_all(t("updates")).unwrap();
    std::fs::write(t("updates/b.ko"), b"").unwrap();
    assert_eq!(
        run(&["c_x"]),
        (
            Some(1),
            String::new(),
            "image/modules: module b: two files, kernel/b.ko and updates/b.ko\n".to_string()
        )
    );
}

#[test]
fn mkcpio_merges_a_directory_listed_twice_alike() {
    let dir = TempDir::new("mkcpio");
    let build = |list: &str| {
        std::fs::write(dir.path("list"), list).unwrap();
        output(
            Command::new("python3")
                .arg(top().join("image/mkcpio.py"))
                .arg(dir.path("list"))
                .arg(dir.path("out.cpio")),
        )
    };
    let o = build("dir /etc 0755 0 0\ndir /etc/nsinit 0755 0 0\ndir /etc 0755 0 0\n");
    assert_eq!(outcome(&o), (Some(0), String::new(), String::new()));
    let names: Vec<String> = newc(&std::fs::read(dir.path("out.cpio")).unwrap())
        .into_keys()
        .collect();
    assert_eq!(names, ["etc", "etc/nsinit"]);
    for list in [
        "dir /etc 0755 0 0\ndir /etc 0700 0 0\n",
        "dir /etc 0755 0 0\nnod /etc 0600 0 0 c 5 1\n",
    ] {
        let o = build(list);
        assert_eq!(
            outcome(&o),
            (
                Some(1),
                String::new(),
                "mkcpio: a name is listed twice\n".to_string()
            )
        );
    }
}

/// One entry of a newc archive.
#[derive(Debug)]
struct Entry {
    mode: u32,
    uid: u32,
    gid: u32,
    data: Vec<u8>,
}

/// A newc (070701) archive read here, not by the tool that wrote it.
fn newc(bytes: &[u8]) -> BTreeMap<String, Entry> {
    let mut entries = BTreeMap::new();
    let mut at = 0;
    let field = |at: usize, i: usize| {
        let hex = std::str::from_utf8(&bytes[at + 6 + 8 * i..at + 14 + 8 * i]).unwrap();
        u32::from_str_radix(hex, 16).unwrap() as usize
    };
    loop {
        assert_eq!(&bytes[at..at + 6], b"070701", "a newc header at {at}");
        let (size, namesize) = (field(at, 6), field(at, 11));
        let name = String::from_utf8(bytes[at + 110..at + 110 + namesize - 1].to_vec()).unwrap();
        let data_at = (at + 110 + namesize).next_multiple_of(4);
        if name == "TRAILER!!!" {
            return entries;
        }
        let entry = Entry {
            mode: field(at, 1) as u32,
            uid: field(at, 2) as u32,
            gid: field(at, 3) as u32,
            data: bytes[data_at..data_at + size].to_vec(),
        };
        assert!(
            entries.insert(name.clone(), entry).is_none(),
            "{name} twice"
        );
        at = (data_at + size).next_multiple_of(4);
    }
}

// --- image/modules on the fetched kernel, kmod as the oracle ------------

/// The fetched kernel's one module tree, build/kernel/lib/modules/VERSION.
fn kernel_tree() -> PathBuf {
    let dir = top().join("build/kernel/lib/modules");
    let trees: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}: run make kernel", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(trees.len(), 1, "{trees:?}");
    trees[0].clone()
}

/// The Makefile's default MODULES.
fn default_modules() -> Vec<String> {
    let makefile = std::fs::read_to_string(top().join("Makefile")).unwrap();
    let line = makefile
        .lines()
        .find_map(|l| l.strip_prefix("MODULES ?= "))
        .expect("MODULES ?= in the Makefile");
    line.split_whitespace().map(String::from).collect()
}

/// image/modules' load list for `names`, as paths relative to the tree.
fn resolved(tree: &Path, names: &[&str]) -> Vec<String> {
    let mut args = vec![tree];
    args.extend(names.iter().map(Path::new));
    let o = modules(&args);
    assert_eq!(
        (o.status.code(), stderr(&o)),
        (Some(0), String::new()),
        "{names:?}"
    );
    let prefix = format!(
        "/lib/modules/{}/",
        tree.file_name().unwrap().to_str().unwrap()
    );
    stdout(&o)
        .lines()
        .map(|l| {
            l.strip_prefix(&prefix)
                .unwrap_or_else(|| panic!("{l}"))
                .to_string()
        })
        .collect()
}

#[test]
#[ignore = "needs the image inputs: run by make qemu-test"]
fn resolver_agrees_with_modprobe_show_depends() {
    let tree = kernel_tree();
    let version = tree.file_name().unwrap().to_str().unwrap().to_string();
    // The oracle: kmod's depmod (symbols, not .modinfo) on a copy of the
    // tree, with no configuration of this host's.
    let dir = TempDir::new("depmod");
    let root = dir.path("root");
    std::fs::create_dir_all(root.join("lib/modules")).unwrap();
    std::fs::create_dir_all(dir.path("conf")).unwrap();
    ok(Command::new("cp")
        .arg("-a")
        .arg(&tree)
        .arg(root.join("lib/modules")));
    let (b, conf) = (root.to_str().unwrap(), dir.path("conf"));
    let conf = conf.to_str().unwrap();
    ok(&mut sbin("depmod", &["-C", conf, "-b", b, &version]));
    let copy = root.join("lib/modules").join(&version);
    // modules.dep: each module's dependencies, transitively.
    let deps: BTreeMap<String, Vec<String>> = std::fs::read_to_string(copy.join("modules.dep"))
        .unwrap()
        .lines()
        .map(|l| {
            let (m, d) = l.split_once(':').unwrap();
            (
                m.to_string(),
                d.split_whitespace().map(String::from).collect(),
            )
        })
        .collect();
    let show = |name: &str| -> BTreeSet<String> {
        let out = ok(&mut sbin(
            "modprobe",
            &["-C", conf, "-d", b, "-S", &version, "--show-depends", name],
        ));
        let prefix = format!("insmod {}/", copy.display());
        out.lines()
            .map(|l| {
                l.trim_end()
                    .strip_prefix(&prefix)
                    .unwrap_or_else(|| panic!("{l}"))
                    .to_string()
            })
            .collect()
    };
    let accepts = |order: &[String]| {
        for (i, m) in order.iter().enumerate() {
            for d in &deps[m] {
                let at = order.iter().position(|x| x == d);
                assert!(
                    at.is_some_and(|at| at < i),
                    "{d} not before {m} in {order:?}"
                );
            }
        }
    };
    let defaults = default_modules();
    let mut union = BTreeSet::new();
    for name in [
        "virtio_blk",
        "virtio_net",
        "virtio_console",
        "overlay",
        "virtio_pci",
    ] {
        let ours = resolved(&tree, &[name]);
        let set: BTreeSet<String> = ours.iter().cloned().collect();
        assert_eq!(set.len(), ours.len(), "each once: {ours:?}");
        assert_eq!(set, show(name), "{name}");
        accepts(&ours);
        if defaults.iter().any(|d| d == name) {
            union.extend(set);
        }
    }
    // The default set in one run: every module once, in an order kmod
    // accepts, and nothing else.
    let names: Vec<&str> = defaults.iter().map(String::as_str).collect();
    let ours = resolved(&tree, &names);
    assert_eq!(ours.iter().cloned().collect::<BTreeSet<_>>(), union);
    assert_eq!(ours.len(), union.len());
    accepts(&ours);
    // A built-in module: kmod says so, image/modules skips it, saying so.
    assert_eq!(
        ok(&mut sbin(
            "modprobe",
            &[
                "-C",
                conf,
                "-d",
                b,
                "-S",
                &version,
                "--show-depends",
                "ext4"
            ]
        )),
        "builtin ext4\n"
    );
    let o = modules(&[&tree, Path::new("ext4")]);
    let note = "image/modules: ext4 is built into the kernel: skipped\n";
    assert_eq!(outcome(&o), (Some(0), String::new(), note.to_string()));
    let o = modules(&[&tree, Path::new("virtio_nosuch")]);
    let line = format!(
        "image/modules: no module virtio_nosuch in {}\n",
        tree.display()
    );
    assert_eq!(outcome(&o), (Some(1), String::new(), line));
}

#[test]
#[ignore = "needs the image inputs: run by make qemu-test"]
fn initramfs_carries_the_resolved_modules() {
    let tree = kernel_tree();
    let dir = TempDir::new("cpio-modules");
    let defaults = default_modules();
    let base = ok(Command::new(top().join("image/initramfs-list")).args([
        env!("CARGO_BIN_EXE_nsinit"),
        top().join("build/busybox/bin/busybox").to_str().unwrap(),
    ]));
    let build = |names: &[String], out: &str| {
        let load = dir.path("modules.load");
        let mut args = vec![Path::new("--cpio"), &load, &tree];
        args.extend(names.iter().map(Path::new));
        let o = modules(&args);
        assert_eq!((o.status.code(), stderr(&o)), (Some(0), String::new()));
        std::fs::write(dir.path("list"), format!("{base}{}", stdout(&o))).unwrap();
        ok(Command::new("python3")
            .arg(top().join("image/mkcpio.py"))
            .arg(dir.path("list"))
            .arg(dir.path(out))
            .env("SOURCE_DATE_EPOCH", "0"));
        std::fs::read(dir.path(out)).unwrap()
    };
    let (a, b) = (build(&defaults, "a.cpio"), build(&defaults, "b.cpio"));
    assert!(a == b, "two builds differ");
    let entries = newc(&a);
    let names: Vec<&str> = defaults.iter().map(String::as_str).collect();
    let order = resolved(&tree, &names);
    let version = tree.file_name().unwrap().to_str().unwrap();
    let listed = &entries["etc/nsinit/modules"];
    let want: String = order
        .iter()
        .map(|r| format!("/lib/modules/{version}/{r}\n"))
        .collect();
    assert_eq!(String::from_utf8_lossy(&listed.data), want);
    assert_eq!((listed.mode, listed.uid, listed.gid), (0o100644, 0, 0));
    // Exactly the resolved files under /lib, each byte for byte the
    // tree's, signature included; every directory on the way.
    let files: BTreeSet<String> = entries
        .iter()
        .filter(|(n, e)| n.starts_with("lib/") && e.mode & 0o170000 == 0o100000)
        .map(|(n, _)| n.clone())
        .collect();
    let want: BTreeSet<String> = order
        .iter()
        .map(|r| format!("lib/modules/{version}/{r}"))
        .collect();
    assert_eq!(files, want);
    for rel in &order {
        let name = format!("lib/modules/{version}/{rel}");
        let e = &entries[&name];
        assert_eq!((e.mode, e.uid, e.gid), (0o100644, 0, 0), "{name}");
        assert!(
            e.data == std::fs::read(tree.join(rel)).unwrap(),
            "{name} differs"
        );
        assert!(
            e.data.ends_with(b"~Module signature appended~\n"),
            "{name}: not signed"
        );
        let mut parent = Path::new(&name).parent();
        while let Some(p) = parent.filter(|p| !p.as_os_str().is_empty()) {
            let d = &entries[p.to_str().unwrap()];
            assert_eq!(d.mode, 0o40755, "{}", p.display());
            parent = p.parent();
        }
    }
    // MODULES= (empty): the base image alone, no /etc/nsinit/modules.
    let none = newc(&build(&[], "c.cpio"));
    assert!(!none.contains_key("etc/nsinit/modules"));
    assert!(!none.keys().any(|n| n.starts_with("lib")));
    assert!(none.contains_key("etc/nsinit/args") && none.contains_key("init"));
}

// --- image/mkdisk -------------------------------------------------------

/// A tree owned by uid 1000 with a nested file, a symlink, a hard link and
/// an empty file; readable by uid 65534.
fn disk_tree(dir: &TempDir, hello: &str) -> PathBuf {
    let src = dir.path("src");
    std::fs::create_dir_all(src.join("etc/sub")).unwrap();
    std::fs::create_dir_all(src.join("bin")).unwrap();
    std::fs::write(src.join("etc/hello"), hello).unwrap();
    std::fs::write(src.join("etc/sub/deep"), "deep\n").unwrap();
    std::fs::write(src.join("empty"), "").unwrap();
    std::fs::hard_link(src.join("etc/hello"), src.join("hard")).unwrap();
    std::os::unix::fs::symlink("../etc/hello", src.join("bin/link")).unwrap();
    for rel in [
        "",
        "etc",
        "etc/sub",
        "bin",
        "etc/hello",
        "etc/sub/deep",
        "empty",
        "bin/link",
    ] {
        std::os::unix::fs::lchown(src.join(rel), Some(1000), Some(1000)).unwrap();
    }
    src
}

/// image/mkdisk's UUID line, checked to be the only output. uid 65534
/// runs a copy (with tests/deps.sh beside it, as it expects): CI may clone
/// the project where only root can enter.
fn mkdisk(who: As, src: &Path, img: &Path, epoch: Option<&str>) -> String {
    let mut mkdisk = top().join("image/mkdisk");
    if who == As::Nobody {
        let copy = src.parent().unwrap().join("tools");
        for rel in ["image/mkdisk", "tests/deps.sh"] {
            std::fs::create_dir_all(copy.join(rel).parent().unwrap()).unwrap();
            std::fs::copy(top().join(rel), copy.join(rel)).unwrap();
        }
        mkdisk = copy.join("image/mkdisk");
    }
    let mut c = command(
        who,
        mkdisk.to_str().unwrap(),
        &[src.to_str().unwrap(), img.to_str().unwrap()],
    );
    match epoch {
        Some(e) => c.env("SOURCE_DATE_EPOCH", e),
        None => c.env_remove("SOURCE_DATE_EPOCH"),
    };
    let o = output(&mut c);
    assert_eq!((o.status.code(), stderr(&o)), (Some(0), String::new()));
    let uuid = stdout(&o);
    assert_eq!(uuid.len(), 37, "{uuid:?}");
    uuid.trim_end().to_string()
}

fn debugfs(img: &Path, request: &str) -> String {
    ok(&mut sbin(
        "debugfs",
        &["-R", request, img.to_str().unwrap()],
    ))
}

#[test]
fn mkdisk_is_reproducible_and_root_owned() {
    let dir = TempDir::new("mkdisk");
    let src = disk_tree(&dir, "hello from the disk\n");
    let out = dir.path("out");
    std::fs::create_dir(&out).unwrap();
    std::os::unix::fs::chown(&out, Some(common::NOBODY), Some(common::NOBODY)).unwrap();
    let (a, b, c) = (out.join("a.img"), out.join("b.img"), out.join("c.img"));

    let uuid = mkdisk(As::Root, &src, &a, None);
    // A second later (the super block counts seconds), new change and
    // access times in the tree, another user: the same bytes.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::set_permissions(
        src.join("etc/hello"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    std::fs::read(src.join("etc/sub/deep")).unwrap();
    assert_eq!(mkdisk(As::Nobody, &src, &b, None), uuid);
    assert!(
        std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
        "two builds differ"
    );

    let probed = ok(&mut sbin(
        "blkid",
        &["-p", "-o", "value", "-s", "UUID", a.to_str().unwrap()],
    ));
    assert_eq!(probed, format!("{uuid}\n"));
    let stat = debugfs(&a, "stat /etc/hello");
    for want in [
        "Type: regular    Mode:  0644",
        "User:     0   Group:     0",
        "Links: 2",
        " ctime: 0x00000001:00000000",
        " atime: 0x00000001:00000000",
        " mtime: 0x00000001:00000000",
        "crtime: 0x00000001:00000000",
    ] {
        assert!(stat.contains(want), "{want}: {stat}");
    }
    // Every entry root's, every time the epoch's.
    for d in ["/", "/etc", "/etc/sub", "/bin"] {
        let listing = debugfs(&a, &format!("ls -l {d}"));
        let mut n = 0;
        for line in listing.lines().filter(|l| !l.trim().is_empty()) {
            let f: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(
                (f[3], f[4], f[6], f[7]),
                ("0", "0", "1-Jan-1970", "00:00"),
                "{d}: {line}"
            );
            n += 1;
        }
        assert!(n >= 3, "{listing}");
    }
    assert_eq!(debugfs(&a, "cat /etc/hello"), "hello from the disk\n");
    assert_eq!(debugfs(&a, "cat /etc/sub/deep"), "deep\n");
    assert_eq!(debugfs(&a, "cat /empty"), "");
    assert!(debugfs(&a, "stat /bin/link").contains("Fast link dest: \"../etc/hello\""));
    let e = debugfs(&a, "stat /hard");
    assert!(
        e.contains(&stat[..stat.find('\n').unwrap()]),
        "/hard is /etc/hello's inode: {e}"
    );

    // SOURCE_DATE_EPOCH sets the times, and goes into the UUID.
    let other = mkdisk(As::Root, &src, &c, Some("1700000000"));
    assert_ne!(other, uuid);
    assert!(debugfs(&c, "stat /etc/hello").contains(" mtime: 0x6553f100:00000000"));
    let sb = ok(&mut sbin("dumpe2fs", &["-h", c.to_str().unwrap()]));
    assert!(
        sb.contains("Filesystem created:       Tue Nov 14 22:13:20 2023"),
        "{sb}"
    );
    // Other contents, another UUID.
    std::fs::write(src.join("etc/hello"), "hello from another disk\n").unwrap();
    assert_ne!(mkdisk(As::Root, &src, &c, None), uuid);
}

#[test]
fn mkdisk_and_qemu_refuse_bad_arguments() {
    let dir = TempDir::new("refusals");
    let img = dir.path("x.img");
    let mkdisk = top().join("image/mkdisk");
    let mkdisk = mkdisk.to_str().unwrap();
    let run = |args: &[&str]| outcome(&output(&mut command(As::Root, mkdisk, args)));
    let missing = dir.path("nope");
    assert_eq!(
        run(&[missing.to_str().unwrap(), img.to_str().unwrap()]),
        (
            Some(1),
            String::new(),
            format!("image/mkdisk: {}: not a directory\n", missing.display())
        )
    );
    assert_eq!(
        run(&["/", "/dev/null"]),
        (
            Some(1),
            String::new(),
            "image/mkdisk: /dev/null: exists and is not a regular file\n".to_string()
        )
    );
    assert_eq!(
        run(&["/", img.to_str().unwrap(), "12Q"]),
        (
            Some(1),
            String::new(),
            "image/mkdisk: size 12Q: expected a number with an optional K, M or G suffix\n"
                .to_string()
        )
    );
    assert!(!img.exists());

    let qemu = top().join("image/qemu");
    let qemu = qemu.to_str().unwrap();
    let run = |args: &[&str]| outcome(&output(&mut command(As::Root, qemu, args)));
    assert_eq!(
        run(&["--disk", missing.to_str().unwrap(), "/bin/true"]),
        (
            Some(125),
            String::new(),
            format!("image/qemu: --disk {}: no such file\n", missing.display())
        )
    );
    assert_eq!(
        run(&["--append", "a -- b", "/bin/true"]),
        (
            Some(125),
            String::new(),
            "image/qemu: --append: no \"--\" word: nsinit's arguments follow the options\n"
                .to_string()
        )
    );
    assert_eq!(
        run(&["--append"]),
        (
            Some(125),
            String::new(),
            "image/qemu: --append needs an argument\n".to_string()
        )
    );
}

// --- the VM -------------------------------------------------------------

#[test]
#[ignore = "boots a VM: run by make qemu-test"]
fn boots_with_a_disk_and_appended_parameters() {
    // No nsinit code for modules or root= here: the payload itself loads
    // /etc/nsinit/modules with busybox insmod (skipping any already
    // loaded), then mounts the disk and shows what it sees.
    let dir = TempDir::new("vm-disk");
    let marker = format!("only-on-the-disk-{}", std::process::id());
    let src = dir.path("src");
    std::fs::create_dir_all(src.join("etc")).unwrap();
    std::fs::write(src.join("etc/hello"), format!("{marker}\n")).unwrap();
    let img = dir.path("disk.img");
    let uuid = mkdisk(As::Root, &src, &img, None);
    let script = format!(
        "for m in $(grep -v ^# /etc/nsinit/modules); do n=$(basename $m .ko | tr - _); \
         grep -q ^$n' ' /proc/modules || insmod $m || exit 10; done; \
         i=0; while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done; \
         mkdir /tmp/d && mount -t ext4 -o ro /dev/vda /tmp/d || exit 11; \
         for n in $(cut -d' ' -f1 /proc/modules | sort); do echo mod: $n; done; \
         echo file: $(cat /tmp/d/etc/hello); echo dev: $(findfs UUID={uuid}); \
         printf 'cmdline: '; cat /proc/cmdline; umount /tmp/d"
    );
    let o = output(
        Command::new(top().join("image/qemu"))
            .arg("--disk")
            .arg(&img)
            .args(["--append", "nsinit.marker=1", "--append", "nsinit.other=2"])
            .args(["/bin/sh", "-c", &script])
            .env("QEMU_TIMEOUT", "120")
            .stdin(Stdio::null()),
    );
    let console = stdout(&o).replace("\r\n", "\n");
    assert_eq!(
        (o.status.code(), stderr(&o)),
        (Some(0), String::new()),
        "{console}"
    );
    let tree = kernel_tree();
    let names: Vec<String> = default_modules();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut loaded: Vec<String> = resolved(&tree, &names)
        .iter()
        .map(|r| {
            Path::new(r)
                .file_stem()
                .unwrap()
                .to_str()
                .unwrap()
                .replace('-', "_")
        })
        .map(|n| format!("mod: {n}"))
        .collect();
    loaded.sort();
    let seen: Vec<&str> = console.lines().filter(|l| l.starts_with("mod: ")).collect();
    assert_eq!(seen, loaded, "{console}");
    let line = |prefix: &str| {
        let found: Vec<&str> = console
            .lines()
            .filter_map(|l| l.strip_prefix(prefix))
            .collect();
        assert_eq!(found.len(), 1, "{prefix}: {console}");
        found[0].to_string()
    };
    assert_eq!(line("file: "), marker);
    assert_eq!(line("dev: "), "/dev/vda");
    let cmdline = line("cmdline: ");
    let (kernel, init) = cmdline.split_once(" -- ").unwrap();
    assert!(
        kernel.ends_with(" i8042.nopnp nsinit.marker=1 nsinit.other=2"),
        "{cmdline}"
    );
    assert!(
        init.starts_with("--debug-exit /bin/sh -c \"for m in"),
        "{cmdline}"
    );
    let last = console
        .lines()
        .rev()
        .find(|l| l.starts_with("nsinit: payload"));
    assert_eq!(
        last,
        Some("nsinit: payload exited with status 0; powering off")
    );
    assert!(!console.contains("Kernel panic"), "{console}");
}
