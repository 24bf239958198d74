//! Which threads the kernel runs first when the cores are busy. Eight transfers hash and
//! copy gigabytes on every core; a key press must still reach the screen at once.

/// Bulk hashing, disk and network work yields to the drawing thread (nice 10). Applies to
/// the calling thread; threads it starts inherit it.
pub fn background() {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid and setpriority on the calling thread; no memory is touched.
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 10);
    }
}
