//! Decoding `Content-Encoding: aws-chunked` bodies as they stream through: each chunk's
//! signature checked against the chain that starts at the request's seed signature
//! (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`), the trailing checksum
//! (`x-amz-checksum-crc32`, `-crc32c`, `-sha1`, `-sha256`, what current SDKs add by default)
//! recomputed over the payload, and the trailer's own signature when the payload is signed.
//! Out comes the plain payload, forwarded as such (the backend is sent `UNSIGNED-PAYLOAD` after
//! the gateway has checked the payload itself).

use crate::auth::ChunkSigner;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::Digest;

/// The checksum a trailer carries.
enum Checksum {
    Crc32(crc::Digest<'static, u32>),
    Crc32c(crc::Digest<'static, u32>),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
}

static CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
static CRC32C: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);

impl Checksum {
    fn for_header(name: &str) -> Option<Checksum> {
        Some(match name {
            "x-amz-checksum-crc32" => Checksum::Crc32(CRC32.digest()),
            "x-amz-checksum-crc32c" => Checksum::Crc32c(CRC32C.digest()),
            "x-amz-checksum-sha1" => Checksum::Sha1(sha1::Sha1::new()),
            "x-amz-checksum-sha256" => Checksum::Sha256(sha2::Sha256::new()),
            _ => return None,
        })
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Checksum::Crc32(d) | Checksum::Crc32c(d) => d.update(data),
            Checksum::Sha1(h) => h.update(data),
            Checksum::Sha256(h) => h.update(data),
        }
    }

    fn finish_base64(self) -> String {
        match self {
            Checksum::Crc32(d) | Checksum::Crc32c(d) => STANDARD.encode(d.finalize().to_be_bytes()),
            Checksum::Sha1(h) => STANDARD.encode(h.finalize()),
            Checksum::Sha256(h) => STANDARD.encode(h.finalize()),
        }
    }
}

/// Why an aws-chunked body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkError {
    Malformed(&'static str),
    /// A chunk or trailer signature is wrong.
    Signature,
    /// The trailing checksum doesn't match the payload.
    Checksum,
    /// The decoded length differs from `x-amz-decoded-content-length`.
    Length,
}

enum State {
    /// Reading a chunk header line.
    Header,
    /// Reading `remaining` bytes of chunk data (then its CRLF).
    Data {
        remaining: usize,
    },
    DataEnd,
    /// After the final chunk: trailer lines up to an empty one.
    Trailer,
    Done,
}

pub struct AwsChunked {
    state: State,
    buf: Vec<u8>,
    signer: Option<ChunkSigner>,
    /// The trailer header expected (`x-amz-trailer`) and its running checksum.
    trailer: Option<(String, Option<Checksum>)>,
    /// The current chunk's data and signature, when chunks are signed.
    chunk: Vec<u8>,
    chunk_signature: Option<String>,
    trailer_lines: Vec<u8>,
    trailer_signature: Option<String>,
    decoded: u64,
    expected_length: Option<u64>,
}

/// Chunks larger than this are refused (SDKs send 64 KiB; S3 allows up to a few MiB).
const MAX_CHUNK: usize = 16 * 1024 * 1024;

impl AwsChunked {
    /// `signer` for signed chunks; `trailer` is the `x-amz-trailer` header's value.
    pub fn new(
        signer: Option<ChunkSigner>,
        trailer: Option<&str>,
        expected_length: Option<u64>,
    ) -> AwsChunked {
        AwsChunked {
            state: State::Header,
            buf: Vec::new(),
            signer,
            trailer: trailer.map(|t| {
                let name = t.trim().to_ascii_lowercase();
                let sum = Checksum::for_header(&name);
                (name, sum)
            }),
            chunk: Vec::new(),
            chunk_signature: None,
            trailer_lines: Vec::new(),
            trailer_signature: None,
            decoded: 0,
            expected_length,
        }
    }

    fn take_line(&mut self) -> Result<Option<Vec<u8>>, ChunkError> {
        match self.buf.windows(2).position(|w| w == b"\r\n") {
            Some(at) => {
                let line = self.buf[..at].to_vec();
                self.buf.drain(..at + 2);
                Ok(Some(line))
            }
            None if self.buf.len() > 4096 => Err(ChunkError::Malformed("chunk header too long")),
            None => Ok(None),
        }
    }

    /// Feeds received bytes; returns the payload bytes they complete.
    pub fn push(&mut self, input: &[u8]) -> Result<Vec<u8>, ChunkError> {
        self.buf.extend_from_slice(input);
        let mut out = Vec::new();
        loop {
            match self.state {
                State::Header => {
                    let Some(line) = self.take_line()? else {
                        break;
                    };
                    let line = String::from_utf8(line)
                        .map_err(|_| ChunkError::Malformed("chunk header is not text"))?;
                    let (size, ext) = line.split_once(';').unwrap_or((&line, ""));
                    let size = usize::from_str_radix(size.trim(), 16)
                        .map_err(|_| ChunkError::Malformed("bad chunk size"))?;
                    if size > MAX_CHUNK {
                        return Err(ChunkError::Malformed("chunk too large"));
                    }
                    self.chunk_signature = ext
                        .trim()
                        .strip_prefix("chunk-signature=")
                        .map(str::to_string);
                    if self.signer.is_some() && self.chunk_signature.is_none() {
                        return Err(ChunkError::Signature);
                    }
                    if size == 0 {
                        self.verify_chunk()?;
                        self.state = State::Trailer;
                        // Without a trailer the body ends with an empty line; the trailer
                        // state reads it the same way.
                    } else {
                        self.state = State::Data { remaining: size };
                    }
                }
                State::Data { remaining } => {
                    if self.buf.is_empty() {
                        break;
                    }
                    let n = remaining.min(self.buf.len());
                    let data: Vec<u8> = self.buf.drain(..n).collect();
                    if let Some((_, Some(sum))) = &mut self.trailer {
                        sum.update(&data);
                    }
                    self.decoded += n as u64;
                    if self.signer.is_some() {
                        self.chunk.extend_from_slice(&data);
                    }
                    out.extend_from_slice(&data);
                    self.state = if n == remaining {
                        State::DataEnd
                    } else {
                        State::Data {
                            remaining: remaining - n,
                        }
                    };
                }
                State::DataEnd => {
                    if self.buf.len() < 2 {
                        break;
                    }
                    if &self.buf[..2] != b"\r\n" {
                        return Err(ChunkError::Malformed("chunk data not followed by CRLF"));
                    }
                    self.buf.drain(..2);
                    self.verify_chunk()?;
                    self.state = State::Header;
                }
                State::Trailer => {
                    let Some(line) = self.take_line()? else {
                        break;
                    };
                    if line.is_empty() {
                        self.state = State::Done;
                        continue;
                    }
                    let text = String::from_utf8(line)
                        .map_err(|_| ChunkError::Malformed("trailer is not text"))?;
                    let (name, value) = text
                        .split_once(':')
                        .ok_or(ChunkError::Malformed("bad trailer line"))?;
                    let name = name.trim().to_ascii_lowercase();
                    if name == "x-amz-trailer-signature" {
                        self.trailer_signature = Some(value.trim().to_string());
                    } else {
                        self.check_trailer(&name, value.trim())?;
                        self.trailer_lines
                            .extend_from_slice(format!("{name}:{}\n", value.trim()).as_bytes());
                    }
                }
                State::Done => {
                    if !self.buf.is_empty() {
                        return Err(ChunkError::Malformed("data after the final chunk"));
                    }
                    break;
                }
            }
        }
        Ok(out)
    }

    fn verify_chunk(&mut self) -> Result<(), ChunkError> {
        if let Some(signer) = &mut self.signer {
            let sig = self.chunk_signature.take().unwrap_or_default();
            let ok = signer.verify_chunk(&self.chunk, &sig);
            self.chunk.clear();
            if !ok {
                return Err(ChunkError::Signature);
            }
        }
        Ok(())
    }

    fn check_trailer(&mut self, name: &str, value: &str) -> Result<(), ChunkError> {
        let Some((expected_name, sum)) = &mut self.trailer else {
            return Err(ChunkError::Malformed(
                "a trailer was not announced in x-amz-trailer",
            ));
        };
        if name != expected_name {
            return Err(ChunkError::Malformed(
                "a trailer other than the one announced",
            ));
        }
        if let Some(sum) = sum.take()
            && sum.finish_base64() != value
        {
            return Err(ChunkError::Checksum);
        }
        Ok(())
    }

    /// The body has ended: it must have been complete, signed and summed right.
    pub fn finish(&mut self) -> Result<(), ChunkError> {
        if !matches!(self.state, State::Done) {
            return Err(ChunkError::Malformed("the body ended inside a chunk"));
        }
        if self.expected_length.is_some_and(|l| l != self.decoded) {
            return Err(ChunkError::Length);
        }
        if let Some(signer) = &self.signer
            && self.trailer.is_some()
        {
            let sig = self.trailer_signature.as_deref().unwrap_or_default();
            if !signer.verify_trailer(&self.trailer_lines, sig) {
                return Err(ChunkError::Signature);
            }
        }
        if self.trailer.as_ref().is_some_and(|(_, sum)| sum.is_some()) {
            // Announced but never sent.
            return Err(ChunkError::Malformed("the announced trailer is missing"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crc32_b64(data: &[u8]) -> String {
        STANDARD.encode(CRC32.checksum(data).to_be_bytes())
    }

    #[test]
    fn unsigned_chunks_with_a_crc32_trailer_decode_in_any_split() {
        let payload = b"hello world, hello gateway";
        let body = format!(
            "a\r\n{}\r\n10\r\n{}\r\n0\r\nx-amz-checksum-crc32:{}\r\n\r\n",
            std::str::from_utf8(&payload[..10]).unwrap(),
            std::str::from_utf8(&payload[10..]).unwrap(),
            crc32_b64(payload)
        );
        for split in 1..body.len() {
            let mut d = AwsChunked::new(
                None,
                Some("x-amz-checksum-crc32"),
                Some(payload.len() as u64),
            );
            let mut out = d.push(&body.as_bytes()[..split]).unwrap();
            out.extend(d.push(&body.as_bytes()[split..]).unwrap());
            d.finish().unwrap();
            assert_eq!(out, payload);
        }
    }

    #[test]
    fn a_wrong_checksum_or_truncated_body_is_refused() {
        let body = "3\r\nabc\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n";
        let mut d = AwsChunked::new(None, Some("x-amz-checksum-crc32"), None);
        assert_eq!(d.push(body.as_bytes()), Err(ChunkError::Checksum));
        let mut d = AwsChunked::new(None, None, None);
        d.push(b"3\r\nab").unwrap();
        assert!(d.finish().is_err());
        let mut d = AwsChunked::new(None, None, Some(4));
        d.push(b"3\r\nabc\r\n0\r\n\r\n").unwrap();
        assert_eq!(d.finish(), Err(ChunkError::Length));
    }
}
