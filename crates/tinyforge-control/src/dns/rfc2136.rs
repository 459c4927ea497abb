//! RFC 2136 dynamic DNS updates over TCP, signed with TSIG (HMAC-SHA256) — BIND, Knot, PowerDNS.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use hickory_net::DnsMultiplexer;
use hickory_net::client::{Client, ClientHandle};
use hickory_net::proto::op::ResponseCode;
use hickory_net::proto::rr::rdata::tsig::TsigAlgorithm;
use hickory_net::proto::rr::{Name, RData, Record, TSigner, rdata::A};
use hickory_net::runtime::TokioRuntimeProvider;
use hickory_net::tcp::TcpClientStream;
use tinyforge_plugin::ports::{Dns, DnsError};

/// An RFC 2136 primary for one zone.
pub struct Rfc2136 {
    server: SocketAddr,
    zone: Name,
    key_name: String,
    key: Vec<u8>,
    ttl: u32,
}

impl Rfc2136 {
    /// `key_base64` is the TSIG secret as BIND's `tsig-keygen` prints it.
    pub fn new(
        server: SocketAddr,
        zone: &str,
        key_name: &str,
        key_base64: &str,
        ttl: u32,
    ) -> Result<Self, DnsError> {
        let err = |why: String| DnsError { provider: "rfc2136", name: zone.to_owned(), why };
        let zone = Name::from_ascii(zone).map_err(|e| err(e.to_string()))?;
        let key = base64::engine::general_purpose::STANDARD
            .decode(key_base64.trim())
            .map_err(|e| err(format!("TSIG secret: {e}")))?;
        Ok(Self { server, zone, key_name: key_name.to_owned(), key, ttl })
    }

    async fn client(&self, name: &str) -> Result<Client<TokioRuntimeProvider>, DnsError> {
        let err = |why: String| DnsError { provider: "rfc2136", name: name.to_owned(), why };
        let signer = TSigner::new(
            self.key.clone(),
            TsigAlgorithm::HmacSha256,
            Name::from_ascii(&self.key_name).map_err(|e| err(e.to_string()))?,
            300,
        )
        .map_err(|e| err(e.to_string()))?;
        let (stream, handle) = TcpClientStream::new(
            self.server,
            None,
            Some(Duration::from_secs(5)),
            TokioRuntimeProvider::new(),
        );
        let stream = stream.await.map_err(|e| err(format!("connecting to {}: {e}", self.server)))?;
        let mux =
            DnsMultiplexer::new(stream, handle).with_timeout(Duration::from_secs(5)).with_signer(signer);
        let (client, bg) = Client::<TokioRuntimeProvider>::from_sender(mux);
        tokio::spawn(bg);
        Ok(client)
    }

    fn fqdn(&self, name: &str) -> Result<Name, DnsError> {
        let n = Name::from_ascii(name)
            .map(|mut n| {
                n.set_fqdn(true);
                n
            })
            .map_err(|e| DnsError { provider: "rfc2136", name: name.to_owned(), why: e.to_string() })?;
        if !self.zone.zone_of(&n) {
            return Err(DnsError {
                provider: "rfc2136",
                name: name.to_owned(),
                why: format!("not inside zone {}", self.zone),
            });
        }
        Ok(n)
    }
}

fn check(name: &str, code: ResponseCode) -> Result<(), DnsError> {
    if code == ResponseCode::NoError {
        Ok(())
    } else {
        Err(DnsError {
            provider: "rfc2136",
            name: name.to_owned(),
            why: format!("the server answered {code}"),
        })
    }
}

#[async_trait]
impl Dns for Rfc2136 {
    async fn upsert(&self, name: &str, ip: Ipv4Addr) -> Result<(), DnsError> {
        let fqdn = self.fqdn(name)?;
        let mut client = self.client(name).await?;
        let err = |e: hickory_net::NetError| DnsError {
            provider: "rfc2136",
            name: name.to_owned(),
            why: e.to_string(),
        };
        let record = Record::from_rdata(fqdn, self.ttl, RData::A(A(ip)));
        let gone = client.delete_rrset(record.clone(), self.zone.clone()).await.map_err(err)?;
        check(name, gone.response_code)?;
        let made = client.create(record, self.zone.clone()).await.map_err(err)?;
        check(name, made.response_code)
    }

    async fn remove(&self, name: &str) -> Result<(), DnsError> {
        let fqdn = self.fqdn(name)?;
        let mut client = self.client(name).await?;
        let record = Record::from_rdata(fqdn, 0, RData::A(A(Ipv4Addr::UNSPECIFIED)));
        let r = client.delete_rrset(record, self.zone.clone()).await.map_err(|e| DnsError {
            provider: "rfc2136",
            name: name.to_owned(),
            why: e.to_string(),
        })?;
        check(name, r.response_code)
    }
}
