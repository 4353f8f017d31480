//! Cognito's SECRET_HASH: `Base64(HMAC-SHA256(key = client secret, msg = username ‖ client id))`.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub fn compute(client_secret: &str, username: &str, client_id: &str) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(client_secret.as_bytes()) {
        Ok(m) => m,
        // HMAC accepts keys of any length; this branch cannot be taken.
        Err(_) => return String::new(),
    };
    mac.update(username.as_bytes());
    mac.update(client_id.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Checks a presented SECRET_HASH in constant time.
pub fn verify(client_secret: &str, username: &str, client_id: &str, presented: &str) -> bool {
    crate::constant_time_eq(
        compute(client_secret, username, client_id).as_bytes(),
        presented.as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn matches_the_reference_vector() {
        // ../shared/reference/srp_test_vector.json, secret_hash_example.
        assert_eq!(
            super::compute("clientsecret123", "alice", "client123"),
            "iaCa4iIeMLWdpeLAA0XWg5Zts0zPbaZYbhnp2t64a4c="
        );
        assert!(super::verify(
            "clientsecret123",
            "alice",
            "client123",
            "iaCa4iIeMLWdpeLAA0XWg5Zts0zPbaZYbhnp2t64a4c="
        ));
        assert!(!super::verify("clientsecret123", "bob", "client123", "x"));
    }
}
