//! Who the client is: the TCP peer, or — when the peer is a reverse proxy listed in
//! `[server] trusted_proxies` — the rightmost address in `X-Forwarded-For` that is not itself a
//! trusted proxy. Only the proxies' own appends are believed: a client can put anything to the
//! left, so the walk stops at the first hop no trusted proxy vouches for (issue 21).

use std::net::IpAddr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The TCP peer's address, put on each request by the accept loop.
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub IpAddr);

/// `true` if `addr` is in one of the `trusted` blocks.
pub fn trusted(trusted: &[IpNet], addr: IpAddr) -> bool {
    let addr = canonical(addr);
    trusted.iter().any(|n| n.contains(&addr))
}

/// The client's address: `peer`, or, while the current hop is a trusted proxy, the hop it says
/// it received the request from (the next address to the left in `X-Forwarded-For`, over all
/// the header's lines in order). A hop that is not an address ends the walk at the proxy that
/// wrote it.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[IpNet]) -> IpAddr {
    let mut client = canonical(peer);
    if !trusted(trusted_proxies, client) {
        return client;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    for hop in hops.iter().rev() {
        match parse_hop(hop) {
            Some(addr) => client = addr,
            None => break,
        }
        if !trusted(trusted_proxies, client) {
            break;
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, maybe with a port (`1.2.3.4:5678`, `[::1]:80`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
        .map(canonical)
}

/// An IPv4 address seen through an IPv6 socket (`::ffff:a.b.c.d`) as the IPv4 one.
fn canonical(addr: IpAddr) -> IpAddr {
    addr.to_canonical()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_rightmost_untrusted_hop_from_a_trusted_peer_is_the_client() {
        let proxies: Vec<IpNet> = vec![
            "127.0.0.1/32".parse().unwrap(),
            "10.0.0.0/8".parse().unwrap(),
        ];
        let cases: &[(&str, &[&str], &str)] = &[
            // Not a trusted peer: its header is ignored.
            ("192.0.2.9", &["203.0.113.7"], "192.0.2.9"),
            // A trusted peer, one hop.
            ("127.0.0.1", &["203.0.113.7"], "203.0.113.7"),
            // A client's own forged entry to the left of the real one is not believed.
            ("127.0.0.1", &["6.6.6.6, 203.0.113.7"], "203.0.113.7"),
            // Two trusted proxies in a row, over two header lines.
            (
                "127.0.0.1",
                &["203.0.113.7, 10.1.2.3", "10.9.9.9"],
                "203.0.113.7",
            ),
            // Every hop trusted: the leftmost.
            ("127.0.0.1", &["10.1.2.3"], "10.1.2.3"),
            // No header: the peer.
            ("127.0.0.1", &[], "127.0.0.1"),
            // Junk ends the walk at the proxy that wrote it.
            ("127.0.0.1", &["203.0.113.7, unknown"], "127.0.0.1"),
            // Ports and IPv6.
            ("127.0.0.1", &["[2001:db8::1]:4711"], "2001:db8::1"),
            ("127.0.0.1", &["203.0.113.7:80"], "203.0.113.7"),
            // A v4-mapped peer is the v4 address.
            ("::ffff:127.0.0.1", &["203.0.113.7"], "203.0.113.7"),
        ];
        for (peer, xff, want) in cases {
            assert_eq!(
                resolve(ip(peer), &headers(xff), &proxies),
                ip(want),
                "{peer} {xff:?}"
            );
        }
        assert_eq!(
            resolve(ip("127.0.0.1"), &headers(&["203.0.113.7"]), &[]),
            ip("127.0.0.1")
        );
    }
}
