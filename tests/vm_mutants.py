#!/usr/bin/env python3
"""The PID-1 mutants, with the VM tests as the oracle (`make mutants-vm`).

cargo-mutants runs the host tests only: the VM tests boot an initramfs that
must be rebuilt around each mutant's binary. This applies each mutant below
(the survivors of the host run in PID 1's code, written against today's
src/) to a scratch copy of HEAD, rebuilds the initramfs and runs every VM
test but the reproducibility one (which builds from the checkout's own
paths). About a minute a mutant on 2 cores. Prints CAUGHT or MISSED
and the tests that failed; `tests/vm_mutants.py 0 3` runs mutants 0 and 3.

`tests/vm_mutants.py --survivors DIR` instead takes cargo-mutants' own
diffs: each mutant `make mutants` left missed (DIR/outcomes.json, DIR a
mutants.out) in the code only PID 1 of a VM runs (PID1_CODE)."""
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

TOP = pathlib.Path(__file__).resolve().parent.parent
MUTANTS = [
    ("VM_STOP: | -> &", "src/supervise.rs",
     "pub const VM_STOP: SigSet = sig_bit(k::SIGINT) | sig_bit(k::SIGTERM)",
     "pub const VM_STOP: SigSet = sig_bit(k::SIGINT) & sig_bit(k::SIGTERM)"),
    ("a VM's forwarded set: & !VM_STOP -> & VM_STOP", "src/supervise.rs",
     "forward: FORWARDED & !VM_STOP,", "forward: FORWARDED & VM_STOP,"),
    ("init::main blocks SYNC_FAULTS instead of all the others", "src/init.rs",
     "let _ = sys::sigprocmask(k::SIG_BLOCK, !SYNC_FAULTS);",
     "let _ = sys::sigprocmask(k::SIG_BLOCK, SYNC_FAULTS);"),
    ("early --debug: || -> &&", "src/init.rs",
     'a.to_bytes() == b"--debug" || a.to_bytes() == b"-v"',
     'a.to_bytes() == b"--debug" && a.to_bytes() == b"-v"'),
    ("take_console does nothing", "src/init.rs",
     "fn take_console() {", "fn take_console() { return;"),
    ("reap_for returns true at once", "src/init.rs",
     "fn reap_for(sup: &Supervisor, status: &mut Option<Exit>, micros: u64) -> bool {",
     "fn reap_for(sup: &Supervisor, status: &mut Option<Exit>, micros: u64) -> bool {"
     " if true { let _ = (sup, status, micros); return true; }"),
    ("the grace period in microseconds: * -> /", "src/init.rs",
     "unwrap_or(DEFAULT_GRACE_SECS)) * 1_000_000;",
     "unwrap_or(DEFAULT_GRACE_SECS)) / 1_000_000;"),
    ("mount_early does nothing", "src/mounts.rs",
     "pub fn mount_early() {", "pub fn mount_early() { return;"),
    ("VM_STOP: INT | (TERM & PWR): TERM and PWR forwarded instead", "src/supervise.rs",
     "sig_bit(k::SIGTERM) | sig_bit(k::SIGPWR)", "sig_bit(k::SIGTERM) & sig_bit(k::SIGPWR)"),
    ("the grace period in microseconds: * -> +", "src/init.rs",
     "unwrap_or(DEFAULT_GRACE_SECS)) * 1_000_000;",
     "unwrap_or(DEFAULT_GRACE_SECS)) + 1_000_000;"),
    ("reap_for's deadline: + -> *", "src/init.rs",
     "let deadline = sys::monotonic_micros() + micros;",
     "let deadline = sys::monotonic_micros() * micros;"),
    ("reap_for: delete ! (KILL only when nothing is left)", "src/init.rs",
     "return !reaped.none_left;", "return reaped.none_left;"),
    ("sigtimedwait's seconds: / -> %", "src/sys.rs",
     "tv_sec: (ms / 1000) as i64,", "tv_sec: (ms % 1000) as i64,"),
    ("kill_all does nothing", "src/sys.rs",
     "    kill(-1, sig)\n}", "    let _ = sig; Ok(())\n}"),
    ("kill_all: kill(1) instead of kill(-1)", "src/sys.rs",
     "    kill(-1, sig)\n}", "    kill(1, sig)\n}"),
    ("write_io_port does nothing", "src/sys.rs",
     "pub fn write_io_port(port: u16, value: u32) -> Result<(), Errno> {",
     "pub fn write_io_port(port: u16, value: u32) -> Result<(), Errno> {"
     " if true { let _ = (port, value); return Ok(()); }"),
    ("is_mount_root always true", "src/mounts.rs",
     "fn is_mount_root(path: &CStr) -> bool {",
     "fn is_mount_root(path: &CStr) -> bool { if true { let _ = path; return true; }"),
]


# What only PID 1 of a VM runs: init.rs, and these functions elsewhere.
PID1_CODE = ("src/init.rs:", "mount_early", "mount_missing", "is_mount_root", "kill_all",
             "write_io_port", "sigtimedwait", "Role::console_session", "Role::signals_default",
             "replace warn with ()", "src/supervise.rs:45:", "Supervisor::vm_init")


def survivors(out):
    """(name, diff) of each missed mutant of PID 1's code in `out`."""
    import json
    outcomes = json.load(open(pathlib.Path(out) / "outcomes.json"))["outcomes"]
    found = []
    for o in outcomes:
        if not isinstance(o["scenario"], dict) or o["summary"] != "MissedMutant":
            continue
        name = o["scenario"]["Mutant"]["name"]
        # `^` for `|` of disjoint bits is equivalent (.cargo/mutants.toml).
        if any(p in name for p in PID1_CODE) and "replace | with ^" not in name:
            found.append((name, (pathlib.Path(out) / o["diff_path"]).read_text()))
    return found


def apply(wt, mutant):
    """Applies a MUTANTS entry, or a cargo-mutants diff, to the worktree."""
    if isinstance(mutant, tuple) and len(mutant) == 2:
        name, diff = mutant
        path = diff.splitlines()[0].split()[1]
        subprocess.run(["patch", "-s", "-p0", path], cwd=wt, input=diff, text=True, check=True)
        return name
    name, path, old, new = mutant
    f = wt / path
    text = f.read_text()
    assert old in text, f"mutant no longer applies: {name}"
    f.write_text(text.replace(old, new, 1))
    return name


def main(only):
    mutants = MUTANTS
    if only[:1] == ["--survivors"]:
        mutants, only = survivors(only[1]), only[2:]
        print(f"{len(mutants)} survivors in PID 1's code", flush=True)
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="nsinit-vm-mutants-"))
    wt, target = scratch / "src", scratch / "target"
    subprocess.run(["git", "-C", str(TOP), "worktree", "add", "-q", "--detach", str(wt)], check=True)
    try:
        (wt / "build").mkdir()
        for part in ["kernel", "busybox"]:
            shutil.copytree(TOP / "build" / part, wt / "build" / part, symlinks=True)
        env = {**__import__("os").environ, "CARGO_TARGET_DIR": str(target)}
        binary = target / "x86_64-unknown-linux-gnu/release/nsinit"
        results = []
        for i, mutant in enumerate(mutants):
            if only and str(i) not in only:
                continue
            subprocess.run(["git", "checkout", "-q", "--", "src"], cwd=wt, check=True)
            name = apply(wt, mutant)
            start = time.time()
            subprocess.run(["make", "initramfs", f"BIN={binary}"], cwd=wt, env=env,
                           check=True, capture_output=True)
            r = subprocess.run(["cargo", "test", "--release", "--test", "vm", "--", "--ignored",
                                "--test-threads=2", "--skip", "initramfs_is_reproducible"],
                               cwd=wt, env=env, capture_output=True, text=True)
            failed = [l.split()[1] for l in r.stdout.splitlines()
                      if l.startswith("test ") and l.endswith("FAILED")]
            verdict = "CAUGHT" if failed else ("ERROR" if r.returncode else "MISSED")
            results.append(verdict)
            print(f"{verdict} {i} {name} ({time.time() - start:.0f} s) {' '.join(failed)}", flush=True)
        print(f"vm mutants: {results.count('CAUGHT')} caught, {results.count('MISSED')} missed,"
              f" {results.count('ERROR')} errors")
    finally:
        subprocess.run(["git", "-C", str(TOP), "worktree", "remove", "--force", str(wt)])
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
