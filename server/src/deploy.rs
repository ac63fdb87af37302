//! Deployments this dashboard keeps serving: their records, their keys, and the engines the
//! gateway forwards to. The provisioning and the serving loop are the runner's
//! (`runner::serving`); the HTTP side is [`crate::gateway`].
//!
//! # Layout
//! - this file: [`Deployments`], the registry (create, watch, keys, guards, stop, flush).
//! - [`live`]: [`Live`], one deployment while this process watches it, and its meter.
//! - [`seal`]: what resumes a deployment after a restart, sealed under the operator's key.

pub mod live;
pub mod seal;

pub use live::{Live, Measured, Upstream};
pub use seal::{ResumeSecrets, SealKey};

use crate::live::Hub;
use crate::store::{embed_token_hash, Store, StoreError};
use chrono::Utc;
use gdl_model::code::ErrorCode;
use gdl_model::deployments::{
    CreatedKey, Deployment, DeploymentKey, DeploymentStatus, Guards, MAX_KEYS, MAX_LABEL,
};
use gdl_model::error::ApiError;
use gdl_model::ids::DeploymentId;
use gdl_model::live::LiveEvent;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The registry. Cheap to clone.
#[derive(Clone)]
pub struct Deployments {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    hub: Hub,
    /// Deployments this process watches. std Mutex: never held across an await.
    live: Mutex<HashMap<DeploymentId, Arc<Live>>>,
    /// The SHA-256 of every key not revoked → its deployment and key id.
    keys: Mutex<HashMap<String, (DeploymentId, String)>>,
}

/// Why a deployment operation was refused.
pub fn not_found(id: &DeploymentId) -> ApiError {
    ApiError::new(ErrorCode::DeploymentNotFound, format!("no deployment {id}"))
        .with_hint("List deployments with GET /api/deployments or `gpu-deploy-llm deployments`.")
}

impl Deployments {
    /// An empty registry over `store`, publishing to `hub`.
    pub fn new(store: Store, hub: Hub) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                hub,
                live: Mutex::default(),
                keys: Mutex::default(),
            }),
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Starts watching `record` (saved and published) with a first key labelled `label`.
    pub async fn create(
        &self,
        record: Deployment,
        label: &str,
    ) -> Result<(Arc<Live>, CreatedKey), ApiError> {
        let live = Arc::new(Live::new(record));
        self.inner
            .live
            .lock()
            .unwrap()
            .insert(live.id.clone(), live.clone());
        match self.new_key(&live.id, label).await {
            Ok(key) => Ok((live, key)),
            // A refused first key (a bad label) leaves no deployment behind.
            Err(e) => {
                self.inner.live.lock().unwrap().remove(&live.id);
                Err(e)
            }
        }
    }

    /// Watches again `record`, a deployment a previous process left serving (resumed after
    /// a restart; its keys come from [`Deployments::load_keys`]).
    pub fn watch(&self, record: Deployment) -> Arc<Live> {
        let live = Arc::new(Live::new(record));
        self.inner
            .live
            .lock()
            .unwrap()
            .insert(live.id.clone(), live.clone());
        live
    }

    /// A deployment this process watches. A copy whose run another replica took over (this
    /// one was paused past its lease) is not watched here any more, even before the lost
    /// run lets it go: asks for it go to the database, and on to the replica serving it.
    pub fn get(&self, id: &DeploymentId) -> Option<Arc<Live>> {
        let live = self.inner.live.lock().unwrap().get(id).cloned();
        live.filter(|l| !l.is_lost())
    }

    /// The deployments this process watches (not those another replica took over).
    pub fn watched(&self) -> Vec<Arc<Live>> {
        let live = self.inner.live.lock().unwrap();
        live.values().filter(|l| !l.is_lost()).cloned().collect()
    }

    /// A deployment as it is now: watched, else as stored.
    pub async fn read(&self, id: &DeploymentId) -> Result<Deployment, ApiError> {
        if let Some(live) = self.get(id) {
            return Ok(live.snapshot());
        }
        self.inner
            .store
            .deployment(id)
            .await
            .map_err(storage)?
            .ok_or_else(|| not_found(id))
    }

    /// The deployment `secret` opens, if it is a key of `id` not revoked.
    pub fn authorize(&self, id: &DeploymentId, secret: &str) -> bool {
        let hash = embed_token_hash(secret);
        matches!(self.inner.keys.lock().unwrap().get(&hash), Some((d, _)) if d == id)
    }

    /// Whether `secret` is a key (revoked or not) of `id`, a deployment no longer watched:
    /// its holder is told the deployment ended rather than that the key is wrong.
    pub async fn ended_with_key(&self, id: &DeploymentId, secret: &str) -> bool {
        if secret.is_empty() || self.get(id).is_some() {
            return false;
        }
        let hash = embed_token_hash(secret);
        matches!(self.inner.store.deployment_of_key(hash).await, Ok(Some(d)) if d == *id)
    }

    /// Makes a key for `id`: its secret is returned this once, only its hash is kept.
    pub async fn new_key(&self, id: &DeploymentId, label: &str) -> Result<CreatedKey, ApiError> {
        let label = label.trim();
        if label.is_empty() || label.chars().count() > MAX_LABEL {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                format!("a key's label must be 1 to {MAX_LABEL} characters"),
            )
            .with_hint("Name who or what uses the key, such as \"notebook\"."));
        }
        let live = self.get(id).ok_or_else(|| not_found(id))?;
        if live.status().is_finished() {
            return Err(ended(id));
        }
        if live.read(|d| d.keys.len()) >= MAX_KEYS {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                format!("a deployment has at most {MAX_KEYS} keys"),
            )
            .with_hint("Revoke keys no longer used; a new deployment starts afresh."));
        }
        let secret = format!(
            "gdk-{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let key = DeploymentKey {
            id: format!("key-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]),
            label: label.to_owned(),
            prefix: format!("{}…", &secret[..10]),
            created_at: Utc::now(),
            revoked_at: None,
        };
        let hash = embed_token_hash(&secret);
        self.inner
            .store
            .add_deployment_key(id, &key.id, hash.clone())
            .await
            .map_err(storage)?;
        live.change(|d| d.keys.push(key.clone()));
        self.flush(&live).await;
        self.inner
            .keys
            .lock()
            .unwrap()
            .insert(hash, (id.clone(), key.id.clone()));
        Ok(CreatedKey { key, secret })
    }

    /// Revokes key `key_id` of `id`: the gateway refuses it from now on.
    pub async fn revoke_key(
        &self,
        id: &DeploymentId,
        key_id: &str,
    ) -> Result<DeploymentKey, ApiError> {
        let live = self.get(id).ok_or_else(|| not_found(id))?;
        let known = self
            .inner
            .store
            .revoke_deployment_key(id, key_id)
            .await
            .map_err(storage)?;
        let key = live.read(|d| d.keys.iter().find(|k| k.id == key_id).cloned());
        let (true, Some(mut key)) = (known, key) else {
            return Err(ApiError::new(
                ErrorCode::DeploymentKeyNotFound,
                format!("deployment {id} has no key {key_id}"),
            )
            .with_hint("List its keys with GET /api/deployments/{id}."));
        };
        self.inner
            .keys
            .lock()
            .unwrap()
            .retain(|_, (_, k)| k != key_id);
        let now = Utc::now();
        key.revoked_at.get_or_insert(now);
        live.change(|d| {
            if let Some(k) = d.keys.iter_mut().find(|k| k.id == key_id) {
                k.revoked_at.get_or_insert(now);
            }
        });
        self.flush(&live).await;
        Ok(key)
    }

    /// Changes the guards of a deployment that has not ended.
    pub async fn set_guards(
        &self,
        id: &DeploymentId,
        guards: Guards,
    ) -> Result<Deployment, ApiError> {
        guards.check().map_err(|e| {
            ApiError::new(ErrorCode::InvalidInput, e)
                .with_hint("Send {\"idle_minutes\": 30, \"max_spend_usd\": 5, \"max_lifetime_hours\": 8}; the last two are optional.")
        })?;
        let live = self.get(id).ok_or_else(|| not_found(id))?;
        if live.status().is_finished() {
            return Err(ended(id));
        }
        live.change(|d| d.guards = guards);
        self.flush(&live).await;
        Ok(live.snapshot())
    }

    /// Asks deployment `id` to stop; its run destroys the session and confirms it.
    pub async fn stop(&self, id: &DeploymentId) -> Result<Deployment, ApiError> {
        let Some(live) = self.get(id) else {
            // Not watched: ended already, or unknown.
            let stored = self.read(id).await?;
            return Err(ended(&stored.id));
        };
        live.stop.cancel();
        Ok(live.snapshot())
    }

    /// Saves and publishes `live`'s record if it changed since the last flush.
    pub async fn flush(&self, live: &Live) {
        if live.is_lost() || !live.take_dirty() {
            return;
        }
        let record = live.snapshot();
        // Bound to its run's lease, the record is written only while that lease is this
        // replica's, checked in the database itself: a replica woken after another took the
        // run over has its write refused there, whatever it believed, and stops.
        let saved = match live.owned() {
            Some(owned) => {
                self.inner
                    .store
                    .save_deployment_owned(&record, &owned.lease)
                    .await
            }
            None => self.inner.store.save_deployment(&record).await,
        };
        match saved {
            Ok(()) => {}
            Err(StoreError::Fenced(_)) => {
                if let Some(owned) = live.owned() {
                    owned.lose();
                }
                return;
            }
            Err(e) => {
                tracing::error!(deployment = %record.id, error = %e, "cannot save a deployment")
            }
        }
        self.inner
            .hub
            .publish([LiveEvent::DeploymentUpsert { deployment: record }]);
    }

    /// Stops watching `live` once it has ended: its keys open nothing any more.
    pub async fn forget(&self, live: &Live) {
        self.flush(live).await;
        live.set_upstream(None);
        self.inner
            .keys
            .lock()
            .unwrap()
            .retain(|_, (d, _)| *d != live.id);
        self.inner.live.lock().unwrap().remove(&live.id);
    }

    /// Loads the stored deployments' keys into the gateway's table (at start, before a
    /// resumed deployment serves again).
    pub async fn load_keys(&self) -> Result<(), StoreError> {
        let rows = self.inner.store.live_deployment_keys().await?;
        let mut keys = self.inner.keys.lock().unwrap();
        for row in rows.into_iter().filter(|r| !r.revoked) {
            keys.insert(row.hash, (row.deployment_id, row.key_id));
        }
        Ok(())
    }

    /// Deployments newest first: the watched ones as they are now, the rest as stored.
    pub async fn list(&self, active_only: bool) -> Result<Vec<Deployment>, ApiError> {
        let mut list = self
            .inner
            .store
            .deployments(active_only, 200)
            .await
            .map_err(storage)?;
        for d in &mut list {
            if let Some(live) = self.get(&d.id) {
                *d = live.snapshot();
            }
        }
        if active_only {
            list.retain(|d| !d.status.is_finished());
        }
        Ok(list)
    }
}

/// The deployment has ended.
pub fn ended(id: &DeploymentId) -> ApiError {
    ApiError::new(
        ErrorCode::DeploymentStopped,
        format!("deployment {id} has ended"),
    )
    .with_hint("Deploy again to serve the model; its record stays on the Deployments page.")
}

fn storage(e: StoreError) -> ApiError {
    tracing::error!(error = %e, "deployment store");
    ApiError::new(ErrorCode::StorageError, "the dashboard's database failed")
        .with_hint("Check the server log and the data directory's disk space.")
}

/// Whether a status lets the gateway forward.
pub fn forwards(status: DeploymentStatus) -> bool {
    status == DeploymentStatus::Serving
}
