//! The operating system's calls filedeck makes beyond std: the one module allowed `unsafe`.
//! Safe wrappers come from rustix where it has them; each remaining FFI call says why it is
//! sound. Everything here degrades to "unknown" or a no-op where the call does not exist.

use std::fs::File;
use std::io;
use std::path::Path;

/// Bulk hashing, disk and network work yields to the drawing thread (nice 10). Applies to
/// the calling thread; threads it starts inherit it.
pub fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    {
        let tid = rustix::thread::gettid();
        // Best effort: at worst the thread keeps the default priority.
        let _ = rustix::process::setpriority_process(Some(tid), 10);
    }
}

/// Bytes available to an unprivileged user on the filesystem holding `dir`.
pub fn free_space(dir: &Path) -> Option<u64> {
    let st = rustix::fs::statvfs(dir).ok()?;
    st.f_bavail.checked_mul(st.f_frsize)
}

/// The real user id of this process.
pub fn user_id() -> u32 {
    rustix::process::getuid().as_raw()
}

/// Point standard output and error at `to` (after a hang-up: /dev/null).
pub fn redirect_stdio(to: &File) -> io::Result<()> {
    rustix::stdio::dup2_stdout(to)?;
    rustix::stdio::dup2_stderr(to)?;
    Ok(())
}

/// Stop the whole process group, as Ctrl-Z in a shell does; returns after `SIGCONT`.
pub fn stop_process_group() -> io::Result<()> {
    rustix::process::kill_current_process_group(rustix::process::Signal::TSTP)?;
    Ok(())
}

/// The open-file limit, before and after raising the soft limit to the hard one.
pub struct FileLimit {
    pub before: Option<u64>,
    pub soft: Option<u64>,
    pub hard: Option<u64>,
    /// Why raising failed, if it did.
    pub error: Option<io::Error>,
}

/// Raise the soft open-file limit to the hard one. `None` in a field means unlimited.
pub fn raise_open_file_limit() -> FileLimit {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let lim = getrlimit(Resource::Nofile);
    let mut out = FileLimit {
        before: lim.current,
        soft: lim.current,
        hard: lim.maximum,
        error: None,
    };
    let below = match (lim.current, lim.maximum) {
        (Some(soft), Some(hard)) => soft < hard,
        (Some(_), None) => true,
        (None, _) => false,
    };
    if below {
        let raised = Rlimit {
            current: lim.maximum,
            maximum: lim.maximum,
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => out.soft = lim.maximum,
            Err(e) => out.error = Some(e.into()),
        }
    }
    out
}

/// Bytes in a socket's send queue the peer has not yet acknowledged.
#[cfg(target_os = "linux")]
#[expect(
    unsafe_code,
    reason = "rustix has no safe SIOCOUTQ; the ioctl writes one int through a valid pointer"
)]
pub fn send_queue(socket: std::os::fd::RawFd) -> Option<usize> {
    let mut queued: libc::c_int = 0;
    // SAFETY: SIOCOUTQ (= TIOCOUTQ) writes one int through the valid pointer given; a stale
    // descriptor at worst makes it fail.
    let r = unsafe { libc::ioctl(socket, libc::TIOCOUTQ, &mut queued) };
    if r != 0 {
        return None;
    }
    usize::try_from(queued).ok()
}

/// Unknown off Linux: a stalled send is then judged on the socket's writability alone.
#[cfg(not(target_os = "linux"))]
pub fn send_queue(_socket: std::os::fd::RawFd) -> Option<usize> {
    None
}

/// Ask the kernel to start writing `len` bytes of `file` from `offset` back to disk, without
/// waiting: a long download then never builds a gigabyte of dirty pages.
#[cfg(target_os = "linux")]
#[expect(
    unsafe_code,
    reason = "sync_file_range has no safe wrapper in rustix or std"
)]
pub fn start_write_back(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (
        libc::off64_t::try_from(offset),
        libc::off64_t::try_from(len),
    ) else {
        return;
    };
    // SAFETY: a valid open descriptor and a range inside the file; the call only asks the
    // kernel to start writing those pages back and touches no memory of ours.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
    }
}

#[cfg(not(target_os = "linux"))]
pub fn start_write_back(_file: &File, _offset: u64, _len: u64) {}

/// Hand freed heap pages back to the kernel (glibc keeps them otherwise).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(unsafe_code, reason = "malloc_trim is glibc's; no safe wrapper exists")]
pub fn release_freed_memory() {
    // SAFETY: malloc_trim only returns free heap pages to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_freed_memory() {}

/// One malloc arena for the whole process. Must run before any other thread exists.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(unsafe_code, reason = "mallopt is glibc's; no safe wrapper exists")]
pub fn limit_malloc_arenas() {
    // SAFETY: mallopt only tunes the allocator; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn limit_malloc_arenas() {}
