//! The dense side of the store: vector segments, flat little-endian f32
//! matrices joined to passages by chunk id.
//!
//! A segment file holds, after a 64-byte header (`PSVEC001`, dim, rows), the
//! rows' chunk ids (u64), their episode keys (u64 hash of the episode id, for
//! "not the same episode" checks without touching tantivy), their start times
//! (u64 ms, `u64::MAX` when untimed), then the vectors (rows x dim x f32),
//! then the same vectors quantised to int8 (rows x dim x i8, each row scaled
//! by its largest magnitude / 127) and the per-row scales (f32), each section
//! at a 64-byte-aligned offset. The dense scan reads one-bit sketches built
//! from the vectors in memory ([`super::sketch`]), scores its shortlist from
//! the int8 section and the best of that exactly from the f32 rows, so at a
//! million passages most int8 and f32 pages are never touched.
//! Segments are written once, to a temporary name, fsynced and renamed; they
//! are never modified, only replaced, so a reader's memory map stays valid
//! while a writer works.
//!
//! **Checksums.** The header carries two blake3 checksums (the first 8
//! bytes of each hash), written before the rename: one of the id, episode
//! and start columns, checked every time a segment is opened (24 bytes a
//! row: a few milliseconds at a million passages, and those pages are read
//! anyway), and one of the vectors, codes and scales, checked by
//! [`Segment::verify`] (`podsift stats --verify`, and the first writer after
//! one that did not finish). A segment overwritten in place with other ids
//! fails to open; one with other vectors (NaN rows, say) fails to verify,
//! and until then the dense arm never ranks a score that is not a finite
//! number. Segments written before checksums (no tag in the header) open
//! unchecked and are counted as such by `verify`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use crate::error::{Error, Remedy, Result};

const MAGIC: &[u8; 8] = b"PSVEC002";
const HEADER: usize = 64;
/// Header bytes 24..32: checksum of the columns; 32..40: of the vectors,
/// codes and scales; 40..48: [`SUM_TAG`] when both are there.
const COLUMNS_SUM: usize = 24;
const BODY_SUM: usize = 32;
const TAG_AT: usize = 40;
const SUM_TAG: &[u8; 8] = b"BLAKE3\x01\0";

/// The first 8 bytes of the blake3 hash of `bytes`.
fn sum(bytes: &[u8]) -> [u8; 8] {
    let mut h = blake3::Hasher::new();
    h.update(bytes);
    first8(&h)
}

fn first8(h: &blake3::Hasher) -> [u8; 8] {
    let mut out = [0u8; 8];
    out.copy_from_slice(&h.finalize().as_bytes()[..8]);
    out
}

/// A writer that hashes what passes through it: bytes before `split` into
/// one checksum, from `split` on into the other; the header is skipped.
struct Summing<W: Write> {
    inner: W,
    at: usize,
    split: usize,
    columns: blake3::Hasher,
    body: blake3::Hasher,
}

impl<W: Write> Write for Summing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        let (start, end) = (self.at, self.at + n);
        let cols = start.max(HEADER)..end.min(self.split);
        if cols.start < cols.end {
            self.columns
                .update(&buf[cols.start - start..cols.end - start]);
        }
        let body = start.max(self.split)..end;
        if body.start < body.end {
            self.body.update(&buf[body.start - start..n]);
        }
        self.at = end;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A row to write.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Chunk id.
    pub id: u64,
    /// Episode key ([`episode_key`]).
    pub episode: u64,
    /// Start time, `u64::MAX` when untimed.
    pub start_ms: u64,
    /// The unit vector.
    pub vector: Vec<f32>,
}

/// The u64 key of an episode id, as stored per row.
pub fn episode_key(episode_id: &str) -> u64 {
    let h = blake3::hash(episode_id.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&h.as_bytes()[..8]);
    u64::from_le_bytes(b)
}

fn align(n: usize) -> usize {
    n.div_ceil(64) * 64
}

/// Byte offsets of a segment's sections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layout {
    f32_at: usize,
    i8_at: usize,
    scale_at: usize,
    len: usize,
}

fn layout(rows: usize, dim: usize) -> Option<Layout> {
    let f32_at = align(HEADER.checked_add(rows.checked_mul(24)?)?);
    let i8_at = align(f32_at.checked_add(rows.checked_mul(dim)?.checked_mul(4)?)?);
    let scale_at = align(i8_at.checked_add(rows.checked_mul(dim)?)?);
    let len = scale_at.checked_add(rows.checked_mul(4)?)?;
    Some(Layout {
        f32_at,
        i8_at,
        scale_at,
        len,
    })
}

/// Quantise a vector to int8 with one scale: `v[i] ≈ q[i] * scale`.
pub fn quantize(v: &[f32], out: &mut Vec<i8>) -> f32 {
    let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
    out.clear();
    out.extend(
        v.iter()
            .map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8),
    );
    scale
}

/// A row to copy from wherever it lives.
#[derive(Debug, Clone, Copy)]
pub struct RowRef<'a> {
    /// Chunk id.
    pub id: u64,
    /// Episode key.
    pub episode: u64,
    /// Start time or `u64::MAX`.
    pub start_ms: u64,
    /// The vector.
    pub vector: &'a [f32],
}

impl Row {
    /// Borrow as a [`RowRef`].
    pub fn as_ref(&self) -> RowRef<'_> {
        RowRef {
            id: self.id,
            episode: self.episode,
            start_ms: self.start_ms,
            vector: &self.vector,
        }
    }
}

/// Write `rows` as a segment at `path` (via a temporary file, fsynced, renamed).
pub fn write(path: &Path, dim: usize, rows: &[Row]) -> Result<u64> {
    write_with(path, dim, rows.len(), |i| rows[i].as_ref())
}

/// Write `n` rows given by `row(i)` as a segment at `path`. Rows are read
/// four times (one pass per column), which costs nothing when they come from
/// memory maps, and keeps memory flat when merging large segments.
pub fn write_with<'a>(
    path: &Path,
    dim: usize,
    n: usize,
    row: impl Fn(usize) -> RowRef<'a>,
) -> Result<u64> {
    let tmp = path.with_extension("tmp");
    let io = |e| Error::io(&tmp, e);
    let lay = layout(n, dim).ok_or_else(|| Error::invalid("vectors", "segment too large"))?;
    let file = File::create(&tmp).map_err(io)?;
    let mut w = Summing {
        inner: BufWriter::with_capacity(1 << 20, file),
        at: 0,
        split: lay.f32_at,
        columns: blake3::Hasher::new(),
        body: blake3::Hasher::new(),
    };
    let mut header = [0u8; HEADER];
    header[..8].copy_from_slice(MAGIC);
    header[8..12].copy_from_slice(&(dim as u32).to_le_bytes());
    header[16..24].copy_from_slice(&(n as u64).to_le_bytes());
    w.write_all(&header).map_err(io)?;
    for i in 0..n {
        w.write_all(&row(i).id.to_le_bytes()).map_err(io)?;
    }
    for i in 0..n {
        w.write_all(&row(i).episode.to_le_bytes()).map_err(io)?;
    }
    for i in 0..n {
        w.write_all(&row(i).start_ms.to_le_bytes()).map_err(io)?;
    }
    let mut at = HEADER + n * 24;
    w.write_all(&vec![0u8; lay.f32_at - at]).map_err(io)?;
    for i in 0..n {
        let v = row(i).vector;
        if v.len() != dim {
            return Err(Error::invalid(
                "vector",
                format!("dimension {} where the index has {dim}", v.len()),
            ));
        }
        w.write_all(bytemuck::cast_slice(v)).map_err(io)?;
    }
    at = lay.f32_at + n * dim * 4;
    w.write_all(&vec![0u8; lay.i8_at - at]).map_err(io)?;
    let mut q = Vec::with_capacity(dim);
    let mut scales = Vec::with_capacity(n);
    for i in 0..n {
        scales.push(quantize(row(i).vector, &mut q));
        w.write_all(bytemuck::cast_slice(&q)).map_err(io)?;
    }
    at = lay.i8_at + n * dim;
    w.write_all(&vec![0u8; lay.scale_at - at]).map_err(io)?;
    w.write_all(bytemuck::cast_slice(&scales)).map_err(io)?;
    let (columns, body) = (first8(&w.columns), first8(&w.body));
    let mut file = w
        .inner
        .into_inner()
        .map_err(|e| Error::io(&tmp, e.into_error()))?;
    // The checksums go into the header before the file is synced and
    // renamed: a segment in place always has them.
    let mut sums = [0u8; 24];
    sums[..8].copy_from_slice(&columns);
    sums[8..16].copy_from_slice(&body);
    sums[16..].copy_from_slice(SUM_TAG);
    {
        use std::io::{Seek, SeekFrom};
        file.seek(SeekFrom::Start(COLUMNS_SUM as u64)).map_err(io)?;
        file.write_all(&sums).map_err(io)?;
    }
    file.sync_all().map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    drop(file);
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    Ok(len)
}

/// A memory-mapped segment.
#[derive(Debug)]
pub struct Segment {
    path: PathBuf,
    file: File,
    map: Mmap,
    dim: usize,
    rows: usize,
    lay: Layout,
}

impl Segment {
    /// Map a segment and check its header and size.
    pub fn open(path: &Path, expect_dim: usize) -> Result<Segment> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        // SAFETY: segments are immutable once renamed into place; writers only
        // create new files and remove unreferenced ones (and unlinking a mapped
        // file keeps the mapping valid).
        let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
        // <index>/data-N/vectors/seg-*.vec: name the index folder.
        let index = path.ancestors().nth(3).unwrap_or(path).to_path_buf();
        let bad = |problem: String| Error::Corrupt {
            index: index.clone(),
            problem: format!("vector segment {} is damaged: {problem}", path.display()),
            remedy: Remedy::Rebuild,
        };
        if map.len() < HEADER || &map[..8] != MAGIC {
            return Err(bad("bad header".into()));
        }
        let dim = u32::from_le_bytes(map[8..12].try_into().unwrap_or_default()) as usize;
        let rows = u64::from_le_bytes(map[16..24].try_into().unwrap_or_default()) as usize;
        if dim != expect_dim {
            return Err(bad(format!("dimension {dim}, expected {expect_dim}")));
        }
        let lay = layout(rows, dim).ok_or_else(|| bad(format!("impossible size ({rows} rows)")))?;
        if lay.len != map.len() {
            return Err(bad(format!(
                "{} bytes where {rows} rows take {} (truncated?)",
                map.len(),
                lay.len
            )));
        }
        if &map[TAG_AT..TAG_AT + 8] == SUM_TAG
            && sum(&map[HEADER..lay.f32_at]) != map[COLUMNS_SUM..COLUMNS_SUM + 8]
        {
            return Err(bad(
                "its chunk ids do not match their checksum (changed after it was written)".into(),
            ));
        }
        Ok(Segment {
            path: path.to_path_buf(),
            file,
            map,
            dim,
            rows,
            lay,
        })
    }

    /// Check the vectors, codes and scales against their checksum: reads
    /// the whole segment. `Ok(false)` for a segment written before
    /// checksums (nothing to check against).
    pub fn verify(&self) -> Result<bool> {
        if &self.map[TAG_AT..TAG_AT + 8] != SUM_TAG {
            return Ok(false);
        }
        let body = sum(&self.map[self.lay.f32_at..]);
        // Pages read to hash stay out of this process's resident memory.
        self.release();
        if body != self.map[BODY_SUM..BODY_SUM + 8] {
            let index = self.path.ancestors().nth(3).unwrap_or(&self.path);
            return Err(Error::Corrupt {
                index: index.to_path_buf(),
                problem: format!(
                    "vector segment {} is damaged: its vectors do not match their checksum \
                     (changed after it was written)",
                    self.path.display()
                ),
                remedy: Remedy::Rebuild,
            });
        }
        Ok(true)
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Its file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn column(&self, k: usize) -> &[u64] {
        let start = HEADER + k * self.rows * 8;
        bytemuck::cast_slice(&self.map[start..start + self.rows * 8])
    }

    /// Chunk ids, one per row.
    pub fn ids(&self) -> &[u64] {
        self.column(0)
    }

    /// Episode keys, one per row.
    pub fn episodes(&self) -> &[u64] {
        self.column(1)
    }

    /// Start times, one per row (`u64::MAX` when untimed).
    pub fn starts(&self) -> &[u64] {
        self.column(2)
    }

    /// All vectors, row-major.
    pub fn matrix(&self) -> &[f32] {
        let off = self.lay.f32_at;
        bytemuck::cast_slice(&self.map[off..off + self.rows * self.dim * 4])
    }

    /// All vectors quantised to int8, row-major.
    pub fn codes(&self) -> &[i8] {
        let off = self.lay.i8_at;
        bytemuck::cast_slice(&self.map[off..off + self.rows * self.dim])
    }

    /// The int8 rows' scales.
    pub fn scales(&self) -> &[f32] {
        let off = self.lay.scale_at;
        bytemuck::cast_slice(&self.map[off..off + self.rows * 4])
    }

    /// Vector dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// One row's vector.
    pub fn vector(&self, row: usize) -> &[f32] {
        &self.matrix()[row * self.dim..(row + 1) * self.dim]
    }

    /// Copy vector `row` into `out` (`dim` floats) by a positioned read,
    /// not through the map. For rows read at random (re-scoring, related
    /// candidates): a page fault on the map also maps the cached pages
    /// around it, so resident memory filled with vectors no query read
    /// (1.1 GB over 200 queries at a million passages). Falls back to the
    /// map if the read fails.
    pub fn read_vector(&self, row: usize, out: &mut [f32]) {
        let dim = self.dim.min(out.len());
        let out = &mut out[..dim];
        #[cfg(all(unix, target_endian = "little"))]
        {
            use std::os::unix::fs::FileExt;
            let at = (self.lay.f32_at + row * self.dim * 4) as u64;
            if row < self.rows
                && self
                    .file
                    .read_exact_at(bytemuck::cast_slice_mut(out), at)
                    .is_ok()
            {
                return;
            }
        }
        out.copy_from_slice(&self.vector(row)[..dim]);
    }

    /// Drop this process's mapping of the pages read so far (they stay in
    /// the page cache; a later read maps them again). For long sequential
    /// copies (merges): every page read through the map counts as resident
    /// memory until it is unmapped, so copying a large segment would grow
    /// the process by its size.
    pub fn release(&self) {
        #[cfg(unix)]
        // SAFETY: the map is read-only and shared, of a file that is never
        // modified in place (segments are written once and renamed into
        // place), so after MADV_DONTNEED every page reads back the same
        // bytes from the file; no reference into the map is invalidated.
        let _ = unsafe {
            self.map
                .unchecked_advise(memmap2::UncheckedAdvice::DontNeed)
        };
    }

    /// Row `i` by reference.
    pub fn row(&self, i: usize) -> RowRef<'_> {
        RowRef {
            id: self.ids()[i],
            episode: self.episodes()[i],
            start_ms: self.starts()[i],
            vector: self.vector(i),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_open_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("seg.vec");
        let rows: Vec<Row> = (0..5)
            .map(|i| Row {
                id: i,
                episode: i % 2,
                start_ms: i * 10,
                vector: vec![i as f32; 3],
            })
            .collect();
        write(&p, 3, &rows).unwrap();
        let s = Segment::open(&p, 3).unwrap();
        assert_eq!(s.rows(), 5);
        assert_eq!(s.ids(), &[0, 1, 2, 3, 4]);
        assert_eq!(s.episodes(), &[0, 1, 0, 1, 0]);
        assert_eq!(s.vector(4), &[4., 4., 4.]);
        assert_eq!(s.row(3).start_ms, 30);
        assert_eq!(&s.codes()[4 * 3..4 * 3 + 3], &[127, 127, 127]);
        assert!((s.scales()[4] - 4.0 / 127.0).abs() < 1e-6);
        assert!(Segment::open(&p, 4).is_err());
    }

    fn overwrite(p: &Path, at: usize, bytes: &[u8]) {
        use std::os::unix::fs::FileExt;
        let f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
        f.write_all_at(bytes, at as u64).unwrap();
    }

    fn sample(p: &Path, rows: u64) {
        let rows: Vec<Row> = (0..rows)
            .map(|i| Row {
                id: i + 100,
                episode: i % 3,
                start_ms: i * 1000,
                vector: vec![0.6, -0.8, i as f32 / 100.0],
            })
            .collect();
        write(p, 3, &rows).unwrap();
    }

    #[test]
    fn checksums_catch_same_size_damage() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("seg.vec");
        sample(&p, 50);
        assert!(Segment::open(&p, 3).unwrap().verify().unwrap());
        let lay = layout(50, 3).unwrap();
        // Random ids over the id column: refused at open.
        overwrite(&p, HEADER + 8, &0xdead_beef_u64.to_le_bytes());
        let err = Segment::open(&p, 3).unwrap_err();
        assert!(
            matches!(&err, Error::Corrupt { problem, remedy: Remedy::Rebuild, .. } if problem.contains("checksum")),
            "{err}"
        );
        // NaN over a vector: opens (the fast check), fails to verify.
        sample(&p, 50);
        overwrite(&p, lay.f32_at + 4 * 7, &f32::NAN.to_le_bytes());
        let seg = Segment::open(&p, 3).unwrap();
        let err = seg.verify().unwrap_err().to_string();
        assert!(err.contains("vectors do not match their checksum"), "{err}");
        // A scale changed: the same.
        sample(&p, 50);
        overwrite(&p, lay.scale_at, &1e30f32.to_le_bytes());
        assert!(Segment::open(&p, 3).unwrap().verify().is_err());
    }

    #[test]
    fn a_segment_without_checksums_opens_unchecked() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("seg.vec");
        sample(&p, 5);
        overwrite(&p, COLUMNS_SUM, &[0u8; 24]);
        let seg = Segment::open(&p, 3).unwrap();
        assert!(!seg.verify().unwrap());
        assert_eq!(seg.ids()[4], 104);
    }

    #[test]
    fn an_empty_segment_has_checksums_too() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("seg.vec");
        sample(&p, 0);
        assert!(Segment::open(&p, 3).unwrap().verify().unwrap());
    }

    #[test]
    fn truncated_segment_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("seg.vec");
        write(
            &p,
            2,
            &[Row {
                id: 1,
                episode: 1,
                start_ms: 0,
                vector: vec![1., 0.],
            }],
        )
        .unwrap();
        let len = std::fs::metadata(&p).unwrap().len();
        let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
        f.set_len(len - 4).unwrap();
        let err = Segment::open(&p, 2).unwrap_err().to_string();
        assert!(err.contains("truncated"), "{err}");
    }
}
