//! Outbound HTTP that stays away from the deployment's own network (SSRF): cloud metadata at
//! 169.254.169.254, databases on 10.x, admin ports on loopback. The SMS webhook and the trigger
//! invoker both call hosts named in configuration; they build their clients here so one guard
//! covers every call Tessera makes.
//!
//! A check of the URL alone is not enough: a public name can resolve to 127.0.0.1, and its
//! records can change between a check and the connection (DNS rebinding). So the HTTP client
//! gets [`GuardedResolver`] as its resolver: the addresses it hands to the connector are the
//! ones it checked, and the connector dials nothing else. URLs holding an IP literal never reach a
//! resolver (the connector parses them itself), so callers check those with
//! [`check_ip_literal`] when they are configured. Proxies are turned off on the client, since a
//! proxy would resolve the target itself; redirects are off too.

mod guard;

pub use guard::{GuardedResolver, RefusedResolution, is_internal, is_refusal};

use reqwest::Url;
use std::net::IpAddr;

/// A URL names an internal address by IP literal and private addresses aren't allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refusing internal address {0}")]
pub struct ForbiddenAddress(pub String);

/// Refuses `url` if its host is an IP literal that [`is_internal`] refuses, unless
/// `allow_private`. Host names pass: the resolver of [`client_builder`] judges them.
pub fn check_ip_literal(url: &Url, allow_private: bool) -> Result<(), ForbiddenAddress> {
    if allow_private {
        return Ok(());
    }
    // `Url` has already normalised every IPv4 spelling (2130706433, 0x7f.1, …) to dotted quads.
    let Some(host) = url.host_str() else {
        return Ok(());
    };
    match host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        Ok(ip) if is_internal(ip) => Err(ForbiddenAddress(ip.to_string())),
        _ => Ok(()),
    }
}

/// A reqwest client builder with proxies and redirects off, Tessera's user agent, and — unless
/// `allow_private` — the [`GuardedResolver`]. Callers add their timeouts and build.
pub fn client_builder(allow_private: bool) -> reqwest::ClientBuilder {
    let builder = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("tessera/", env!("CARGO_PKG_VERSION")));
    if allow_private {
        builder
    } else {
        builder.dns_resolver(GuardedResolver)
    }
}

/// An error and its causes, joined with `": "`; reqwest's own message is only "error sending
/// request", the reason is further down. Repeated messages are given once.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(url: &str, allow_private: bool) -> Result<(), ForbiddenAddress> {
        check_ip_literal(&Url::parse(url).unwrap(), allow_private)
    }

    #[test]
    fn internal_literals_are_refused_unless_allowed() {
        for url in [
            "http://127.0.0.1:9000/sms",
            "http://2130706433/sms",
            "http://0x7f.1/",
            "http://10.0.0.5/sms",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]:8080/",
            "https://[fd00::1]/",
            "http://[::ffff:192.168.0.1]/",
            "http://0.0.0.0/",
        ] {
            assert!(check(url, false).is_err(), "{url}");
            assert!(check(url, true).is_ok(), "{url}");
        }
        assert!(check("https://sms.example.com/hook", false).is_ok());
        assert!(check("https://8.8.8.8/hook", false).is_ok());
        assert!(check("https://[2606:4700:4700::1111]/", false).is_ok());
    }

    #[tokio::test]
    async fn the_guarded_client_refuses_names_of_internal_hosts() {
        let client = client_builder(false).build().unwrap();
        let err = client.get("http://localhost:9/").send().await.unwrap_err();
        assert!(is_refusal(&err), "{}", error_chain(&err));
    }

    #[test]
    fn error_chain_skips_repeats() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] Inner);
        #[derive(Debug, thiserror::Error)]
        #[error("inner")]
        struct Inner;
        assert_eq!(error_chain(&Outer(Inner)), "outer: inner");
    }
}
