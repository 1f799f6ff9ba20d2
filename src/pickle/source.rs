//! The bytes of one input file, without holding the file in memory.
//!
//! Small files are read; large ones are memory-mapped read-only, and the
//! analysis tells the mapping which prefix it has passed so those pages are
//! dropped from the process (`MADV_DONTNEED`: a later look back — a literal's
//! preview, a STACK_GLOBAL operand, a `--dump` decode — faults them in again
//! from the page cache). Resident memory is then the window being scanned plus
//! what the analysis keeps, whatever the file size.
//!
//! A mapping of a file that another process truncates while it is read would
//! fault (SIGBUS); inputs are files at rest, so the speed and bounded memory
//! are worth that. Set `PICKLECOST_NO_MMAP=1` to always read.

use std::path::Path;

/// Below this, reading is cheaper than mapping.
const MAP_FROM: u64 = 4 << 20;

pub(crate) enum Source {
    Owned(Vec<u8>),
    #[cfg(target_os = "linux")]
    Mapped(map::Mapping),
}

impl Source {
    pub(crate) fn open(path: &Path) -> std::io::Result<Source> {
        #[cfg(target_os = "linux")]
        {
            let file = std::fs::File::open(path)?;
            let len = file.metadata()?.len();
            if len >= MAP_FROM
                && std::env::var_os("PICKLECOST_NO_MMAP").is_none()
                && let Some(m) = map::Mapping::new(&file, len)
            {
                return Ok(Source::Mapped(m));
            }
            use std::io::Read;
            let mut data = Vec::with_capacity(len as usize);
            (&file).read_to_end(&mut data)?;
            Ok(Source::Owned(data))
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = MAP_FROM;
            std::fs::read(path).map(Source::Owned)
        }
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Source::Owned(v) => v,
            #[cfg(target_os = "linux")]
            Source::Mapped(m) => m.bytes(),
        }
    }

    /// The analysis has passed `upto`; the pages before it may be dropped.
    pub(crate) fn release_before(&self, upto: usize) {
        match self {
            Source::Owned(_) => {}
            #[cfg(target_os = "linux")]
            Source::Mapped(m) => m.release_before(upto),
        }
    }
}

#[cfg(target_os = "linux")]
mod map {
    use std::ffi::c_void;
    use std::os::fd::AsRawFd;

    unsafe extern "C" {
        fn mmap(addr: *mut c_void, len: usize, prot: i32, flags: i32, fd: i32, off: i64) -> *mut c_void;
        fn munmap(addr: *mut c_void, len: usize) -> i32;
        fn madvise(addr: *mut c_void, len: usize, advice: i32) -> i32;
        fn sysconf(name: i32) -> i64;
    }
    const PROT_READ: i32 = 1;
    const MAP_PRIVATE: i32 = 2;
    const MADV_SEQUENTIAL: i32 = 2;
    const MADV_DONTNEED: i32 = 4;
    const SC_PAGESIZE: i32 = 30;

    /// A read-only private mapping of a whole file.
    pub(crate) struct Mapping {
        ptr: *mut c_void,
        len: usize,
        page: usize,
    }

    // The mapping is read-only and never changes after creation.
    unsafe impl Send for Mapping {}
    unsafe impl Sync for Mapping {}

    impl Mapping {
        pub(crate) fn new(file: &std::fs::File, len: u64) -> Option<Mapping> {
            let len = usize::try_from(len).ok().filter(|&l| l > 0)?;
            // SAFETY: a fresh read-only private mapping of an open file; the
            // result is checked against MAP_FAILED before use.
            let ptr = unsafe {
                mmap(
                    std::ptr::null_mut(),
                    len,
                    PROT_READ,
                    MAP_PRIVATE,
                    file.as_raw_fd(),
                    0,
                )
            };
            if ptr as isize == -1 || ptr.is_null() {
                return None;
            }
            // SAFETY: advice on our own mapping; failure is harmless.
            let page = unsafe {
                madvise(ptr, len, MADV_SEQUENTIAL);
                sysconf(SC_PAGESIZE)
            };
            let page = usize::try_from(page)
                .ok()
                .filter(|p| p.is_power_of_two())
                .unwrap_or(4096);
            Some(Mapping { ptr, len, page })
        }

        pub(crate) fn bytes(&self) -> &[u8] {
            // SAFETY: ptr..ptr+len is mapped readable for the life of self.
            unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.len) }
        }

        pub(crate) fn release_before(&self, upto: usize) {
            let end = upto.min(self.len) & !(self.page - 1);
            if end > 0 {
                // SAFETY: drops resident pages of a read-only file mapping;
                // the range stays mapped and reads fault the file back in.
                unsafe {
                    madvise(self.ptr, end, MADV_DONTNEED);
                }
            }
        }
    }

    impl Drop for Mapping {
        fn drop(&mut self) {
            // SAFETY: unmapping what `new` mapped, once.
            unsafe {
                munmap(self.ptr, self.len);
            }
        }
    }
}
