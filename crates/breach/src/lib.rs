//! The breached-password corpus, offline: is this password one that attackers already have?
//!
//! Passwords are looked up by SHA-1, as Have I Been Pwned (HIBP) publishes them. Three sources,
//! all pure here (the engine decides when to ask, the server loads files and calls the range
//! API):
//!
//! - [`embedded`]: the 30,000 most common passwords that the zxcvbn crate ships (see
//!   `data/NOTICE`), built into the binary; exact, no false positives.
//! - [`Filter`]: a binary fuse filter (xorf) over the first 64 bits of each SHA-1 of the full
//!   HIBP "Pwned Passwords" download, built by `tessera breach import` ([`import`]) and kept as
//!   a file in the data directory ([`Filter::write_to`], [`Filter::read_from`]). BinaryFuse16:
//!   ≈18 bits per entry and a false-positive rate of ≈2⁻¹⁶ (0.0015 %); BinaryFuse8: ≈9 bits and
//!   ≈0.4 %. A false positive only asks a user for another password.
//! - the k-anonymity range API: [`range_prefix`] is all that leaves the machine (5 hex digits),
//!   [`range_contains`] reads the answer.

use std::io::{BufRead, Read, Write};
use std::sync::OnceLock;
use xorf::{BinaryFuse8, BinaryFuse16, Descriptor, Filter as _};

/// A password's SHA-1, as HIBP indexes it.
pub fn sha1(password: &str) -> [u8; 20] {
    let d = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        password.as_bytes(),
    );
    let mut out = [0u8; 20];
    out.copy_from_slice(d.as_ref());
    out
}

/// The filter key of a SHA-1: its first 64 bits. Two different breached hashes share a key with
/// probability 2⁻⁶⁴ per pair, far below the filters' own false-positive rates.
pub fn key(digest: &[u8; 20]) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

const EMBEDDED_LIST: &str = include_str!("../data/common-passwords.txt");

/// The embedded list's keys, sorted (built once, on first use: 30,000 SHA-1s, a few ms).
fn embedded_keys() -> &'static [u64] {
    static KEYS: OnceLock<Vec<u64>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut keys: Vec<u64> = EMBEDDED_LIST
            .lines()
            .filter(|l| !l.is_empty())
            .map(|p| key(&sha1(p)))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    })
}

/// Whether a SHA-1 is one of the embedded common passwords.
pub fn embedded(digest: &[u8; 20]) -> bool {
    embedded_keys().binary_search(&key(digest)).is_ok()
}

/// How many passwords the embedded list holds.
pub fn embedded_len() -> usize {
    embedded_keys().len()
}

/// Fingerprint width of a [`Filter`]: more bits, fewer false positives, more bytes per entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bits {
    Eight,
    Sixteen,
}

impl Bits {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "8" => Some(Self::Eight),
            "16" => Some(Self::Sixteen),
            _ => None,
        }
    }

    fn code(self) -> u8 {
        match self {
            Self::Eight => 8,
            Self::Sixteen => 16,
        }
    }

    /// The expected false-positive rate, 2^-bits.
    pub fn false_positive_rate(self) -> f64 {
        match self {
            Self::Eight => 1.0 / 256.0,
            Self::Sixteen => 1.0 / 65536.0,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BreachError {
    #[error("line {line}: {reason}")]
    Line { line: u64, reason: &'static str },
    #[error("not a Tessera breach filter file ({0})")]
    Format(&'static str),
    #[error("building the filter failed: {0}")]
    Build(&'static str),
    #[error("no hashes to build a filter from")]
    Empty,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

#[derive(Clone, Debug)]
enum Fuse {
    Eight(BinaryFuse8),
    Sixteen(BinaryFuse16),
}

/// A binary fuse filter over breached SHA-1s (their [`key`]s).
#[derive(Clone, Debug)]
pub struct Filter {
    fuse: Fuse,
    entries: u64,
}

const MAGIC: &[u8; 8] = b"TSBREACH";
const VERSION: u8 = 1;

impl Filter {
    /// Builds a filter from keys (sorted and deduplicated here: the construction needs them
    /// distinct). Holds all keys in memory: 8 bytes each.
    pub fn build(mut keys: Vec<u64>, bits: Bits) -> Result<Self, BreachError> {
        keys.sort_unstable();
        keys.dedup();
        if keys.is_empty() {
            return Err(BreachError::Empty);
        }
        let entries = keys.len() as u64;
        let fuse = match bits {
            Bits::Eight => Fuse::Eight(BinaryFuse8::try_from(&keys).map_err(BreachError::Build)?),
            Bits::Sixteen => {
                Fuse::Sixteen(BinaryFuse16::try_from(&keys).map_err(BreachError::Build)?)
            }
        };
        Ok(Self { fuse, entries })
    }

    pub fn contains(&self, digest: &[u8; 20]) -> bool {
        self.contains_key(key(digest))
    }

    pub fn contains_key(&self, key: u64) -> bool {
        match &self.fuse {
            Fuse::Eight(f) => f.contains(&key),
            Fuse::Sixteen(f) => f.contains(&key),
        }
    }

    pub fn bits(&self) -> Bits {
        match self.fuse {
            Fuse::Eight(_) => Bits::Eight,
            Fuse::Sixteen(_) => Bits::Sixteen,
        }
    }

    /// Distinct hashes the filter was built from.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// Bytes of fingerprints (the file adds a 56-byte header).
    pub fn fingerprint_bytes(&self) -> u64 {
        match &self.fuse {
            Fuse::Eight(f) => f.fingerprints.len() as u64,
            Fuse::Sixteen(f) => f.fingerprints.len() as u64 * 2,
        }
    }

    fn descriptor(&self) -> &Descriptor {
        match &self.fuse {
            Fuse::Eight(f) => &f.descriptor,
            Fuse::Sixteen(f) => &f.descriptor,
        }
    }

    /// Writes the filter: magic, version, bit width, entry count, the fuse descriptor, the
    /// fingerprint count, then the fingerprints (little-endian).
    pub fn write_to(&self, w: &mut impl Write) -> Result<(), BreachError> {
        w.write_all(MAGIC)?;
        w.write_all(&[VERSION, self.bits().code(), 0, 0, 0, 0, 0, 0])?;
        w.write_all(&self.entries.to_le_bytes())?;
        let d = self.descriptor();
        w.write_all(&d.seed.to_le_bytes())?;
        w.write_all(&d.segment_length.to_le_bytes())?;
        w.write_all(&d.segment_length_mask.to_le_bytes())?;
        w.write_all(&d.segment_count_length.to_le_bytes())?;
        w.write_all(&[0u8; 4])?;
        match &self.fuse {
            Fuse::Eight(f) => {
                w.write_all(&(f.fingerprints.len() as u64).to_le_bytes())?;
                w.write_all(&f.fingerprints)?;
            }
            Fuse::Sixteen(f) => {
                w.write_all(&(f.fingerprints.len() as u64).to_le_bytes())?;
                let mut buf = Vec::with_capacity(64 * 1024);
                for chunk in f.fingerprints.chunks(32 * 1024) {
                    buf.clear();
                    for v in chunk {
                        buf.extend_from_slice(&v.to_le_bytes());
                    }
                    w.write_all(&buf)?;
                }
            }
        }
        Ok(())
    }

    /// Reads a filter written by [`Filter::write_to`]; a truncated, padded or foreign file is
    /// refused rather than half-used.
    pub fn read_from(r: &mut impl Read) -> Result<Self, BreachError> {
        let mut header = [0u8; HEADER_LEN];
        r.read_exact(&mut header)
            .map_err(|_| BreachError::Format("too short"))?;
        let h = Header::parse(&header)?;
        let count = usize::try_from(h.count).map_err(|_| BreachError::Format("too large"))?;
        let descriptor = h.descriptor;
        let fuse = match h.bits {
            Bits::Eight => {
                let mut fp = vec![0u8; count];
                r.read_exact(&mut fp)
                    .map_err(|_| BreachError::Format("truncated"))?;
                Fuse::Eight(BinaryFuse8 {
                    descriptor,
                    fingerprints: fp.into_boxed_slice(),
                })
            }
            Bits::Sixteen => {
                let mut raw = vec![0u8; count * 2];
                r.read_exact(&mut raw)
                    .map_err(|_| BreachError::Format("truncated"))?;
                let fp: Vec<u16> = raw
                    .chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect();
                Fuse::Sixteen(BinaryFuse16 {
                    descriptor,
                    fingerprints: fp.into_boxed_slice(),
                })
            }
        };
        let mut extra = [0u8; 1];
        if r.read(&mut extra)? != 0 {
            return Err(BreachError::Format("trailing data"));
        }
        Ok(Self {
            fuse,
            entries: h.entries,
        })
    }
}

/// Bytes before the fingerprints in a filter file.
const HEADER_LEN: usize = 56;

/// A filter file's header, checked: a descriptor whose lookups could index past the
/// fingerprints is refused here, so no lookup can fail on a short array.
struct Header {
    bits: Bits,
    entries: u64,
    descriptor: Descriptor,
    /// Fingerprints (not bytes) that follow.
    count: u64,
}

impl Header {
    fn parse(header: &[u8; HEADER_LEN]) -> Result<Self, BreachError> {
        if &header[..8] != MAGIC {
            return Err(BreachError::Format("bad magic"));
        }
        if header[8] != VERSION {
            return Err(BreachError::Format("unknown version"));
        }
        let bits = match header[9] {
            8 => Bits::Eight,
            16 => Bits::Sixteen,
            _ => return Err(BreachError::Format("unknown fingerprint width")),
        };
        let u64_at = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&header[i..i + 8]);
            u64::from_le_bytes(b)
        };
        let u32_at = |i: usize| {
            let mut b = [0u8; 4];
            b.copy_from_slice(&header[i..i + 4]);
            u32::from_le_bytes(b)
        };
        let descriptor = Descriptor {
            seed: u64_at(24),
            segment_length: u32_at(32),
            segment_length_mask: u32_at(36),
            segment_count_length: u32_at(40),
        };
        let count = u64_at(48);
        // The lookup indexes up to segment_count_length + 2 segments.
        let needed =
            u64::from(descriptor.segment_count_length) + 2 * u64::from(descriptor.segment_length);
        if count < needed
            || count > u64::MAX / 4
            || !descriptor.segment_length.is_power_of_two()
            || descriptor.segment_length_mask != descriptor.segment_length - 1
        {
            return Err(BreachError::Format("inconsistent descriptor"));
        }
        Ok(Self {
            bits,
            entries: u64_at(16),
            descriptor,
            count,
        })
    }

    fn width(&self) -> u64 {
        match self.bits {
            Bits::Eight => 1,
            Bits::Sixteen => 2,
        }
    }
}

/// MurmurHash3's 64-bit finaliser over key + seed: the binary fuse filter's hash (the one
/// xorf builds with; a test holds the two lookups equal).
const fn mix(key: u64, seed: u64) -> u64 {
    let mut k = key.wrapping_add(seed);
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    k
}

/// The three fingerprint slots a hash maps to: one per consecutive segment, the first chosen
/// by the hash's high bits (Graf and Lemire, "Binary Fuse Filters", 2022).
const fn slots(hash: u64, d: &Descriptor) -> [u64; 3] {
    let h0 = ((hash as u128 * d.segment_count_length as u128) >> 64) as u32;
    let mut h1 = h0.wrapping_add(d.segment_length);
    let mut h2 = h1.wrapping_add(d.segment_length);
    h1 ^= ((hash >> 18) as u32) & d.segment_length_mask;
    h2 ^= (hash as u32) & d.segment_length_mask;
    [h0 as u64, h1 as u64, h2 as u64]
}

/// A filter file looked up where it lies, as `serve` uses it: each lookup is three positional
/// reads of one or two bytes, so the fingerprints live in the operating system's page cache —
/// shared between processes, paged in as touched, evictable under pressure — and never in the
/// process's heap. This is what memory-mapping would give, without `unsafe`: the full HIBP
/// corpus (≈ 1 billion hashes, 1.1 GB with 8-bit or 2.3 GB with 16-bit fingerprints) costs a
/// node no resident memory of its own. A warm lookup is three `pread`s, about a microsecond.
pub struct FilterFile {
    file: std::fs::File,
    header: Header,
}

impl FilterFile {
    /// Opens and checks a filter file: header, descriptor, and a length that is exactly the
    /// header plus its fingerprints (a truncated or padded file is refused).
    pub fn open(path: &std::path::Path) -> Result<Self, BreachError> {
        let mut file = std::fs::File::open(path)?;
        let mut header = [0u8; HEADER_LEN];
        file.read_exact(&mut header)
            .map_err(|_| BreachError::Format("too short"))?;
        let header = Header::parse(&header)?;
        let expected = header
            .count
            .checked_mul(header.width())
            .and_then(|b| b.checked_add(HEADER_LEN as u64))
            .ok_or(BreachError::Format("too large"))?;
        let len = file.metadata()?.len();
        if len < expected {
            return Err(BreachError::Format("truncated"));
        }
        if len > expected {
            return Err(BreachError::Format("trailing data"));
        }
        Ok(Self { file, header })
    }

    pub fn bits(&self) -> Bits {
        self.header.bits
    }

    /// Distinct hashes the filter was built from.
    pub fn entries(&self) -> u64 {
        self.header.entries
    }

    /// Bytes of fingerprints on disk.
    pub fn fingerprint_bytes(&self) -> u64 {
        self.header.count * self.header.width()
    }

    /// Whether the filter holds this SHA-1 (false positives at the rate of its [`Bits`]).
    pub fn contains(&self, digest: &[u8; 20]) -> std::io::Result<bool> {
        self.contains_key(key(digest))
    }

    pub fn contains_key(&self, key: u64) -> std::io::Result<bool> {
        use std::os::unix::fs::FileExt;
        let d = &self.header.descriptor;
        let hash = mix(key, d.seed);
        let fingerprint = hash ^ (hash >> 32);
        let width = self.header.width();
        let mut acc = 0u16;
        for slot in slots(hash, d) {
            let mut b = [0u8; 2];
            let buf = &mut b[..width as usize];
            self.file
                .read_exact_at(buf, HEADER_LEN as u64 + slot * width)?;
            acc ^= u16::from_le_bytes(b);
        }
        Ok(match self.header.bits {
            Bits::Eight => acc as u8 == fingerprint as u8,
            Bits::Sixteen => acc == fingerprint as u16,
        })
    }
}

/// One line of HIBP's SHA-1 download, `HASH:COUNT` (40 hex digits, either case), with or without
/// a trailing CR. Blank lines are `None`.
pub fn parse_hibp_line(line: &[u8], number: u64) -> Result<Option<(u64, u64)>, BreachError> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let bad = |reason| BreachError::Line {
        line: number,
        reason,
    };
    let (hash, count) = match line.iter().position(|b| *b == b':') {
        Some(i) => (&line[..i], Some(&line[i + 1..])),
        None => (line, None),
    };
    if hash.len() != 40 {
        return Err(bad("expected a 40-digit SHA-1"));
    }
    let mut digest = [0u8; 20];
    hex::decode_to_slice(hash, &mut digest).map_err(|_| bad("not hexadecimal"))?;
    let count = match count {
        Some(c) => std::str::from_utf8(c)
            .ok()
            .and_then(|c| c.trim().parse::<u64>().ok())
            .ok_or_else(|| bad("count is not a number"))?,
        None => 1,
    };
    Ok(Some((key(&digest), count)))
}

/// What an import read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportStats {
    pub lines: u64,
    /// Hashes kept (seen at least `min_count` times).
    pub kept: u64,
    /// Hashes left out for a count below `min_count`.
    pub below_min_count: u64,
}

/// Builds a filter from HIBP "SHA1:count" lines (LF or CRLF), keeping hashes seen at least
/// `min_count` times (1 keeps all).
pub fn import(
    input: &mut impl BufRead,
    min_count: u64,
    bits: Bits,
) -> Result<(Filter, ImportStats), BreachError> {
    let mut keys = Vec::new();
    let mut stats = ImportStats::default();
    let mut line = Vec::with_capacity(64);
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        stats.lines += 1;
        if let Some((k, count)) = parse_hibp_line(&line, stats.lines)? {
            if count >= min_count {
                keys.push(k);
                stats.kept += 1;
            } else {
                stats.below_min_count += 1;
            }
        }
    }
    Ok((Filter::build(keys, bits)?, stats))
}

/// What the range API is asked for: the first 5 hex digits of the SHA-1, upper case. Nothing
/// else about the password leaves the machine.
pub fn range_prefix(digest: &[u8; 20]) -> String {
    hex::encode_upper(&digest[..3])[..5].to_string()
}

/// Whether a range answer (`SUFFIX:COUNT` lines for the prefix, LF or CRLF) lists this SHA-1
/// with a count above zero (zero-count lines are the padding `Add-Padding` asks for).
pub fn range_contains(body: &str, digest: &[u8; 20]) -> bool {
    let full = hex::encode_upper(digest);
    let suffix = &full[5..];
    body.lines().any(|l| {
        let l = l.trim();
        let (s, count) = l.split_once(':').unwrap_or((l, "1"));
        s.eq_ignore_ascii_case(suffix) && count.trim().parse::<u64>().is_ok_and(|c| c > 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hibp_line(password: &str, count: u64, crlf: bool) -> String {
        let end = if crlf { "\r\n" } else { "\n" };
        format!("{}:{count}{end}", hex::encode_upper(sha1(password)))
    }

    #[test]
    fn sha1_matches_the_published_hash_of_password() {
        // HIBP lists "password" as 5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8.
        assert_eq!(
            hex::encode_upper(sha1("password")),
            "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8"
        );
        assert_eq!(range_prefix(&sha1("password")), "5BAA6");
    }

    #[test]
    fn the_embedded_list_knows_common_passwords_only() {
        assert_eq!(embedded_len(), 30_000);
        for p in ["password", "123456", "qwerty", "letmein", "dragon"] {
            assert!(embedded(&sha1(p)), "{p}");
        }
        for p in ["Tr0ub4dor&3-correct-horse", "PASSWORD", "x7#Qm!2vLp"] {
            assert!(!embedded(&sha1(p)), "{p}");
        }
    }

    #[test]
    fn an_import_reads_lf_and_crlf_and_round_trips_through_a_file() {
        let mut text = String::new();
        let breached: Vec<String> = (0..2000).map(|i| format!("leaked-{i}")).collect();
        for (i, p) in breached.iter().enumerate() {
            text.push_str(&hibp_line(p, (i % 7 + 1) as u64, i % 2 == 0));
        }
        text.push_str("\r\n");
        for bits in [Bits::Eight, Bits::Sixteen] {
            let (filter, stats) = import(&mut text.as_bytes(), 1, bits).unwrap();
            assert_eq!(stats.lines, 2001);
            assert_eq!(stats.kept, 2000);
            assert_eq!(filter.entries(), 2000);
            for p in &breached {
                assert!(filter.contains(&sha1(p)));
            }
            let mut file = Vec::new();
            filter.write_to(&mut file).unwrap();
            assert_eq!(file.len() as u64, 56 + filter.fingerprint_bytes());
            let back = Filter::read_from(&mut file.as_slice()).unwrap();
            assert_eq!(back.bits(), bits);
            assert_eq!(back.entries(), 2000);
            for p in &breached {
                assert!(back.contains(&sha1(p)));
            }
            // Truncated, padded or foreign files are refused.
            assert!(Filter::read_from(&mut &file[..file.len() - 1]).is_err());
            let mut padded = file.clone();
            padded.push(0);
            assert!(Filter::read_from(&mut padded.as_slice()).is_err());
            let mut foreign = file.clone();
            foreign[0] = b'X';
            assert!(Filter::read_from(&mut foreign.as_slice()).is_err());
        }
    }

    #[test]
    fn a_filter_file_answers_exactly_as_the_filter_in_memory() {
        let dir =
            std::env::temp_dir().join(format!("tessera-breach-{}-{}", std::process::id(), line!()));
        std::fs::create_dir_all(&dir).unwrap();
        let keys: Vec<u64> = (0..30_000u32)
            .map(|i| key(&sha1(&format!("in-{i}"))))
            .collect();
        for bits in [Bits::Eight, Bits::Sixteen] {
            let filter = Filter::build(keys.clone(), bits).unwrap();
            let path = dir.join(format!("filter-{}", bits.code()));
            let mut bytes = Vec::new();
            filter.write_to(&mut bytes).unwrap();
            std::fs::write(&path, &bytes).unwrap();
            let file = FilterFile::open(&path).unwrap();
            assert_eq!(file.bits(), bits);
            assert_eq!(file.entries(), 30_000);
            assert_eq!(file.fingerprint_bytes(), filter.fingerprint_bytes());
            for k in &keys {
                assert!(file.contains_key(*k).unwrap());
            }
            // Same answers as xorf's own lookup for keys it was not built from, false
            // positives included: the hand-written lookup is the library's.
            let mut positives = 0;
            for i in 0..200_000u32 {
                let k = key(&sha1(&format!("out-{i}")));
                let answer = file.contains_key(k).unwrap();
                assert_eq!(answer, filter.contains_key(k), "{i}");
                positives += usize::from(answer);
            }
            let expected = 200_000.0 * bits.false_positive_rate();
            assert!((positives as f64) < expected * 2.0 + 5.0, "{positives}");
            // Truncated and padded files are refused at open.
            std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
            assert!(matches!(
                FilterFile::open(&path),
                Err(BreachError::Format("truncated"))
            ));
            let mut padded = bytes.clone();
            padded.push(0);
            std::fs::write(&path, &padded).unwrap();
            assert!(matches!(
                FilterFile::open(&path),
                Err(BreachError::Format("trailing data"))
            ));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sixteen_bit_filters_rarely_answer_for_passwords_they_were_not_built_from() {
        let keys: Vec<u64> = (0..50_000u32)
            .map(|i| key(&sha1(&format!("in-{i}"))))
            .collect();
        let filter = Filter::build(keys, Bits::Sixteen).unwrap();
        let false_positives = (0..50_000u32)
            .filter(|i| filter.contains(&sha1(&format!("out-{i}"))))
            .count();
        // Expected ≈ 50,000 / 65,536 ≈ 0.8.
        assert!(false_positives <= 8, "{false_positives}");
    }

    #[test]
    fn min_count_leaves_out_rare_hashes() {
        let text = format!(
            "{}{}",
            hibp_line("common", 10, false),
            hibp_line("rare", 1, true)
        );
        let (filter, stats) = import(&mut text.as_bytes(), 5, Bits::Sixteen).unwrap();
        assert_eq!(stats.kept, 1);
        assert_eq!(stats.below_min_count, 1);
        assert!(filter.contains(&sha1("common")));
    }

    #[test]
    fn bad_lines_are_reported_with_their_number() {
        let text = format!("{}not-a-hash:3\n", hibp_line("a", 1, false));
        match import(&mut text.as_bytes(), 1, Bits::Eight) {
            Err(BreachError::Line { line: 2, .. }) => {}
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            import(&mut "".as_bytes(), 1, Bits::Eight),
            Err(BreachError::Empty)
        ));
    }

    #[test]
    fn range_answers_are_read_with_padding_ignored() {
        let d = sha1("password");
        let suffix = &hex::encode_upper(d)[5..];
        let body = format!("0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n{suffix}:0\r\n");
        assert!(!range_contains(&body, &d), "zero count is padding");
        let body = format!("0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n{suffix}:9545824\r\n");
        assert!(range_contains(&body, &d));
        assert!(range_contains(&body.to_lowercase(), &d));
        assert!(!range_contains(&body, &sha1("something else")));
    }
}
