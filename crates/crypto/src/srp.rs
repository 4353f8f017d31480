//! Cognito's SRP-6a (USER_SRP_AUTH / PASSWORD_VERIFIER, and device SRP), server and client.
//!
//! The variant Cognito speaks differs from RFC 5054 in four ways, all reproduced here: `k` and
//! `u` hash values padded as minimal two's-complement ("PAD"), `x` includes the pool name, the
//! session key is one HKDF block keyed by `u` with info "Caldera Derived Key", and the proof is an
//! HMAC over pool name, user id, the secret block and a timestamp.
//!
//! Arithmetic is in the 3072-bit group of RFC 3526 with crypto-bigint's constant-time Montgomery
//! form, so exponentiations with the server's secret `b` don't leak it through timing.

use crate::CryptoError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use crypto_bigint::modular::{BoxedMontyForm, BoxedMontyParams};
use crypto_bigint::{BoxedUint, NonZero, Odd, Resize};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

const BITS: u32 = 3072;

/// RFC 3526 group 15 (3072-bit MODP), generator 2.
const N_HEX: &str = "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3BE39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF";

struct Group {
    params: BoxedMontyParams,
    n: NonZero<BoxedUint>,
    g: BoxedMontyForm,
    k: BoxedMontyForm,
}

static GROUP: LazyLock<Option<Group>> = LazyLock::new(|| {
    let n = Option::<BoxedUint>::from(BoxedUint::from_be_hex(N_HEX, BITS))?;
    let odd = Option::<Odd<BoxedUint>>::from(Odd::new(n.clone()))?;
    let params = BoxedMontyParams::new(odd);
    let g_int = BoxedUint::from_be_slice(&[2], BITS).ok()?;
    let k_int = BoxedUint::from_be_slice(&sha256(&[&pad(&n), &pad(&g_int)]), BITS).ok()?;
    Some(Group {
        g: BoxedMontyForm::new(g_int, &params),
        k: BoxedMontyForm::new(k_int, &params),
        n: Option::<NonZero<BoxedUint>>::from(NonZero::new(n))?,
        params,
    })
});

fn group() -> Result<&'static Group, CryptoError> {
    GROUP
        .as_ref()
        .ok_or_else(|| CryptoError::Key("SRP group constants are invalid".into()))
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return [0; 32],
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// Big-endian bytes without leading zeros, then one 0x00 if the top bit is set: the byte form of
/// Cognito's "minimal two's-complement hex" padding.
fn pad(x: &BoxedUint) -> Vec<u8> {
    let bytes = x.to_be_bytes_trimmed_vartime();
    let mut out = Vec::with_capacity(bytes.len() + 1);
    if bytes.is_empty() {
        out.push(0);
    } else {
        if bytes[0] & 0x80 != 0 {
            out.push(0);
        }
        out.extend_from_slice(&bytes);
    }
    out
}

/// An integer in [0, N) from big-endian bytes of any length.
fn reduce(bytes: &[u8]) -> Result<BoxedUint, CryptoError> {
    let g = group()?;
    let trimmed: &[u8] = {
        let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
        &bytes[first..]
    };
    let precision = (trimmed.len() as u32 * 8).max(BITS).div_ceil(64) * 64;
    let wide = BoxedUint::from_be_slice(trimmed, precision)
        .map_err(|_| CryptoError::Key("number too large".into()))?;
    let n = g.n.as_ref().clone().resize_unchecked(precision);
    let n = Option::<NonZero<BoxedUint>>::from(NonZero::new(n))
        .ok_or_else(|| CryptoError::Key("zero modulus".into()))?;
    wide.rem(&n)
        .try_resize(BITS)
        .ok_or_else(|| CryptoError::Key("reduction failed".into()))
}

/// A SHA-256-sized value (x, u) as an exponent of its real width: exponentiation time follows
/// the exponent's precision, and these never exceed 256 bits.
fn hash_exponent(x: &BoxedUint) -> Result<BoxedUint, CryptoError> {
    x.clone()
        .try_resize(256)
        .ok_or_else(|| CryptoError::Key("exponent wider than 256 bits".into()))
}

fn monty(x: BoxedUint) -> Result<BoxedMontyForm, CryptoError> {
    Ok(BoxedMontyForm::new(x, &group()?.params))
}

fn from_hex(hex_str: &str) -> Result<Vec<u8>, CryptoError> {
    let s = hex_str.trim();
    let s = if s.len() % 2 == 1 {
        format!("0{s}")
    } else {
        s.to_string()
    };
    hex::decode(s).map_err(|_| CryptoError::Key("not hexadecimal".into()))
}

/// Lower-case hex without leading zeros, as Cognito sends SRP_B and SALT.
fn to_hex(x: &BoxedUint) -> String {
    let h = hex::encode(x.to_be_bytes_trimmed_vartime());
    let h = h.trim_start_matches('0');
    if h.is_empty() { "0".into() } else { h.into() }
}

/// `x = H(PAD(salt) ‖ H(pool_name ‖ user_id ‖ ":" ‖ password))`.
fn private_key(
    pool_name: &str,
    user_id: &str,
    password: &str,
    salt: &[u8],
) -> Result<BoxedUint, CryptoError> {
    let inner = sha256(&[
        pool_name.as_bytes(),
        user_id.as_bytes(),
        b":",
        password.as_bytes(),
    ]);
    let salt = reduce(salt)?;
    reduce(&sha256(&[&pad(&salt), &inner]))
}

/// The verifier `v = g^x` for a password, as big-endian bytes.
pub fn verifier(
    pool_name: &str,
    user_id: &str,
    password: &str,
    salt: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let x = hash_exponent(&private_key(pool_name, user_id, password, salt)?)?;
    Ok(group()?
        .g
        .pow(&x)
        .retrieve()
        .to_be_bytes_trimmed_vartime()
        .to_vec())
}

/// A salt as Cognito formats it in ChallengeParameters.SALT.
pub fn salt_hex(salt: &[u8]) -> Result<String, CryptoError> {
    Ok(to_hex(&reduce(salt)?))
}

/// The server's half of one SRP exchange.
pub struct ServerExchange {
    /// `B = k·v + g^b mod N`, hex, for SRP_B.
    pub b_pub_hex: String,
}

/// Starts an exchange for verifier `v` with the server's secret `b` (≥ 256 random bits).
pub fn server_start(verifier: &[u8], b_secret: &[u8]) -> Result<ServerExchange, CryptoError> {
    let g = group()?;
    let v = monty(reduce(verifier)?)?;
    let b = BoxedUint::from_be_slice_vartime(b_secret);
    let b_pub = g.k.mul(&v).add(&g.g.pow(&b)).retrieve();
    if bool::from(b_pub.is_zero()) {
        return Err(CryptoError::Key("B is zero; pick another b".into()));
    }
    Ok(ServerExchange {
        b_pub_hex: to_hex(&b_pub),
    })
}

/// The 16-byte session key both sides derive.
pub type SessionKey = [u8; 16];

fn session_key(s: &BoxedUint, u: &BoxedUint) -> SessionKey {
    let prk = hmac(&pad(u), &[&pad(s)]);
    let okm = hmac(&prk, &[b"Caldera Derived Key", &[1]]);
    let mut key = [0u8; 16];
    key.copy_from_slice(&okm[..16]);
    key
}

fn scrambler(a_pub: &BoxedUint, b_pub: &BoxedUint) -> Result<BoxedUint, CryptoError> {
    let u = reduce(&sha256(&[&pad(a_pub), &pad(b_pub)]))?;
    if bool::from(u.is_zero()) {
        return Err(CryptoError::Key("u is zero".into()));
    }
    Ok(u)
}

/// Parses the client's SRP_A (hex of any length); refuses A ≡ 0 (mod N), which would let a
/// client force the session key.
pub fn parse_client_public(a_hex: &str) -> Result<String, CryptoError> {
    let a = reduce(&from_hex(a_hex)?)?;
    if bool::from(a.is_zero()) {
        return Err(CryptoError::Key("SRP_A is zero modulo N".into()));
    }
    Ok(to_hex(&a))
}

/// The server's session key: `S = (A · v^u)^b`, then HKDF.
pub fn server_session_key(
    a_hex: &str,
    b_pub_hex: &str,
    b_secret: &[u8],
    verifier: &[u8],
) -> Result<SessionKey, CryptoError> {
    let a_pub = reduce(&from_hex(a_hex)?)?;
    if bool::from(a_pub.is_zero()) {
        return Err(CryptoError::Key("SRP_A is zero modulo N".into()));
    }
    let b_pub = reduce(&from_hex(b_pub_hex)?)?;
    let u = scrambler(&a_pub, &b_pub)?;
    let v = monty(reduce(verifier)?)?;
    let b = BoxedUint::from_be_slice_vartime(b_secret);
    let s = monty(a_pub)?
        .mul(&v.pow(&hash_exponent(&u)?))
        .pow(&b)
        .retrieve();
    Ok(session_key(&s, &u))
}

/// `PASSWORD_CLAIM_SIGNATURE = base64(HMAC(K, pool_name ‖ user_id ‖ secret_block ‖ timestamp))`.
pub fn claim_signature(
    key: &SessionKey,
    pool_name: &str,
    user_id: &str,
    secret_block: &[u8],
    timestamp: &str,
) -> String {
    STANDARD.encode(hmac(
        key,
        &[
            pool_name.as_bytes(),
            user_id.as_bytes(),
            secret_block,
            timestamp.as_bytes(),
        ],
    ))
}

/// Checks a presented claim signature in constant time.
pub fn verify_claim(
    key: &SessionKey,
    pool_name: &str,
    user_id: &str,
    secret_block: &[u8],
    timestamp: &str,
    presented: &str,
) -> bool {
    let expected = claim_signature(key, pool_name, user_id, secret_block, timestamp);
    crate::constant_time_eq(expected.as_bytes(), presented.as_bytes())
}

/// The client's half, for tests and tools (real clients bring their own).
pub mod client {
    use super::*;

    /// `A = g^a`, hex.
    pub fn public(a_secret: &[u8]) -> Result<String, CryptoError> {
        let a = BoxedUint::from_be_slice_vartime(a_secret);
        Ok(to_hex(&group()?.g.pow(&a).retrieve()))
    }

    /// The client's session key: `S = (B − k·g^x)^(a + u·x)`.
    pub fn session_key(
        pool_name: &str,
        user_id: &str,
        password: &str,
        salt_hex: &str,
        a_secret: &[u8],
        b_pub_hex: &str,
    ) -> Result<SessionKey, CryptoError> {
        let g = group()?;
        let x = private_key(pool_name, user_id, password, &from_hex(salt_hex)?)?;
        let a = BoxedUint::from_be_slice_vartime(a_secret);
        let a_pub = g.g.pow(&a).retrieve();
        let b_pub = reduce(&from_hex(b_pub_hex)?)?;
        let u = scrambler(&a_pub, &b_pub)?;
        let (x, u_exp) = (hash_exponent(&x)?, hash_exponent(&u)?);
        let base = monty(b_pub)?.sub(&g.k.mul(&g.g.pow(&x)));
        // a + u·x: u and x are below 2^256, so 512 bits plus a's width (and a carry) suffice.
        let wide = (a.bits_precision().max(512) + 64).div_ceil(64) * 64;
        let ux = u_exp
            .resize_unchecked(wide)
            .wrapping_mul(x.resize_unchecked(wide));
        let exponent = ux.wrapping_add(a.resize_unchecked(wide));
        let s = base.pow(&exponent).retrieve();
        Ok(super::session_key(&s, &u))
    }
}

/// Cognito's TIMESTAMP: `Wed Sep 5 21:08:03 UTC 2018` (day not zero-padded; padded accepted).
pub fn format_timestamp(
    year: i64,
    month: u32,
    day: u32,
    weekday: u32,
    hh: u32,
    mm: u32,
    ss: u32,
) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {} {day} {hh:02}:{mm:02}:{ss:02} UTC {year}",
        DAYS[(weekday % 7) as usize],
        MONTHS[((month.max(1) - 1) % 12) as usize]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn vector() -> Value {
        serde_json::from_str(include_str!("../tests/srp_test_vector.json")).unwrap()
    }

    fn s(v: &Value, k: &str) -> String {
        v[k].as_str().unwrap().to_string()
    }

    #[test]
    fn reproduces_the_reference_vector_bit_for_bit() {
        let v = vector();
        let pool = "ExAmPle12";
        let salt = hex::decode(s(&v, "salt_hex")).unwrap();
        let b = hex::decode(s(&v, "b_hex")).unwrap();
        let a = hex::decode(s(&v, "a_hex")).unwrap();

        let g = group().unwrap();
        assert_eq!(to_hex(&g.k.retrieve()), s(&v, "k_hex"));
        let x = private_key(pool, "alice", "Passw0rd!", &salt).unwrap();
        assert_eq!(to_hex(&x), s(&v, "x_hex"));
        let verifier = verifier(pool, "alice", "Passw0rd!", &salt).unwrap();
        assert_eq!(hex::encode(&verifier), s(&v, "verifier_hex"));

        assert_eq!(client::public(&a).unwrap(), s(&v, "SRP_A"));
        let server = server_start(&verifier, &b).unwrap();
        assert_eq!(server.b_pub_hex, s(&v, "SRP_B"));

        let key = server_session_key(&s(&v, "SRP_A"), &server.b_pub_hex, &b, &verifier).unwrap();
        assert_eq!(hex::encode(key), s(&v, "hkdf_key_hex"));
        let client_key = client::session_key(
            pool,
            "alice",
            "Passw0rd!",
            &s(&v, "salt_hex"),
            &a,
            &server.b_pub_hex,
        )
        .unwrap();
        assert_eq!(client_key, key);

        let block = STANDARD.decode(s(&v, "SECRET_BLOCK")).unwrap();
        let sig = claim_signature(&key, pool, "alice", &block, &s(&v, "TIMESTAMP"));
        assert_eq!(sig, s(&v, "PASSWORD_CLAIM_SIGNATURE"));
        assert!(verify_claim(
            &key,
            pool,
            "alice",
            &block,
            &s(&v, "TIMESTAMP"),
            &sig
        ));
        assert!(!verify_claim(
            &key,
            pool,
            "alice",
            &block,
            "Wed Sep 5 21:08:04 UTC 2018",
            &sig
        ));
    }

    #[test]
    fn refuses_a_zero_client_public() {
        assert!(parse_client_public("0").is_err());
        assert!(parse_client_public(N_HEX).is_err());
        let two_n = {
            let n = BoxedUint::from_be_hex(N_HEX, BITS)
                .unwrap()
                .resize_unchecked(BITS + 64);
            to_hex(&n.wrapping_add(&n))
        };
        assert!(parse_client_public(&two_n).is_err());
        assert!(parse_client_public("2").is_ok());
    }

    #[test]
    fn timestamps_have_an_unpadded_day() {
        assert_eq!(
            format_timestamp(2018, 9, 5, 3, 21, 8, 3),
            "Wed Sep 5 21:08:03 UTC 2018"
        );
        assert_eq!(
            format_timestamp(2018, 9, 25, 2, 21, 48, 13),
            "Tue Sep 25 21:48:13 UTC 2018"
        );
    }

    mod against_an_independent_client {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(12))]
            /// aws-cognito-srp (num-bigint, written independently) signs; we verify.
            #[test]
            fn a_real_client_signature_verifies(
                user in "[a-z0-9]{1,12}",
                password in "[ -~]{1,20}",
                salt in proptest::collection::vec(any::<u8>(), 16),
                b in proptest::collection::vec(any::<u8>(), 32),
                block in proptest::collection::vec(any::<u8>(), 1..64),
            ) {
                let pool_id = "us-east-1_PropTest1";
                let pool = "PropTest1";
                let v = verifier(pool, &user, &password, &salt).unwrap();
                let server = server_start(&v, &b).unwrap();
                let salt_hex = salt_hex(&salt).unwrap();
                let c = aws_cognito_srp::SrpClient::new(
                    aws_cognito_srp::User::new(pool_id, &user, &password),
                    "client",
                    None,
                );
                let a_hex = c.get_auth_parameters().a;
                let block_b64 = STANDARD.encode(&block);
                let params = c.verify(&block_b64, &user, &salt_hex, &server.b_pub_hex).unwrap();
                let key = server_session_key(&a_hex, &server.b_pub_hex, &b, &v).unwrap();
                prop_assert!(verify_claim(&key, pool, &user, &block, &params.timestamp, &params.password_claim_signature));
                // The wrong password never verifies.
                let wrong = verifier(pool, &user, &format!("{password}x"), &salt).unwrap();
                let key = server_session_key(&a_hex, &server.b_pub_hex, &b, &wrong).unwrap();
                prop_assert!(!verify_claim(&key, pool, &user, &block, &params.timestamp, &params.password_claim_signature));
            }
        }
    }
}
