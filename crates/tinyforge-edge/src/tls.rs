//! Certificates for the HTTPS listener: an SNI resolver over exact names, then wildcards, then a
//! self-signed fallback (so unknown names still complete a handshake and get the 404 page).
//! Certificates live in `<data-dir>/certs/<host>.crt|.key` (key 0600) and are loaded at boot.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Certificate errors.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// PEM or key unreadable.
    #[error("certificate for {host}: {why}")]
    Invalid {
        /// The host.
        host: String,
        /// What is wrong.
        why: String,
    },
    /// Disk.
    #[error("certificate store: {0}")]
    Io(#[from] std::io::Error),
}

/// The SNI resolver and the certificate files.
#[derive(Debug)]
pub struct CertStore {
    dir: PathBuf,
    certs: ArcSwap<HashMap<String, Arc<CertifiedKey>>>,
    fallback: Arc<CertifiedKey>,
}

fn certified(host: &str, chain_pem: &[u8], key_pem: &[u8]) -> Result<CertifiedKey, CertError> {
    let bad = |why: String| CertError::Invalid { host: host.to_owned(), why };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(chain_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| bad(e.to_string()))?;
    if chain.is_empty() {
        return Err(bad("no certificate in the PEM".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| bad(e.to_string()))?;
    let signer = rustls::crypto::ring::sign::any_supported_type(&key).map_err(|e| bad(e.to_string()))?;
    Ok(CertifiedKey::new(chain, signer))
}

impl CertStore {
    /// Opens (creating) `dir` and loads every `<host>.crt` with its `<host>.key`.
    pub fn open(dir: &Path) -> Result<Self, CertError> {
        std::fs::create_dir_all(dir)?;
        let self_signed = rcgen::generate_simple_self_signed(vec!["tinyforge.invalid".to_owned()])
            .map_err(|e| CertError::Invalid { host: "fallback".into(), why: e.to_string() })?;
        let fallback = certified(
            "fallback",
            self_signed.cert.pem().as_bytes(),
            self_signed.signing_key.serialize_pem().as_bytes(),
        )?;
        let mut certs = HashMap::new();
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            let Some(host) = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".crt"))
            else {
                continue;
            };
            let key = std::fs::read(dir.join(format!("{host}.key")))?;
            match certified(host, &std::fs::read(&path)?, &key) {
                Ok(ck) => {
                    certs.insert(host.to_owned(), Arc::new(ck));
                }
                Err(e) => tracing::warn!(error = %e, "skipping an unreadable certificate"),
            }
        }
        Ok(Self { dir: dir.to_owned(), certs: ArcSwap::from_pointee(certs), fallback: Arc::new(fallback) })
    }

    /// Installs (and keeps on disk) a certificate for `host`.
    pub fn install(&self, host: &str, chain_pem: &str, key_pem: &str) -> Result<(), CertError> {
        let ck = certified(host, chain_pem.as_bytes(), key_pem.as_bytes())?;
        let key_path = self.dir.join(format!("{host}.key"));
        let _ = std::fs::remove_file(&key_path);
        {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut f =
                std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&key_path)?;
            f.write_all(key_pem.as_bytes())?;
        }
        std::fs::write(self.dir.join(format!("{host}.crt")), chain_pem)?;
        let mut next = HashMap::clone(&self.certs.load());
        next.insert(host.to_owned(), Arc::new(ck));
        self.certs.store(Arc::new(next));
        Ok(())
    }

    /// Whether `host` has a certificate younger than `max_age` (renewal is due after that).
    pub fn is_fresh(&self, host: &str, max_age: Duration) -> bool {
        self.certs.load().contains_key(host)
            && std::fs::metadata(self.dir.join(format!("{host}.crt")))
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age < max_age)
    }

    fn lookup(&self, name: &str) -> Arc<CertifiedKey> {
        let certs = self.certs.load();
        if let Some(c) = certs.get(name) {
            return c.clone();
        }
        if let Some((_, rest)) = name.split_once('.')
            && let Some(c) = certs.get(&format!("*.{rest}"))
        {
            return c.clone();
        }
        self.fallback.clone()
    }

    /// A rustls server config (h2 and http/1.1 by ALPN) resolving through this store.
    pub fn server_config(self: &Arc<Self>) -> Arc<rustls::ServerConfig> {
        let mut cfg = rustls::ServerConfig::builder().with_no_client_auth().with_cert_resolver(self.clone());
        cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Arc::new(cfg)
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.lookup(&hello.server_name().unwrap_or("").to_ascii_lowercase()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_then_wildcard_then_fallback() {
        let d = tempfile::tempdir().unwrap();
        let s = CertStore::open(d.path()).unwrap();
        let c = rcgen::generate_simple_self_signed(vec!["*.example.test".into()]).unwrap();
        s.install("*.example.test", &c.cert.pem(), &c.signing_key.serialize_pem()).unwrap();
        assert!(Arc::ptr_eq(&s.lookup("a.example.test"), &s.lookup("b.example.test")));
        assert!(Arc::ptr_eq(&s.lookup("other.test"), &s.fallback));
        // Reloaded from disk.
        let again = CertStore::open(d.path()).unwrap();
        assert!(!Arc::ptr_eq(&again.lookup("a.example.test"), &again.fallback));
        assert!(again.is_fresh("*.example.test", Duration::from_secs(60)));
    }
}
