//! Who the payload is inside and what it may do: the ids it runs as and
//! its capabilities (its seccomp filters: seccomp.rs).

use crate::idmap::IdMap;
use crate::report::{fail, fail_hint, fail_why, Failed};
use crate::spec::{Spec, CAP_NAMES};
use rustix::io::Errno;

fn unmapped_if(e: Errno) -> &'static str {
    match e {
        Errno::INVAL => "the id is not mapped in the user namespace: see --map-users/--map-groups",
        _ => "",
    }
}

/// `gid`, then `uid` (all three ids each: real, effective, saved), with no
/// supplementary groups where the kernel lets us drop them (not once
/// setgroups is "deny"; then the caller's own groups stay, as under
/// unshare). rustix's `set_thread_*` are the raw per-thread system calls,
/// which is all there is to change: nsinit has a single thread.
fn set_ids(uid: Option<u32>, gid: Option<u32>) -> Result<(), Failed> {
    use rustix::process::{Gid, Uid};
    use rustix::thread::{set_thread_groups, set_thread_res_gid, set_thread_res_uid};
    if uid.is_none() && gid.is_none() {
        return Ok(());
    }
    let _ = set_thread_groups(&[]);
    if let Some(gid) = gid {
        let g = Gid::from_raw(gid);
        set_thread_res_gid(g, g, g).map_err(|e| fail_hint("setresgid", b"", e, unmapped_if(e)))?;
    }
    if let Some(uid) = uid {
        let u = Uid::from_raw(uid);
        set_thread_res_uid(u, u, u).map_err(|e| fail_hint("setresuid", b"", e, unmapped_if(e)))?;
    }
    Ok(())
}

/// `--uid`/`--gid` (the parser makes `--uid=N` alone mean `--gid=N` too),
/// the very last of the id changes: every capability goes with uid 0.
fn switch_ids(spec: &Spec) -> Result<(), Failed> {
    set_ids(spec.uid, spec.gid)
}

/// Right after the maps are written. A map of ranges that leaves out the
/// caller's own id (`--map-users` as root) leaves this process with the
/// caller's kernel id: "nobody" inside, yet root to every file permission
/// check on the host's files. It takes a mapped id at once: inner 0 where
/// the ranges map it (so the setup keeps its capabilities), else the
/// `--uid`/`--gid` asked for (the parser insists on one of the two).
pub fn take_mapped_ids(spec: &Spec) -> Result<(), Failed> {
    let mapped = |map: &IdMap, asked: Option<u32>| match map.ranges_only() {
        false => None,
        true if map.maps_inner(0) => Some(0),
        true => asked,
    };
    set_ids(
        mapped(&spec.uid_map, spec.uid),
        mapped(&spec.gid_map, spec.gid),
    )
}

/// The privilege steps, once, in the order the kernel needs them: the
/// bounding set while CAP_SETPCAP is still there, the ids (a switch away
/// from uid 0 empties the permitted set, unless told to keep it for the
/// capabilities asked for), the capability sets, then no_new_privs, so
/// that no setuid file or file capability can raise what the payload has
/// (as under bubblewrap). The seccomp filters come last of all, just
/// before execve (seccomp.rs), so that nothing of nsinit's own runs
/// under them.
pub fn lock_down(spec: &Spec) -> Result<(), Failed> {
    let caps = wanted_caps(spec)?;
    if let Some(want) = caps {
        drop_bounding(want, !spec.allow_new_privs)?;
        if want != 0 {
            rustix::thread::set_keep_capabilities(true)
                .map_err(|e| fail("prctl", b"PR_SET_KEEPCAPS", e))?;
        }
    }
    switch_ids(spec)?;
    if let Some(want) = caps {
        set_capabilities(want)?;
    }
    if !spec.allow_new_privs {
        rustix::thread::set_no_new_privs(true)
            .map_err(|e| fail("prctl", b"PR_SET_NO_NEW_PRIVS", e))?;
    }
    Ok(())
}

/// The capabilities the payload gets in all five sets, or `None` where
/// the kernel's rules decide (an unshare-style run: root inside keeps its
/// user namespace's full set; any other uid loses them at execve). A
/// bubblewrap-style sandbox gets none, so that uid 0 inside cannot undo a
/// read-only bind, unmount a cover or remount anything. `--cap-add` and
/// `--cap-drop` start from that default, as bubblewrap's do.
fn wanted_caps(spec: &Spec) -> Result<Option<u64>, Failed> {
    let Some(caps) = spec.caps else {
        return Ok(spec.sandbox.then_some(0));
    };
    let held = held_caps()?;
    let root_inside = spec
        .uid
        .map_or_else(|| rustix::process::geteuid().is_root(), |uid| uid == 0);
    let default = if root_inside && !spec.sandbox {
        held
    } else {
        0
    };
    // Silently leaving one out would run the payload without what it
    // was promised.
    let missing = caps.add & !held;
    if missing != 0 {
        let name = crate::words::nth(CAP_NAMES, missing.trailing_zeros() as usize);
        return Err(fail_why(
            "--cap-add",
            name.unwrap_or(b""),
            "not held by nsinit in the payload's user namespace",
            "root in a new user namespace (-r) holds every one",
        ));
    }
    Ok(Some(caps.result(default, held)))
}

/// The permitted set: every capability nsinit holds here.
fn held_caps() -> Result<u64, Failed> {
    let sets = rustix::thread::capabilities(None).map_err(|e| fail("capget", b"", e))?;
    Ok(sets.permitted.bits())
}

/// From <linux/capability.h>: the highest capability number the kernel may
/// know; PR_CAPBSET_DROP answers EINVAL past the last one it does know.
const CAP_LAST_POSSIBLE: u32 = 63;

/// Out of the bounding set: what it leaves out, no execve can bring back.
/// Dropping needs CAP_SETPCAP, so this comes before the ids change.
/// Without it (a caller with no capabilities) the set stays as it is,
/// where nothing is exec'd with more than the permitted set anyway:
/// under no_new_privs (`nnp`), or in a process that execs nothing.
fn drop_bounding(want: u64, nnp: bool) -> Result<(), Failed> {
    use rustix::thread::{remove_capability_from_bounding_set, CapabilitySet};
    for cap in (0..=CAP_LAST_POSSIBLE).filter(|cap| want & 1 << cap == 0) {
        match remove_capability_from_bounding_set(CapabilitySet::from_bits_retain(1 << cap)) {
            Ok(()) => {}
            Err(Errno::INVAL) => break,
            Err(Errno::PERM) if nnp => break,
            Err(e) => return Err(fail("prctl", b"PR_CAPBSET_DROP", e)),
        }
    }
    Ok(())
}

/// `want` as the effective, permitted and inheritable sets, and as the
/// ambient set, which is what carries capabilities across the execve of
/// a program run by a uid other than 0.
fn set_capabilities(want: u64) -> Result<(), Failed> {
    use rustix::thread::{
        clear_ambient_capability_set, configure_capability_in_ambient_set, CapabilitySet,
        CapabilitySets,
    };
    let set = CapabilitySet::from_bits_retain(want);
    let sets = CapabilitySets {
        effective: set,
        permitted: set,
        inheritable: set,
    };
    clear_ambient_capability_set()
        .and_then(|()| rustix::thread::set_capabilities(None, sets))
        .map_err(|e| fail("capset", b"", e))?;
    for cap in (0..64).filter(|cap| want & 1 << cap != 0) {
        let one = CapabilitySet::from_bits_retain(1 << cap);
        configure_capability_in_ambient_set(one, true)
            .map_err(|e| fail("prctl", b"PR_CAP_AMBIENT_RAISE", e))?;
    }
    // lock_down's PR_SET_KEEPCAPS has served: `--init` would keep it.
    if want != 0 {
        let _ = rustix::thread::set_keep_capabilities(false);
    }
    Ok(())
}

/// The nsinit that stays beside the payload (`--init`, or a container's
/// PID 1) runs no program of its own, so it keeps nothing but CAP_KILL
/// (to pass signals on to a payload of another uid) and takes the
/// payload's seccomp filters too, as bubblewrap's PID 1 does: a payload
/// that may ptrace it (root without `-U`) could otherwise make it run the
/// calls its own filter denies, with every capability.
pub fn lock_down_beside(spec: &Spec, from_fd: crate::seccomp::FdFilter) -> Result<(), Failed> {
    rustix::thread::set_no_new_privs(true).map_err(|e| fail("prctl", b"PR_SET_NO_NEW_PRIVS", e))?;
    let kill = held_caps()? & 1 << linux_raw_sys::general::CAP_KILL;
    drop_bounding(kill, true)?;
    set_capabilities(kill)?;
    crate::seccomp::load(&spec.seccomp, from_fd, false)
}
