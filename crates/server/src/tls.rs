//! The main listener's TLS: a rustls server configuration from PEM files, on the aws-lc-rs
//! provider the rest of the build uses (chosen explicitly, so no process-wide default is needed).
//! SIGHUP reads the files again, so a renewed certificate is served without a restart.

use crate::config::TlsFiles;
use anyhow::{Context, Result, bail};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;

pub(crate) fn server_config(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>> {
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| {
            format!(
                "--tls-cert: read certificates from {}",
                files.cert.display()
            )
        })?;
    if certs.is_empty() {
        bail!("--tls-cert: no certificate in {}", files.cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .with_context(|| format!("--tls-key: read a private key from {}", files.key.display()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("--tls-cert/--tls-key: the key does not match the certificate")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// On each SIGHUP, reloads the certificate and key into `config` (new connections get them). A
/// bad pair is logged and the running one kept.
pub(crate) async fn reload_on_hangup(
    files: TlsFiles,
    config: axum_server::tls_rustls::RustlsConfig,
) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hangups) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP: TLS certificate reload disabled");
            return;
        };
        while hangups.recv().await.is_some() {
            match server_config(&files) {
                Ok(new) => {
                    config.reload_from_config(new);
                    tracing::info!(cert = %files.cert.display(), "TLS certificate reloaded");
                }
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "TLS reload failed; keeping the current certificate")
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (files, config);
    }
}
