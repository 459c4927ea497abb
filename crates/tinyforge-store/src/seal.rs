//! Secrets at rest (X3): XChaCha20-Poly1305 under the EncKey, a random 192-bit nonce per value.
//! The key comes from `TINYFORGE_ENC_KEY` (64 hex chars) or a 0600 key file in the data dir that
//! is created on first start.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::StoreError;

const PREFIX: &str = "tfs1:";

/// Seals and opens secret values. Cloning shares nothing mutable.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

/// Fills `buf` from the OS random source.
pub fn random_bytes(buf: &mut [u8]) {
    use rand::TryRng as _;
    rand::rngs::SysRng.try_fill_bytes(buf).expect("the OS random source is available");
}

impl Sealer {
    /// A sealer over a raw 32-byte key.
    pub fn new(key: [u8; 32]) -> Self {
        Self { cipher: XChaCha20Poly1305::new(&key.into()) }
    }

    /// The key from `env_key` (hex) when given, else from `<data_dir>/enc.key`, created (0600) with
    /// a fresh random key when missing.
    pub fn load(env_key: Option<&str>, data_dir: &Path) -> Result<Self, StoreError> {
        let bad = |why: &str| StoreError::Key(why.to_owned());
        let hex_key = match env_key {
            Some(k) => k.trim().to_owned(),
            None => {
                let path = data_dir.join("enc.key");
                if path.exists() {
                    std::fs::read_to_string(&path).map_err(|e| bad(&format!("{}: {e}", path.display())))?
                } else {
                    let mut key = [0u8; 32];
                    random_bytes(&mut key);
                    write_private(&path, hex::encode(key).as_bytes())
                        .map_err(|e| bad(&format!("{}: {e}", path.display())))?;
                    hex::encode(key)
                }
            }
        };
        let raw = hex::decode(hex_key.trim()).map_err(|_| bad("the key must be 64 hex characters"))?;
        let key: [u8; 32] =
            raw.try_into().map_err(|_| bad("the key must be 32 bytes (64 hex characters)"))?;
        Ok(Self::new(key))
    }

    /// Seals `plain` into `tfs1:<base64(nonce ‖ ciphertext)>`.
    pub fn seal(&self, plain: &str) -> String {
        let mut nonce = [0u8; 24];
        random_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(&XNonce::from(nonce), plain.as_bytes())
            .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory data");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        format!("{PREFIX}{}", B64.encode(out))
    }

    /// Opens a value made by [`Sealer::seal`].
    pub fn open(&self, sealed: &str) -> Result<String, StoreError> {
        let bad = || {
            StoreError::Key("a sealed value does not open with this key (wrong TINYFORGE_ENC_KEY?)".into())
        };
        let raw = sealed.strip_prefix(PREFIX).and_then(|b| B64.decode(b).ok()).ok_or_else(bad)?;
        if raw.len() < 24 {
            return Err(bad());
        }
        let (nonce, ct) = raw.split_at(24);
        let nonce = XNonce::try_from(nonce).map_err(|_| bad())?;
        let pt = self.cipher.decrypt(&nonce, ct).map_err(|_| bad())?;
        String::from_utf8(pt).map_err(|_| bad())
    }

    /// Whether `value` is a sealed value.
    pub fn is_sealed(value: &str) -> bool {
        value.starts_with(PREFIX)
    }
}

/// Writes a file readable by its owner only.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let s = Sealer::new([7; 32]);
        let a = s.seal("hunter2");
        let b = s.seal("hunter2");
        assert_ne!(a, b, "random nonce per value");
        assert_eq!(s.open(&a).unwrap(), "hunter2");
        let mut t = a.clone().into_bytes();
        let n = t.len() - 3;
        t[n] = if t[n] == b'A' { b'B' } else { b'A' };
        assert!(s.open(std::str::from_utf8(&t).unwrap()).is_err());
        assert!(Sealer::new([8; 32]).open(&a).is_err());
    }

    #[test]
    fn key_file_created_private_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let s1 = Sealer::load(None, d.path()).unwrap();
        let mode = std::fs::metadata(d.path().join("enc.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let s2 = Sealer::load(None, d.path()).unwrap();
        assert_eq!(s2.open(&s1.seal("x")).unwrap(), "x");
        assert!(Sealer::load(Some("zz"), d.path()).is_err());
    }
}
