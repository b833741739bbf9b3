// The nsinit binary has its own `_start` and no libc: link it static, without
// the C runtime's start files or libraries. Only the binary gets these flags;
// the library and its host tests link normally against std.
use std::{env, fs, path::PathBuf};

fn main() {
    // panic=abort never unwinds, yet the prebuilt core brings unwind tables:
    // drop them (a few KB of a ~30 KB binary). INSERT keeps lld's default
    // layout for everything else.
    let script = PathBuf::from(env::var_os("OUT_DIR").unwrap()).join("no-unwind-tables.ld");
    fs::write(
        &script,
        "SECTIONS { /DISCARD/ : { *(.eh_frame) *(.eh_frame_hdr) } } INSERT AFTER .text;\n",
    )
    .unwrap();
    let script = format!("-Wl,-T,{}", script.display());
    for arg in [
        "-nostartfiles",
        "-nostdlib",
        "-static",
        "-Wl,--gc-sections",
        "-Wl,--build-id=none",
        "-Wl,--no-eh-frame-hdr",
        "-Wl,--icf=all",
        "-Wl,-z,norelro",
        &script,
    ] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
