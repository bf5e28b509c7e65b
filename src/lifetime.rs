//! How long the process lives. The `nixflux` binary runs one command and
//! ends: what the command still holds when it is done (the trees of a
//! bundle's index and records, a runtime's threads, the allocator's pages)
//! is the kernel's to reclaim, whole and at once, so the binary neither
//! frees it piece by piece nor waits for threads to wind down. A library
//! caller (the tests run hundreds of publishes in one process) never turns
//! this on and gets the usual drops.

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

static ENDS_WITH_COMMAND: AtomicBool = AtomicBool::new(false);

/// Declares that the process ends when its command returns (`main` only).
pub fn ends_with_command() {
    ENDS_WITH_COMMAND.store(true, Ordering::Relaxed);
}

/// Whether the process ends when its command returns.
pub fn ends_with_command_set() -> bool {
    ENDS_WITH_COMMAND.load(Ordering::Relaxed)
}

/// Whether later page faults of this process may be served with
/// transparent huge pages. mimalloc asks for them, which pays off when a
/// render fills its memory; a publish touches a little of each 2 MiB page
/// and the kernel would zero all of it (a fifth of a 1000-app publish's
/// time, and the allocator's first arena alone cost a huge page). So
/// `main` turns them off before anything is allocated and back on for the
/// commands that render.
pub fn huge_pages(on: bool) {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes integer arguments and changes only
    // how this process's later page faults are served.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, libc::c_ulong::from(!on), 0, 0, 0);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = on;
}

/// Gives up `value` without waiting for it to be freed: in a process that
/// ends with its command it is left to the kernel; otherwise it is freed on
/// a thread of its own (a large tree of small allocations takes
/// milliseconds to free, which whatever comes next need not wait for).
pub fn let_go<T: Send + 'static>(value: T) {
    if ends_with_command_set() {
        std::mem::forget(value);
    } else {
        std::thread::spawn(move || drop(value));
    }
}

/// Ends the process with `code` once stdout and stderr are flushed, without
/// running exit handlers: the allocator's handler would hand every page
/// back to the kernel one range at a time just before the kernel takes
/// them all anyway (a few milliseconds of a one-app publish).
pub fn exit(code: ExitCode) -> ! {
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // `ExitCode` does not give its number back; it is one of these.
    let number = (0..=u8::MAX).find(|&n| ExitCode::from(n) == code).map_or(1, i32::from);
    // SAFETY: `_exit` takes an integer and does not return; nothing this
    // process wrote is left in a user-space buffer (flushed above, and the
    // commands close their files before they return).
    unsafe { libc::_exit(number) }
}
