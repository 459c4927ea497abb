//! Automatic certificates with ACME (instant-acme): HTTP-01 challenges answered by the edge's
//! HTTP listener before routing, the account kept in `<data-dir>/acme/account.json`, certificates
//! installed into the [`CertStore`]. The directory URL and the CA roots are configurable (Let's
//! Encrypt in production, Pebble in tests).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount, NewOrder,
    OrderStatus, RetryPolicy,
};

use crate::tls::CertStore;

/// Let's Encrypt's production directory.
pub const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";

/// Renew certificates older than this (Let's Encrypt issues for 90 days).
pub const RENEW_AFTER: Duration = Duration::from_secs(60 * 86_400);

/// ACME failures.
#[derive(Debug, thiserror::Error)]
pub enum AcmeError {
    /// The CA refused or failed.
    #[error("ACME for {host}: {why}")]
    Order {
        /// The host.
        host: String,
        /// What happened.
        why: String,
    },
}

/// ACME settings.
#[derive(Debug, Clone)]
pub struct AcmeConfig {
    /// Directory URL.
    pub directory: String,
    /// PEM file of extra CA roots to trust for the directory (Pebble's).
    pub ca_roots: Option<PathBuf>,
    /// Contact e-mail for the account.
    pub email: Option<String>,
    /// Where the account credentials live.
    pub state_dir: PathBuf,
}

/// Pending HTTP-01 answers: token → key authorization.
pub type Challenges = Arc<RwLock<HashMap<String, String>>>;

/// The ACME client.
pub struct Acme {
    config: AcmeConfig,
    challenges: Challenges,
    certs: Arc<CertStore>,
    account: tokio::sync::Mutex<Option<Account>>,
}

impl Acme {
    /// A client answering challenges through `challenges` and installing into `certs`.
    pub fn new(config: AcmeConfig, challenges: Challenges, certs: Arc<CertStore>) -> Self {
        Self { config, challenges, certs, account: tokio::sync::Mutex::new(None) }
    }

    async fn account(&self, host: &str) -> Result<Account, AcmeError> {
        let err = |why: String| AcmeError::Order { host: host.to_owned(), why };
        let mut slot = self.account.lock().await;
        if let Some(a) = slot.as_ref() {
            return Ok(a.clone());
        }
        let builder = || match &self.config.ca_roots {
            Some(p) => Account::builder_with_root(p),
            None => Account::builder(),
        };
        let path = self.config.state_dir.join("account.json");
        let account = if let Ok(bytes) = std::fs::read(&path) {
            let creds: AccountCredentials =
                serde_json::from_slice(&bytes).map_err(|e| err(format!("{}: {e}", path.display())))?;
            builder()
                .map_err(|e| err(e.to_string()))?
                .from_credentials(creds)
                .await
                .map_err(|e| err(e.to_string()))?
        } else {
            let contact = self.config.email.as_ref().map(|e| format!("mailto:{e}"));
            let contacts: Vec<&str> = contact.iter().map(String::as_str).collect();
            let new =
                NewAccount { contact: &contacts, terms_of_service_agreed: true, only_return_existing: false };
            let (account, creds) = builder()
                .map_err(|e| err(e.to_string()))?
                .create(&new, self.config.directory.clone(), None)
                .await
                .map_err(|e| err(format!("creating the account: {e}")))?;
            std::fs::create_dir_all(&self.config.state_dir).map_err(|e| err(e.to_string()))?;
            let json = serde_json::to_vec(&creds).map_err(|e| err(e.to_string()))?;
            let _ = std::fs::remove_file(&path);
            {
                use std::io::Write;
                use std::os::unix::fs::OpenOptionsExt;
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                    .map_err(|e| err(e.to_string()))?;
                f.write_all(&json).map_err(|e| err(e.to_string()))?;
            }
            account
        };
        *slot = Some(account.clone());
        Ok(account)
    }

    /// Obtains and installs a certificate for `host` (HTTP-01).
    pub async fn issue(&self, host: &str) -> Result<(), AcmeError> {
        let err = |why: String| AcmeError::Order { host: host.to_owned(), why };
        let account = self.account(host).await?;
        let ids = [Identifier::Dns(host.to_owned())];
        let mut order = account.new_order(&NewOrder::new(&ids)).await.map_err(|e| err(e.to_string()))?;
        let mut tokens = Vec::new();
        let mut authorizations = order.authorizations();
        while let Some(a) = authorizations.next().await {
            let mut authz = a.map_err(|e| err(e.to_string()))?;
            if authz.status == AuthorizationStatus::Valid {
                continue;
            }
            let mut ch = authz
                .challenge(ChallengeType::Http01)
                .ok_or_else(|| err("the CA offers no HTTP-01 challenge".into()))?;
            let key_auth = ch.key_authorization().as_str().to_owned();
            self.challenges.write().unwrap_or_else(|p| p.into_inner()).insert(ch.token.clone(), key_auth);
            tokens.push(ch.token.clone());
            ch.set_ready().await.map_err(|e| err(e.to_string()))?;
        }
        let result = async {
            let status = order.poll_ready(&RetryPolicy::default()).await.map_err(|e| err(e.to_string()))?;
            if status != OrderStatus::Ready {
                return Err(err(format!(
                    "order ended {status:?} (is port 80 of this host reachable from the CA?)"
                )));
            }
            let key_pem = order.finalize().await.map_err(|e| err(e.to_string()))?;
            let chain_pem =
                order.poll_certificate(&RetryPolicy::default()).await.map_err(|e| err(e.to_string()))?;
            self.certs.install(host, &chain_pem, &key_pem).map_err(|e| err(e.to_string()))
        }
        .await;
        let mut pending = self.challenges.write().unwrap_or_else(|p| p.into_inner());
        for t in tokens {
            pending.remove(&t);
        }
        result
    }

    /// Whether `host` has a certificate that needs no renewal yet.
    pub fn is_fresh(&self, host: &str) -> bool {
        self.certs.is_fresh(host, RENEW_AFTER)
    }

    /// Issues or renews every host in `hosts` lacking a fresh certificate; returns the failures.
    pub async fn ensure(&self, hosts: &[String]) -> Vec<AcmeError> {
        let mut failed = Vec::new();
        for h in hosts {
            if !self.certs.is_fresh(h, RENEW_AFTER)
                && let Err(e) = self.issue(h).await
            {
                failed.push(e);
            }
        }
        failed
    }
}
