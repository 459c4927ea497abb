//! One async lock per workload: a deploy and a reconcile (or two reconciles) of the same workload
//! never overlap; different workloads never wait for each other.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

#[derive(Default)]
pub struct Locks {
    map: Mutex<HashMap<String, Arc<AsyncMutex<()>>>>,
}

impl Locks {
    pub async fn lock(&self, workload_id: &str) -> OwnedMutexGuard<()> {
        let m = {
            let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
            // Drop entries nobody holds or waits for (a guard or a waiter keeps a clone).
            map.retain(|_, m| Arc::strong_count(m) > 1);
            map.entry(workload_id.to_owned()).or_default().clone()
        };
        m.lock_owned().await
    }
}
