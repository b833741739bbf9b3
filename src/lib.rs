//! nsinit: start a program in new Linux namespaces, and be PID 1 of a
//! minimal VM. `no_std` and libc-free in the binary; built with std only for
//! the host unit tests of the pure parts (cli, idmap, num, signals, argv, bootline).
//!
//! The binary must stay within 48 KiB (`make size`). Each `#[inline(never)]`
//! here says why it is there: a measured saving in bytes, or a stack
//! frame that must stay small or come first.
#![cfg_attr(not(test), no_std)]

pub mod argv;
pub mod boot;
pub mod bootline;
pub mod child;
pub mod cli;
pub mod exec;
pub mod identity;
pub mod idmap;
pub mod init;
pub mod launch;
pub mod mounts;
pub mod num;
pub mod report;
pub mod sealed;
pub mod seccomp;
pub mod signals;
pub mod spec;
pub mod supervise;
pub mod sys;
pub mod words;
