//! The HTTP endpoint of `sluice run`: `GET /metrics` (Prometheus text) and
//! `GET /health` (200 when partitions are assigned and Kafka and Delta work,
//! 503 with the reasons otherwise).

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use super::Metrics;
use crate::reload::ReloadStats;

#[derive(Clone)]
struct AppState {
    metrics: Arc<Metrics>,
    reload: Option<Arc<ReloadStats>>,
}

async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    if let Some(r) = &s.reload {
        // The reloader counts on its own; bring the counters up to it.
        let (ok, bad) = (
            r.accepted.load(Ordering::Relaxed),
            r.rejected.load(Ordering::Relaxed),
        );
        s.metrics
            .swaps
            .inc_by(ok.saturating_sub(s.metrics.swaps.get()));
        s.metrics
            .swap_failures
            .inc_by(bad.saturating_sub(s.metrics.swap_failures.get()));
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.encode(),
    )
}

async fn health(State(s): State<AppState>) -> impl IntoResponse {
    // A rejected change does not make the host unhealthy (the old chains
    // run on), but it is said here until a change is accepted.
    let rejected = s
        .reload
        .as_ref()
        .and_then(|r| r.last_error.lock().ok().and_then(|e| e.clone()))
        .map(|e| {
            let flat: Vec<&str> = e.split_whitespace().collect();
            format!("last change rejected: {}\n", flat.join(" "))
        })
        .unwrap_or_default();
    match s.metrics.unhealthy() {
        None => (StatusCode::OK, format!("ok\n{rejected}")),
        Some(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("unhealthy: {}\n", why.join("; ")),
        ),
    }
}

/// Serve `/metrics` and `/health` on `addr` until the process ends.
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    reload: Option<Arc<ReloadStats>>,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let app = Router::new()
        .route("/metrics", get(self::metrics))
        .route("/health", get(health))
        .with_state(AppState { metrics, reload });
    let listener = tokio::net::TcpListener::bind(addr).await?;
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("metrics endpoint stopped: {e}");
        }
    }))
}
