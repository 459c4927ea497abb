//! Wiring for `tinyforge serve`: data dir, keys, store, registry (frozen before any listener
//! opens), engine, edge, control plane, background loops, listeners, graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures_util::StreamExt;
use tinyforge_control::{Control, ControlConfig, EventBus, Notifier, NotifierConfig};
use tinyforge_edge::acme::{Acme, AcmeConfig};
use tinyforge_edge::tls::CertStore;
use tinyforge_edge::{Edge, EdgeConfig, serve_per_core};
use tinyforge_engine::DockerEngine;
use tinyforge_plugin::ports::{Backend, RouteTarget};
use tinyforge_plugin::{Deps, Registry, RegistryBuilder};
use tinyforge_store::{Sealer, Store, write_private};
use tokio_util::sync::CancellationToken;

use crate::config::{DnsSettings, Settings};

/// The kinds tinyforge ships, frozen. A duplicate kind is a boot error.
pub fn registry() -> anyhow::Result<Registry> {
    let mut b = RegistryBuilder::new();
    for s in tinyforge_sources::builtin() {
        b = b.source_dyn(s);
    }
    for t in tinyforge_triggers::builtin() {
        b = b.trigger_dyn(t);
    }
    Ok(b.build()?)
}

fn init_logs(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TINYFORGE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json { b.json().init() } else { b.init() }
}

/// First start: an admin API token, printed once and kept 0600 in the data dir.
fn first_token(store: &Store, s: &Settings) -> anyhow::Result<()> {
    if store.has_tokens()? {
        return Ok(());
    }
    let token = store.create_token("admin")?;
    let path = s.data_dir.join("admin.token");
    let _ = std::fs::remove_file(&path);
    write_private(&path, format!("{token}\n").as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    println!(
        "tinyforge: first start. Admin API token (shown once, also in {}):\n\n    {token}\n",
        path.display()
    );
    Ok(())
}

/// Until the admin password is set: a one-time setup token, printed with the setup link and kept
/// 0600 in `<data-dir>/setup.token` (a new one each start until it is used).
fn setup_token(store: &Store, s: &Settings) -> anyhow::Result<Option<String>> {
    let path = s.data_dir.join("setup.token");
    if store.admin_password()?.is_some() {
        let _ = std::fs::remove_file(&path);
        return Ok(None);
    }
    let token = tinyforge_store::new_secret();
    let _ = std::fs::remove_file(&path);
    write_private(&path, format!("{token}\n").as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    println!(
        "tinyforge: set the web UI's admin password at\n\n    http://{}/setup?token={token}\n\n(the token is also in {})\n",
        s.listen,
        path.display()
    );
    Ok(Some(token))
}

/// The DNS provider the settings name; secrets from the environment.
fn dns_provider(s: &Settings) -> anyhow::Result<Option<Arc<dyn tinyforge_plugin::ports::Dns>>> {
    use tinyforge_control::dns::{Cloudflare, Rfc2136, cloudflare_api};
    let secret =
        |var: &str| std::env::var(var).with_context(|| format!("{var} must hold the DNS provider's secret"));
    Ok(match &s.dns {
        DnsSettings::None => None,
        DnsSettings::Rfc2136 { server, zone, key_name } => {
            Some(Arc::new(Rfc2136::new(*server, zone, key_name, &secret("TINYFORGE_DNS_TSIG_SECRET")?, 60)?))
        }
        DnsSettings::Cloudflare { zone_id, api } => Some(Arc::new(Cloudflare::new(
            api.as_deref().unwrap_or(cloudflare_api()),
            zone_id,
            &secret("TINYFORGE_CLOUDFLARE_TOKEN")?,
            60,
        ))),
    })
}

/// This installation's id, kept in `<data-dir>/instance.id`.
fn instance_id(s: &Settings) -> anyhow::Result<String> {
    let path = s.data_dir.join("instance.id");
    if let Ok(id) = std::fs::read_to_string(&path) {
        return Ok(id.trim().to_owned());
    }
    let id = tinyforge_store::new_id();
    std::fs::write(&path, &id).with_context(|| format!("writing {}", path.display()))?;
    Ok(id)
}

pub async fn run(s: Settings) -> anyhow::Result<()> {
    init_logs(s.json_logs);
    std::fs::create_dir_all(&s.data_dir)
        .with_context(|| format!("creating data dir {}", s.data_dir.display()))?;
    let env_key = std::env::var("TINYFORGE_ENC_KEY").ok();
    let sealer = Sealer::load(env_key.as_deref(), &s.data_dir)?;
    let store = Arc::new(Store::open(&s.data_dir.join("tinyforge.db"), sealer)?);
    first_token(&store, &s)?;
    let setup = setup_token(&store, &s)?;
    let registry = Arc::new(registry()?);

    let engine = DockerEngine::connect().await?;
    engine.ensure_network().await?;
    let (dv, api) = engine.version().await?;
    tracing::info!(docker = %dv, api = %api, "docker engine connected");

    let edge = Edge::new(EdgeConfig { https_port: Some(s.https.port()), ..EdgeConfig::default() });
    if let Some(host) = &s.ui_host {
        // The UI and API through the edge, over TLS: the certificate keeper sees a TLS face.
        let ui = RouteTarget {
            host: host.clone(),
            path_prefix: None,
            backend: Backend::Upstream(s.listen),
            tls: true,
        };
        drop(edge.switch_now("tinyforge:ui", vec![ui], Duration::ZERO));
    }
    let certs = Arc::new(CertStore::open(&s.data_dir.join("certs"))?);
    let events = Arc::new(EventBus::new(store.clone(), 50_000));
    let deps = Deps {
        engine: Arc::new(engine.clone()),
        routes: Arc::new(edge.clone()),
        events: events.clone(),
        data_dir: s.data_dir.clone(),
        instance: instance_id(&s)?,
        dns: dns_provider(&s)?,
    };
    let config = ControlConfig {
        max_parallel_deploys: s.max_parallel_deploys,
        reconcile_interval: Duration::from_secs(s.reconcile_interval),
        public_ip: s.public_ip,
        ..ControlConfig::default()
    };
    let control = Control::new(store.clone(), registry, deps, events, config);

    let api_listener = tokio::net::TcpListener::bind(s.listen)
        .await
        .with_context(|| format!("binding API on {}", s.listen))?;
    // The public listeners: one event loop per core each (see tinyforge_edge::serve_per_core).
    let stop = CancellationToken::new();
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut edge_threads = serve_per_core(edge.clone(), s.http, None, cores, stop.clone())
        .with_context(|| format!("binding HTTP on {}", s.http))?;
    edge_threads.extend(
        serve_per_core(edge.clone(), s.https, Some(certs.server_config()), cores, stop.clone())
            .with_context(|| format!("binding HTTPS on {}", s.https))?,
    );
    tracing::info!(api = %s.listen, http = %s.http, https = %s.https, data_dir = %s.data_dir.display(), "tinyforge serving");
    tokio::spawn(shutdown_on_signal(stop.clone()));
    let acme = Acme::new(
        AcmeConfig {
            directory: s.acme_directory.clone(),
            ca_roots: s.acme_ca_roots.clone(),
            email: s.acme_email.clone(),
            state_dir: s.data_dir.join("acme"),
        },
        edge.challenges(),
        certs,
    );
    tokio::spawn(keep_certificates(acme, edge.clone(), control.events().clone()));

    // Boot: resolve deployments a crash left running, restore routes, then the loops.
    let recovering = control.clone();
    tokio::spawn(async move {
        match recovering.recover().await {
            Ok(p) => tracing::info!(
                workloads = p.workloads,
                repaired = p.repaired,
                ms = p.ms,
                "boot reconcile done"
            ),
            Err(e) => tracing::error!(error = %e, "boot reconcile failed"),
        }
        tokio::spawn(recovering.clone().run_queue());
    });
    let notifier = Notifier::new(store.clone(), NotifierConfig::default());
    tokio::spawn(notifier.run(control.events().subscribe()));
    let (soon_tx, soon_rx) = tokio::sync::mpsc::channel(256);
    tokio::spawn(control.clone().run_reconciler(soon_rx, soon_tx.clone()));
    tokio::spawn(control.clone().run_scheduler());
    tokio::spawn(control.clone().run_watchers());
    tokio::spawn(control.clone().run_health(Duration::from_secs(10), soon_tx.clone()));
    tokio::spawn(watch_containers(engine.clone(), control.clone(), soon_tx));

    let mut metrics = prometheus_client::registry::Registry::default();
    edge.metrics().register(&mut metrics);
    control.events().register(&mut metrics);
    let app = crate::api::router(crate::api::AppState {
        control,
        engine,
        edge,
        webhook_max_body: s.webhook_max_body,
        metrics: Arc::new(metrics),
        recent_tags: Default::default(),
        setup_token: Arc::new(std::sync::Mutex::new(setup)),
        data_dir: s.data_dir.clone(),
        edge_ports: (s.http.port(), s.https.port()),
    });
    axum::serve(api_listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(stop.clone().cancelled_owned())
        .await?;
    // The edge threads drain their open requests (30 s at most) and end.
    tokio::task::spawn_blocking(move || edge_threads.into_iter().for_each(|t| drop(t.join()))).await?;
    tracing::info!("tinyforge stopped");
    Ok(())
}

/// Certificates for every TLS face: when routes change, daily for renewals, and 10 minutes after
/// a failure.
async fn keep_certificates(acme: Acme, edge: Edge, events: Arc<EventBus>) {
    loop {
        let mut failed = false;
        for host in edge.tls_hosts() {
            let was_fresh = acme.is_fresh(&host);
            match acme.ensure(std::slice::from_ref(&host)).await.pop() {
                None if !was_fresh => events.emit(
                    "cert.issued",
                    None,
                    format!("certificate issued for {host}"),
                    serde_json::json!({"host": host}),
                ),
                None => {}
                Some(e) => {
                    failed = true;
                    events.emit(
                        "cert.renewal_failed",
                        None,
                        format!("no certificate for {host}: {e}"),
                        serde_json::json!({"host": host, "error": e.to_string()}),
                    )
                }
            }
        }
        let wait = Duration::from_secs(if failed { 600 } else { 86_400 });
        tokio::select! {
            () = edge.routes_changed() => {},
            () = tokio::time::sleep(wait) => {},
        }
    }
}

/// Container deaths (die, oom, kill, destroy) → that workload is reconciled within moments.
async fn watch_containers(
    engine: DockerEngine,
    control: Arc<Control>,
    soon: tokio::sync::mpsc::Sender<String>,
) {
    loop {
        let mut events = std::pin::pin!(engine.container_events());
        while let Some(ev) = events.next().await {
            match ev {
                Ok(ev) if matches!(ev.action.as_str(), "die" | "oom" | "kill" | "destroy") => {
                    tracing::debug!(action = %ev.action, container = %ev.id, workload = ?ev.workload, "container event");
                    if let Some(w) = ev.workload {
                        if ev.action == "die" || ev.action == "oom" {
                            control.container_died(&w, &ev.id, &ev.action);
                        }
                        let _ = soon.try_send(w);
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "docker events stream broke; reconnecting");
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

async fn shutdown_on_signal(stop: CancellationToken) {
    let mut term =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term.recv() => {},
    }
    tracing::info!("shutting down: draining open requests");
    stop.cancel();
}
