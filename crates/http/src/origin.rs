//! Where a request came from, for threat protection: the peer address, or — when the peer is a
//! trusted proxy (setting `trusted_proxies`) — the address that proxy saw, read from the right
//! end of `X-Forwarded-For` past every trusted hop. A client can put anything at the left end of
//! the header, so entries are believed only as far as a trusted proxy vouches for them.

use crate::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use tessera_engine::threat::{Origin, with_origin};

/// The client address: `peer`, then X-Forwarded-For entries from the right while the address
/// so far is a trusted proxy.
pub fn client_ip(
    peer: Option<IpAddr>,
    forwarded_for: &[&str],
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let mut current = peer?;
    let mut hops = forwarded_for
        .iter()
        .flat_map(|h| h.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>();
    while trusted.iter().any(|n| n.contains(&current)) {
        let Some(next) = hops.pop() else { break };
        match parse_hop(next) {
            Some(ip) => current = ip,
            // A garbled entry ends the chain: what lies left of it can't be vouched for.
            None => break,
        }
    }
    Some(current)
}

/// An X-Forwarded-For entry: an address, possibly with a port (`1.2.3.4:5678`, `[::1]:80`).
fn parse_hop(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sock) = s.parse::<SocketAddr>() {
        return Some(sock.ip());
    }
    s.trim_start_matches('[').trim_end_matches(']').parse().ok()
}

/// The client address of a request: its peer, through the trusted proxies' X-Forwarded-For.
pub(crate) fn request_client_ip(req: &Request, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    client_ip(peer, &forwarded, trusted)
}

/// Middleware: runs the request with its [`Origin`].
pub async fn request_origin(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let ip = request_client_ip(&req, &state.trusted_proxies);
    let user_agent = req
        .headers()
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(256).collect());
    with_origin(Origin { ip, user_agent }, next.run(req)).await
}

/// The origin an admin call describes with ContextData (the end user's address and headers,
/// as the calling server saw them): it replaces the caller's own, which is that server's.
pub(crate) fn from_context_data(c: &tessera_wire::idp::ContextDataType) -> Option<Origin> {
    let ip = c.ip_address.parse::<IpAddr>().ok()?;
    let user_agent = c
        .http_headers
        .iter()
        .find(|h| {
            h.header_name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case("user-agent"))
        })
        .and_then(|h| h.header_value.clone());
    Some(Origin {
        ip: Some(ip),
        user_agent,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(s: &[&str]) -> Vec<IpNet> {
        s.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let peer: IpAddr = "10.0.0.5".parse().unwrap();
        let header = ["203.0.113.9, 198.51.100.7"];
        // Untrusted peer: the header is ignored.
        assert_eq!(client_ip(Some(peer), &header, &[]), Some(peer));
        // One trusted hop: the entry it added.
        assert_eq!(
            client_ip(Some(peer), &header, &nets(&["10.0.0.0/8"])),
            Some("198.51.100.7".parse().unwrap())
        );
        // Two trusted hops.
        assert_eq!(
            client_ip(
                Some(peer),
                &header,
                &nets(&["10.0.0.0/8", "198.51.100.0/24"])
            ),
            Some("203.0.113.9".parse().unwrap())
        );
        // A spoofed leftmost entry never wins over the first untrusted one.
        let spoofed = ["1.1.1.1", "203.0.113.9"];
        assert_eq!(
            client_ip(Some(peer), &spoofed, &nets(&["10.0.0.0/8"])),
            Some("203.0.113.9".parse().unwrap())
        );
        // Ports and garbage.
        assert_eq!(
            client_ip(Some(peer), &["[2001:db8::1]:443"], &nets(&["10.0.0.0/8"])),
            Some("2001:db8::1".parse().unwrap())
        );
        assert_eq!(
            client_ip(Some(peer), &["nonsense"], &nets(&["10.0.0.0/8"])),
            Some(peer)
        );
    }
}
