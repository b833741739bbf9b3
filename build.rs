// The nsinit binary has its own `_start` and no libc: link it static, without
// the C runtime's start files or libraries. Only the binary gets these flags;
// the library and its host tests link normally against std.
use std::{env, fs, path::PathBuf};

fn main() {
    // panic=abort never unwinds, yet the prebuilt core brings unwind tables:
    // drop them (8.8 KB of the binary, measured). INSERT keeps lld's default
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
        // lld's -O2: a string that ends another one is kept once, as the
        // other's tail (32 bytes less, measured). Only .rodata's layout
        // changes.
        "-Wl,-O2",
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

    // Texts only a --help or an error reads, packed (see report::unpack).
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    for name in ["usage.txt", "errnos.txt"] {
        let path = format!("src/{name}");
        println!("cargo:rerun-if-changed={path}");
        let text = fs::read(&path).unwrap();
        fs::write(out.join(format!("{name}.lz")), pack(&text)).unwrap();
    }
}

/// LZ77 with a 2 KB window: the longest earlier match of 3 to 18 bytes
/// becomes two bytes `1LLLLOOO OOOOOOOO` (length - 3, distance - 1); any
/// other byte stays itself, which is why the texts must be ASCII.
fn pack(text: &[u8]) -> Vec<u8> {
    assert!(text.is_ascii(), "packed texts must be ASCII");
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let (mut len, mut back) = (0, 0);
        for start in i.saturating_sub(2048)..i {
            let n = (0..18.min(text.len() - i))
                .take_while(|&k| text[start + k] == text[i + k])
                .count();
            if n > len {
                (len, back) = (n, i - start);
            }
        }
        if len >= 3 {
            out.push(0x80 | ((len - 3) << 3) as u8 | ((back - 1) >> 8) as u8);
            out.push((back - 1) as u8);
            i += len;
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    out
}
