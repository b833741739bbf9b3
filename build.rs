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
        "SECTIONS { /DISCARD/ : { *(.eh_frame) *(.eh_frame_hdr) *(.comment) } } INSERT AFTER .text;\n",
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
    // Section headers serve only debuggers, nm and readelf -S (the loader
    // reads program headers): kept only in a build that keeps its symbols,
    // CARGO_PROFILE_RELEASE_STRIP=false, for profiling and size work.
    println!("cargo:rerun-if-env-changed=CARGO_PROFILE_RELEASE_STRIP");
    if env::var_os("CARGO_PROFILE_RELEASE_STRIP").is_none_or(|v| v != "false") {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,nosectionheader");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
