//! Who the payload is inside: the ids it switches to. (Capabilities and
//! no_new_privs belong here too.)

use crate::report::{fail_hint, Failed};
use crate::spec::Spec;
use rustix::io::Errno;

/// `--gid` then `--uid`, all three ids each (real, effective, saved), and
/// no supplementary groups where the kernel lets us drop them (it does not
/// once setgroups is "deny", and then there are none to drop).
/// rustix's `set_thread_*` are the raw per-thread system calls, which is all
/// there is to change: nsinit has a single thread.
pub fn switch_ids(spec: &Spec) -> Result<(), Failed> {
    use rustix::process::{Gid, Uid};
    use rustix::thread::{set_thread_groups, set_thread_res_gid, set_thread_res_uid};
    let unmapped_if = |e| match e {
        Errno::INVAL => "the id is not mapped in the user namespace: see --map-users/--map-groups",
        _ => "",
    };
    if let Some(gid) = spec.gid {
        let g = Gid::from_raw(gid);
        let _ = set_thread_groups(&[]);
        set_thread_res_gid(g, g, g).map_err(|e| fail_hint("setresgid", b"", e, unmapped_if(e)))?;
    }
    if let Some(uid) = spec.uid {
        let u = Uid::from_raw(uid);
        set_thread_res_uid(u, u, u).map_err(|e| fail_hint("setresuid", b"", e, unmapped_if(e)))?;
    }
    Ok(())
}
