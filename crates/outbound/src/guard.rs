//! Which addresses are internal, and a resolver that never hands one to the connector.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Whether `ip` is anything but a public unicast address: private, loopback, link-local
/// (including the metadata service), unique-local, carrier-grade NAT, documentation, benchmark,
/// multicast, reserved, unspecified — and IPv6 forms that embed such an IPv4 address.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => is_internal_v6(v6),
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    a == 0 // "this network"; 0.0.0.0 reaches the local host on Linux
        || a == 10
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || a == 127
        || (a == 169 && b == 254) // link-local, cloud metadata
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // documentation
        || (a == 192 && b == 168)
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // documentation
        || (a == 203 && b == 0 && c == 113) // documentation
        || a >= 224 // multicast, reserved, broadcast
}

fn is_internal_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let embedded_v4 = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_internal_v4(v4);
    }
    match s {
        // ::, ::1 and the deprecated IPv4-compatible ::a.b.c.d
        [0, 0, 0, 0, 0, 0, _, _] => true,
        // NAT64 well-known prefix: judge the IPv4 address it translates to
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => is_internal_v4(embedded_v4(hi, lo)),
        // 6to4: the IPv4 address sits in bits 16..48
        [0x2002, hi, lo, ..] => is_internal_v4(embedded_v4(hi, lo)),
        _ => {
            let first = s[0];
            (first == 0x64 && s[1] == 0xff9b) // local-use NAT64 64:ff9b:1::/48
                || (first == 0x100 && s[1..4] == [0, 0, 0]) // discard-only 100::/64
                || (first == 0x2001 && s[1] == 0) // Teredo
                || (first == 0x2001 && s[1] == 0xdb8) // documentation
                || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (first & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
                || (first & 0xff00) == 0xff00 // multicast
        }
    }
}

/// A host name resolved only to addresses [`is_internal`] refuses.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves only to internal addresses ({addresses}); not connecting")]
pub struct RefusedResolution {
    host: String,
    addresses: String,
}

/// The system resolver (getaddrinfo, through tokio), minus internal addresses.
#[derive(Clone, Copy, Debug, Default)]
pub struct GuardedResolver;

impl GuardedResolver {
    /// The public addresses of `host`, or an error if it has none.
    pub async fn lookup(host: &str) -> Result<Vec<SocketAddr>, BoxError> {
        // Port 0: reqwest puts the URL's port (or the scheme's default) in its place.
        let all: Vec<SocketAddr> = tokio::net::lookup_host((host, 0)).await?.collect();
        let public: Vec<SocketAddr> = all
            .iter()
            .filter(|a| !is_internal(a.ip()))
            .copied()
            .collect();
        if public.is_empty() {
            let addresses = all
                .iter()
                .map(|a| a.ip().to_string())
                .collect::<Vec<_>>()
                .join(", ");
            return Err(Box::new(RefusedResolution {
                host: host.to_string(),
                addresses,
            }));
        }
        if public.len() < all.len() {
            tracing::warn!(
                host,
                "ignoring internal addresses among an outbound host's DNS records"
            );
        }
        Ok(public)
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs = Self::lookup(&host).await?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Whether an error (from reqwest, through its chain of sources) is the guard's refusal.
pub fn is_refusal(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if e.is::<RefusedResolution>() {
            return true;
        }
        current = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn internal(s: &str) -> bool {
        is_internal(s.parse().unwrap())
    }

    #[test]
    fn internal_ranges() {
        for ip in [
            "0.0.0.0",
            "10.1.2.3",
            "100.64.0.1",
            "127.0.0.1",
            "127.255.255.254",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.168.1.1",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
            "2001:db8::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "fd00:ec2::254",
        ] {
            assert!(internal(ip), "{ip} should be internal");
        }
    }

    #[test]
    fn public_addresses() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.169.0.1",
            "203.0.114.1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::",
            "2606:4700:4700::1111",
            "2a00:1450:4001::200e",
        ] {
            assert!(!internal(ip), "{ip} should be public");
        }
    }

    #[tokio::test]
    async fn localhost_is_refused_after_resolution() {
        let err = GuardedResolver::lookup("localhost").await.unwrap_err();
        assert!(is_refusal(err.as_ref()), "{err}");
    }
}
