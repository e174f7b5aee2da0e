//! Which address a request comes from: the peer, or what a trusted proxy in front of us says it is.

use std::net::IpAddr;
use std::str::FromStr;

use actix_web::HttpRequest;
use ipnet::IpNet;

/// The proxies whose `X-Forwarded-For` is believed: addresses or CIDR ranges. Empty by default, so the address is
/// the peer's and a forged header changes nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

/// A trusted proxy entry that is neither an address nor a CIDR range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is neither an IP address nor a CIDR range")]
pub struct TrustedProxyError(String);

impl TrustedProxies {
    /// Parses each entry as an address (`10.0.0.1`, `::1`) or a CIDR range (`10.0.1.0/24`).
    ///
    /// # Errors
    /// [`TrustedProxyError`] naming the first entry that is neither.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, TrustedProxyError> {
        entries
            .iter()
            .map(|entry| {
                let entry = entry.as_ref().trim();
                IpNet::from_str(entry)
                    .or_else(|_| IpAddr::from_str(entry).map(|ip| IpNet::from(canonical(ip))))
                    .map_err(|_| TrustedProxyError(entry.to_owned()))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: the peer's, unless the peer is a trusted proxy, in which case the nearest address in
    /// `X-Forwarded-For` that is not itself a trusted proxy (read from the right, since every proxy appends and a
    /// client can write anything at the left).
    pub(crate) fn client_ip(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = canonical(req.peer_addr()?.ip());
        if !self.trusts(peer) {
            return Some(peer);
        }
        let mut client = peer;
        // Read as bytes: a client's non-ASCII garbage in its own part of the header must not hide the hops the
        // proxies appended after it.
        let forwarded: Vec<String> = req
            .headers()
            .get_all("x-forwarded-for")
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
            .collect();
        let hops: Vec<&str> = forwarded
            .iter()
            .flat_map(|value| value.split(','))
            .collect();
        for hop in hops.iter().rev() {
            let Some(hop) = parse_hop(hop) else {
                // A hop we cannot read ends the chain we can vouch for.
                break;
            };
            client = canonical(hop);
            if !self.trusts(client) {
                break;
            }
        }
        Some(client)
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`192.0.2.1:4711`, `[2001:db8::1]:4711`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>().ok().or_else(|| {
        hop.parse::<std::net::SocketAddr>()
            .ok()
            .map(|addr| addr.ip())
    })
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is, so that one client has one address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn request(peer: &str, forwarded: Option<&str>) -> HttpRequest {
        let request = TestRequest::default().peer_addr(format!("{peer}:4000").parse().unwrap());
        match forwarded {
            Some(value) => request.insert_header(("X-Forwarded-For", value)),
            None => request,
        }
        .to_http_request()
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let proxies = TrustedProxies::default();
        assert_eq!(
            proxies.client_ip(&request("203.0.113.9", Some("198.51.100.1"))),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn a_trusted_peer_is_believed_from_the_right() {
        let proxies = TrustedProxies::parse(&["10.0.0.1", "10.0.1.0/24"]).unwrap();
        // The client forged the left-most entry; the proxies appended the rest.
        let req = request("10.0.0.1", Some("1.2.3.4, 198.51.100.7, 10.0.1.5"));
        assert_eq!(proxies.client_ip(&req), ip("198.51.100.7"));
        // An untrusted peer's header means nothing.
        let req = request("203.0.113.9", Some("198.51.100.7"));
        assert_eq!(proxies.client_ip(&req), ip("203.0.113.9"));
        // A trusted peer without the header is the client.
        assert_eq!(
            proxies.client_ip(&request("10.0.0.1", None)),
            ip("10.0.0.1")
        );
        // Garbage ends the chain at the last readable hop.
        let req = request("10.0.0.1", Some("198.51.100.7, garbage"));
        assert_eq!(proxies.client_ip(&req), ip("10.0.0.1"));
    }

    #[test]
    fn hops_with_ports_and_garbage_before_them_are_read() {
        let proxies = TrustedProxies::parse(&["::ffff:10.0.0.1"]).unwrap();
        let req = TestRequest::default()
            .peer_addr("10.0.0.1:4000".parse().unwrap())
            .insert_header((
                "X-Forwarded-For",
                actix_web::http::header::HeaderValue::from_bytes(b"\xff\xfe, 198.51.100.7:4711")
                    .unwrap(),
            ))
            .to_http_request();
        assert_eq!(
            proxies.client_ip(&req),
            ip("198.51.100.7"),
            "a mapped entry trusts the IPv4 peer"
        );
        let req = request("10.0.0.1", Some("[2001:db8::1]:4711"));
        assert_eq!(proxies.client_ip(&req), ip("2001:db8::1"));
    }

    #[test]
    fn entries_are_addresses_or_ranges() {
        assert!(TrustedProxies::parse(&["::1", "fd00::/8", "192.168.0.0/16"]).is_ok());
        assert_eq!(
            TrustedProxies::parse(&["10.0.0.1", "proxy.internal"]),
            Err(TrustedProxyError("proxy.internal".to_owned()))
        );
    }
}
