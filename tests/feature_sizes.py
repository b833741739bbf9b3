#!/usr/bin/env python3
"""What each feature costs in bytes of the nsinit binary: the release build
as it is, against the same build with that feature's code left out.

Leaving a feature out means cutting it at the few places the rest of
nsinit reaches it (its option's parser arm, the call of its runtime step);
the compiler and the linker then drop everything only it used. Each cut is
an exact text substitution, and a substitution whose text is no longer in
the source stops the run (so a refactor cannot make a row silently
measure nothing). The sources are copied to build/feature-sizes/; the
working tree is never touched.

Run by `make bench` (section 6 of BENCHMARKS.md), or alone:
python3 tests/feature_sizes.py prints the table.
"""

import os
import shutil
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(TOP, "build", "feature-sizes")
TARGET = "x86_64-unknown-linux-gnu"

# (feature, what a user names, [(file, text, replacement), ...])
FEATURES = [
    ("--rlimit", "resource limits as prlimit(1) sets them", [
        ("src/cli.rs", "Opt::Rlimit => set_rlimit(&mut s.rlimits, v)?,", "Opt::Rlimit => {}"),
        ("src/child.rs", "    set_rlimits(spec)\n}", "    Ok(())\n}"),
    ]),
    ("--cap-add, --cap-drop", "capabilities in all five sets, in bubblewrap's order", [
        ("src/cli.rs", "Opt::CapAdd | Opt::CapDrop => fold_cap(&mut s.caps, opt, v)?,",
         "Opt::CapAdd | Opt::CapDrop => {}"),
        ("src/identity.rs", "let Some(caps) = spec.caps else {", "let Some(caps) = None::<crate::spec::Caps> else {"),
    ]),
    ("--seccomp-deny, -errno, -default, -fd", "seccomp deny lists and compiled filters", [
        ("src/cli.rs", "Opt::SeccompDeny => deny_syscalls(&mut s.seccomp.deny, v)?,", "Opt::SeccompDeny => {}"),
        ("src/cli.rs", "Opt::SeccompDefault => s.seccomp.default = true,", "Opt::SeccompDefault => {}"),
        ("src/cli.rs", "s.seccomp.errno =\n", "let _: u16 =\n"),
        ("src/cli.rs", "s.seccomp.fd = Some(fd.ok_or(\"expected an fd number\")?);",
         "fd.ok_or(\"expected an fd number\")?;"),
        ("src/seccomp.rs", "s.fd.map(read_filter).transpose()", "Ok(None)"),
        ("src/seccomp.rs", "let denied = deny_list(s, &mut prog);", "let denied: &[BpfInsn] = &prog[..0];"),
    ]),
    ("TIOCSTI guard", "no input typed into the caller's terminal (CVE-2017-5226)", [
        ("src/child.rs", "guard_tty: !own_session && crate::seccomp::has_controlling_terminal(),",
         "guard_tty: false,"),
    ]),
    ("mount operations", "bubblewrap's --bind, --tmpfs, --proc, --dev, ... and a fresh root", [
        ("src/cli.rs", "Opt::Mount(kind) => self.mount_op(kind, name, value, second)?,", "Opt::Mount(_) => {}"),
        ("src/child.rs", "        crate::mounts::build_root(spec)?;\n", ""),
    ]),
    ("--init", "tini's job inside the namespaces", [
        ("src/child.rs", "        Ok(()) if spec.stay_as_init => stay_as_init(spec, argv, env, last, from_fd),\n", ""),
    ]),
    ("-T, --monotonic, --boottime", "a time namespace with clock offsets", [
        ("src/child.rs", "        enter_time_namespace(spec)?;\n", ""),
    ]),
    ("PID 1", "init of a VM and of a container: early mounts, reaping, shutdown", [
        ("src/main.rs", "unsafe { nsinit::init::main(argv, env, spec) }",
         "nsinit::sys::exit(unsafe { nsinit::launch::main(argv, env, spec) })"),
    ]),
    ("kernel modules", "PID 1 loads /etc/nsinit/modules, with parameters from the command line", [
        ("src/init.rs", "        crate::boot::run();\n", ""),
    ]),
    ("sealed binary", "nsinit's own binary out of the payload's reach (CVE-2019-5736)", [
        ("src/launch.rs", "crate::sealed::run_from_sealed_copy(spec, Role::Launcher, argv, env)",
         "Ok::<(), Failed>(())"),
        ("src/init.rs", "crate::sealed::run_from_sealed_copy(spec, role, kernel_argv, env)",
         "Ok::<(), Failed>(())"),
        ("src/launch.rs", "    crate::sealed::not_dumpable()?;\n", ""),
    ]),
    ("--help", "the option summary (packed)", [
        ("src/cli.rs", "report::write_packed(Stdio::Out, USAGE_PACKED);", ""),
    ]),
]


def build(tree):
    env = dict(os.environ, CARGO_TARGET_DIR=os.path.join(WORK, "target"))
    # The cuts leave dead code behind: its warnings are expected, and shown
    # only when the build fails.
    done = subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=tree, env=env,
                          stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        sys.exit(f"feature_sizes: the build in {tree} failed:\n{done.stderr}")
    return os.path.getsize(os.path.join(WORK, "target", TARGET, "release", "nsinit"))


def fresh_tree():
    tree = os.path.join(WORK, "tree")
    shutil.rmtree(tree, ignore_errors=True)
    os.makedirs(tree)
    for name in ("Cargo.toml", "Cargo.lock", "build.rs", ".cargo", "src"):
        src = os.path.join(TOP, name)
        # Fresh modification times (shutil.copy, not copy2): cargo rebuilds
        # by them, and every tree has the same path.
        dst = os.path.join(tree, name)
        if os.path.isdir(src):
            shutil.copytree(src, dst, copy_function=shutil.copy)
        else:
            shutil.copy(src, dst)
    return tree


def without(tree, cuts):
    for path, text, replacement in cuts:
        full = os.path.join(tree, path)
        with open(full) as f:
            source = f.read()
        if source.count(text) != 1:
            sys.exit(f"feature_sizes: {path}: {text!r} found {source.count(text)} times, not once")
        with open(full, "w") as f:
            f.write(source.replace(text, replacement))


def measure():
    """[(feature, what, bytes it costs)] and the whole binary's size."""
    whole = build(fresh_tree())
    rows = []
    for feature, what, cuts in FEATURES:
        tree = fresh_tree()
        without(tree, cuts)
        rows.append((feature, what, whole - build(tree)))
    return rows, whole


def main():
    rows, whole = measure()
    print(f"| feature | what it gives | bytes |")
    print("| --- | --- | ---: |")
    for feature, what, cost in rows:
        print(f"| `{feature}` | {what} | {cost} |")
    print(f"\nThe whole binary: {whole} bytes of 49152.")


if __name__ == "__main__":
    main()
