//! Random bytes from the operating system's CSPRNG (through aws-lc).

use aws_lc_rs::rand::{SecureRandom, SystemRandom};

/// Fills an array with random bytes. Failure of the system RNG is not recoverable.
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    fill(&mut out);
    out
}

pub fn fill(out: &mut [u8]) {
    if SystemRandom::new().fill(out).is_err() {
        // Continuing without randomness would mint guessable secrets.
        std::process::abort();
    }
}

/// A URL-safe random token of `n` random bytes (for refresh tokens and session ids).
pub fn token(n: usize) -> String {
    use base64::Engine;
    let mut buf = vec![0u8; n];
    fill(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// `n` characters drawn uniformly from `alphabet` (rejection sampling, no modulo bias).
pub fn string_from(alphabet: &[u8], n: usize) -> String {
    let len = alphabet.len().clamp(1, 256);
    let limit = 256 - (256 % len);
    let mut out = String::with_capacity(n);
    while out.len() < n {
        let mut buf = [0u8; 64];
        fill(&mut buf);
        for b in buf {
            if (b as usize) < limit && out.len() < n {
                out.push(alphabet[b as usize % len] as char);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn strings_use_only_the_alphabet() {
        let s = super::string_from(b"abc", 500);
        assert_eq!(s.len(), 500);
        assert!(s.chars().all(|c| "abc".contains(c)));
        assert!(s.contains('a') && s.contains('b') && s.contains('c'));
    }
}
