// The nsinit binary has its own `_start` and no libc: link it static, without
// the C runtime's start files or libraries. Only the binary gets these flags;
// the library and its host tests link normally against std.
fn main() {
    for arg in ["-nostartfiles", "-nostdlib", "-static", "-Wl,--gc-sections", "-Wl,--build-id=none"] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
