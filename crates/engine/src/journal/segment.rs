//! Segment files: naming, listing, scanning, and the memory-mapped one being written.
//!
//! A segment is a file of a fixed size (`JournalConfig::segment_size`), named after the
//! sequence number of its first record (`00000000000000000001.wal`), created full of zeros (its
//! disk blocks reserved: [`reserve`]) and
//! filled front to back with records. A record never straddles two segments: when the next one
//! does not fit, the writer starts a new segment.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use memmap2::MmapMut;

use super::record::{parse, starts_record, Frame, RawRecord};
use super::JournalError;

/// File extension of segments.
pub const SEGMENT_EXT: &str = "wal";

/// The file name of the segment whose first record is `first_seq`.
pub fn segment_name(first_seq: u64) -> String {
    format!("{first_seq:020}.{SEGMENT_EXT}")
}

/// Segments of `dir`, sorted by first sequence number.
pub fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, JournalError> {
    let mut out = Vec::new();
    let entries = fs::read_dir(dir).map_err(|e| JournalError::io("read_dir", dir, e))?;
    for entry in entries {
        let path = entry.map_err(|e| JournalError::io("read_dir", dir, e))?.path();
        if path.extension().and_then(|e| e.to_str()) != Some(SEGMENT_EXT) {
            continue;
        }
        let first = path
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| JournalError::BadSegmentName { path: path.clone() })?;
        out.push((first, path));
    }
    out.sort();
    Ok(out)
}

/// Reads a whole segment file.
pub fn read_segment(path: &Path) -> Result<Vec<u8>, JournalError> {
    fs::read(path).map_err(|e| JournalError::io("read", path, e))
}

/// How a scan of one segment ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanEnd {
    /// Zeros (or the end of the file) at this offset: the written part ends here.
    Clean { offset: usize },
    /// An invalid record at this offset.
    Bad { offset: usize, reason: &'static str },
}

/// Size of the first record of a segment (`None`: it does not start with a valid record).
pub(crate) fn first_record_size(bytes: &[u8]) -> Option<usize> {
    match parse(bytes, 0) {
        // The writer rolled because the mark and the record after it did not fit together.
        Frame::Record(r) if r.time_mark().is_some() => match parse(bytes, r.size()) {
            Frame::Record(next) => Some(r.size() + next.size()),
            _ => Some(r.size()),
        },
        Frame::Record(r) => Some(r.size()),
        _ => None,
    }
}

/// Walks the records of one segment from the start, handing each to `f` with its offset.
pub(crate) fn scan(bytes: &[u8], mut f: impl FnMut(usize, RawRecord)) -> ScanEnd {
    let mut off = 0;
    loop {
        match parse(bytes, off) {
            Frame::Record(r) => {
                let size = r.size();
                f(off, r);
                off += size;
            }
            Frame::End => return ScanEnd::Clean { offset: off },
            Frame::Bad(reason) => return ScanEnd::Bad { offset: off, reason },
        }
    }
}

/// True when a valid record starts anywhere in `bytes[from..]` (tried at every byte offset, in
/// case damage shifted things). Segments start as zeros and a cut zeroes again, so any valid
/// record found there was really written: what lies before it is not a torn tail.
pub(crate) fn valid_record_after(bytes: &[u8], from: usize) -> bool {
    // A record starts with its length's low byte, never 0: skip other bytes fast.
    (from..bytes.len())
        .filter(|&off| starts_record(bytes[off]))
        .any(|off| matches!(parse(bytes, off), Frame::Record(_)))
}

/// Cuts a segment's written part at `offset`: everything from there on becomes zeros again.
pub fn truncate_at(path: &Path, offset: u64) -> Result<(), JournalError> {
    let file = OpenOptions::new().write(true).open(path).map_err(|e| JournalError::io("open", path, e))?;
    let size = file.metadata().map_err(|e| JournalError::io("stat", path, e))?.len();
    file.set_len(offset).map_err(|e| JournalError::io("truncate", path, e))?;
    file.set_len(size).map_err(|e| JournalError::io("extend", path, e))?;
    file.sync_all().map_err(|e| JournalError::io("fsync", path, e))
}

/// Makes a directory entry change (create, rename, delete) durable.
pub fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| JournalError::io("fsync dir", dir, e))
}

/// Maps `file` read-write.
///
/// This is the crate's only `unsafe` outside `spsc`: memmap2 cannot offer a safe file mapping,
/// because another process could change the file under the mapping.
#[allow(unsafe_code)]
fn map(file: &File) -> std::io::Result<MmapMut> {
    // SAFETY: the mapping is only undefined behaviour if the file is changed outside this
    // mapping while it lives (by another process, or a truncation). The journal directory has
    // one writer by contract (see the `journal` module docs); this process only resizes a
    // segment before mapping it or after dropping the map, and only reads it through `fs::read`
    // (a copy, not a reference into the mapping). The roller's spare is (re)created under its
    // name only after the previous spare was renamed away (see `roller`).
    unsafe { MmapMut::map_mut(file) }
}

/// Reserves the disk blocks of `file`'s bytes `from..size` (`fallocate`; the file is `size`
/// bytes already).
///
/// A segment is written through a memory map, and a sparse file's holes get their blocks only
/// when a page is first written: on a full filesystem that write cannot fail with an error, the
/// kernel kills the process with `SIGBUS`. With the blocks reserved when the segment is made,
/// a full disk is an `ENOSPC` here, which the caller reports, and the writes cannot meet it.
/// Filesystems without `fallocate` get zeros written instead (the same reservation, slower).
/// Elsewhere than Linux this does nothing: segments stay sparse there.
pub fn reserve(file: &File, path: &Path, from: u64, size: u64) -> Result<(), JournalError> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{fallocate, FallocateFlags};
        use rustix::io::Errno;
        use std::os::unix::fs::FileExt;

        if from >= size {
            return Ok(());
        }
        match fallocate(file, FallocateFlags::empty(), from, size - from) {
            Ok(()) => return Ok(()),
            Err(e) if e != Errno::OPNOTSUPP => return Err(JournalError::io("allocate", path, e.into())),
            Err(_) => {}
        }
        let zeros = vec![0u8; 1 << 20];
        let mut at = from;
        while at < size {
            let n = usize::try_from(size - at).map_or(zeros.len(), |left| left.min(zeros.len()));
            file.write_all_at(&zeros[..n], at).map_err(|e| JournalError::io("allocate", path, e))?;
            at += n as u64;
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, path, from, size);
    Ok(())
}

/// A new file at `path` (with `create`'s options), `size` bytes of zeros, its blocks reserved
/// ([`reserve`]). On failure the file is removed again, so a full disk is not left fuller.
fn create_reserved(path: &Path, size: u64, options: &OpenOptions) -> Result<File, JournalError> {
    let file = options.open(path).map_err(|e| JournalError::io("create", path, e))?;
    let sized = file
        .set_len(size)
        .map_err(|e| JournalError::io("set_len", path, e))
        .and_then(|()| reserve(&file, path, 0, size));
    match sized {
        Ok(()) => Ok(file),
        Err(e) => {
            drop(file);
            let _ = fs::remove_file(path);
            Err(e)
        }
    }
}

/// Creates (or empties) `path` as a zero-filled file of `size` bytes, its blocks reserved, and
/// maps it: the roller's spare segment.
pub(crate) fn map_new(path: &Path, size: u64) -> Result<MmapMut, JournalError> {
    let file = create_reserved(path, size, OpenOptions::new().read(true).write(true).create(true).truncate(true))?;
    map(&file).map_err(|e| JournalError::io("mmap", path, e))
}

/// Faults in the pages of `map` from `from` to the end, writable (`MADV_POPULATE_WRITE`), without
/// changing a byte: page-cache pages allocated (zeros, or the file's content), blocks reserved,
/// page tables filled. Fails with `EINVAL` on kernels before 5.14; elsewhere than Linux it
/// does nothing.
pub(crate) fn populate(map: &MmapMut, from: usize) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        // `advise_range` rounds the start down to its page: a page holding records is
        // populated too, unchanged.
        let len = map.len().saturating_sub(from);
        if len > 0 {
            map.advise_range(memmap2::Advice::PopulateWrite, from, len)?;
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (map, from);
    Ok(())
}

/// The segment being written: a mapped file and the offset of the next record.
#[derive(Debug)]
pub struct ActiveSegment {
    pub path: PathBuf,
    pub first_seq: u64,
    map: MmapMut,
    /// Offset of the next record.
    pub offset: usize,
    /// Everything before this offset has been flushed to disk.
    pub synced: usize,
}

impl ActiveSegment {
    /// Creates (zero-filled, `size` bytes, blocks reserved: [`reserve`]) and maps a new
    /// segment. On a full disk: `JournalError::Io` with `op` "allocate", and no file left.
    pub fn create(dir: &Path, first_seq: u64, size: u64) -> Result<Self, JournalError> {
        let path = dir.join(segment_name(first_seq));
        let file = create_reserved(&path, size, OpenOptions::new().read(true).write(true).create_new(true))?;
        sync_dir(dir)?;
        Self::map_at(path, file, first_seq, 0)
    }

    /// Maps an existing segment whose written part ends at `offset`, the rest of its blocks
    /// reserved ([`reserve`]).
    pub fn open(path: PathBuf, first_seq: u64, offset: usize, size: u64) -> Result<Self, JournalError> {
        let file =
            OpenOptions::new().read(true).write(true).open(&path).map_err(|e| JournalError::io("open", &path, e))?;
        let len = file.metadata().map_err(|e| JournalError::io("stat", &path, e))?.len();
        if len < size {
            // A segment created with a smaller size (or a crash between create and set_len).
            file.set_len(size).map_err(|e| JournalError::io("set_len", &path, e))?;
        }
        // A segment written by an older version, or on another filesystem, may be sparse.
        reserve(&file, &path, offset as u64, len.max(size))?;
        Self::map_at(path, file, first_seq, offset)
    }

    /// A new segment from a spare already renamed to `path` (see `roller`).
    pub(crate) fn adopt(path: PathBuf, first_seq: u64, map: MmapMut) -> Self {
        Self { path, first_seq, map, offset: 0, synced: 0 }
    }

    /// Populates the unwritten part writable (see [`populate`]).
    pub(crate) fn populate(&self) -> std::io::Result<()> {
        populate(&self.map, self.offset)
    }

    /// Gives up the map (to unmap it elsewhere).
    pub(crate) fn into_map(self) -> MmapMut {
        self.map
    }

    fn map_at(path: PathBuf, file: File, first_seq: u64, offset: usize) -> Result<Self, JournalError> {
        let map = map(&file).map_err(|e| JournalError::io("mmap", &path, e))?;
        Ok(Self { path, first_seq, map, offset, synced: offset })
    }

    /// True when one more record of `size` bytes fits.
    #[inline]
    pub fn has_room(&self, size: usize) -> bool {
        self.offset + size <= self.map.len()
    }

    /// The `size` bytes of the next record (caller checked [`Self::has_room`]); advances the
    /// offset.
    #[inline]
    pub fn next_record(&mut self, size: usize) -> &mut [u8] {
        let off = self.offset;
        self.offset += size;
        &mut self.map[off..off + size]
    }

    /// Flushes what was written since the last flush (msync: waits for the disk).
    pub fn flush(&mut self) -> Result<(), JournalError> {
        if self.synced < self.offset {
            self.map
                .flush_range(self.synced, self.offset - self.synced)
                .map_err(|e| JournalError::io("msync", &self.path, e))?;
            self.synced = self.offset;
        }
        Ok(())
    }
}
