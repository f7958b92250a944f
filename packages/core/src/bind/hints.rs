//! Hints for the errors a leftover object causes. Shared memory outlives
//! the process that made it, so the usual reason a create fails with EEXIST
//! is an earlier run that died (Ctrl-C, a crash) without removing its
//! object. The hint names the command that shows and removes it: the
//! `shmkit` command of @shmkit/cli, which `npx` runs without an install.

use super::error::SyscallError;

/// Which `shmkit rm --type` an object is; the CLI's type names.
#[derive(Clone, Copy)]
pub enum Kind {
    PosixShm,
    PosixSem,
    SysvShm,
    SysvSem,
    Fifo,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::PosixShm => "posix-shm",
            Kind::PosixSem => "posix-sem",
            Kind::SysvShm => "sysv-shm",
            Kind::SysvSem => "sysv-sem",
            Kind::Fifo => "fifo",
        }
    }
}

/// The hint for "the name (or key) is taken": how to see and remove what
/// holds it. `target` is how `shmkit` names the object: '/name', a key in
/// hex, or a path.
pub fn name_taken(kind: Kind, target: &str) -> String {
    const CLUE: &str = "maybe by an earlier run that did not clean up";
    let t = kind.name();
    match kind {
        // FIFOs live anywhere in the file system, so `ls` cannot list them.
        Kind::Fifo => format!(
            "the path is taken, {CLUE}: `npx @shmkit/cli inspect {target}` shows who has it open, `npx @shmkit/cli rm {target}` removes a FIFO, or pass {{ reuse: true }} to accept an existing FIFO"
        ),
        Kind::SysvShm | Kind::SysvSem => format!(
            "the key is taken, {CLUE}: `npx @shmkit/cli ls` lists it, `npx @shmkit/cli rm --type {t} {target}` removes it"
        ),
        Kind::PosixShm | Kind::PosixSem => format!(
            "the name is taken, {CLUE}: `npx @shmkit/cli ls` lists it, `npx @shmkit/cli rm --type {t} {target}` removes it"
        ),
    }
}

/// Adds [`name_taken`]'s hint to an EEXIST that has no hint yet; other
/// errors pass unchanged.
pub fn on_exists(error: SyscallError, kind: Kind, target: &str) -> SyscallError {
    if error.error.errno() == libc::EEXIST && error.hint.is_none() {
        error.hint(name_taken(kind, target))
    } else {
        error
    }
}

/// The key as `shmkit` and `ipcs` print it.
pub fn key_target(key: u32) -> String {
    format!("0x{key:08x}")
}
