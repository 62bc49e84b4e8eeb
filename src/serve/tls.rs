//! `[server] tls_cert` / `tls_key`: reads the PEM files once at start-up into a rustls server
//! configuration (ring, like every other TLS use in otpd), so a missing or unreadable file is
//! one clear line before the server binds, never a failure on the first client.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use zeroize::Zeroizing;

use crate::config::ConfigError;
use crate::error::Error;

/// The acceptor for `cert` (a PEM chain, leaf first) and `key` (a PEM private key: PKCS#8,
/// PKCS#1 or SEC1).
pub fn acceptor(cert: &Path, key: &Path) -> Result<tokio_rustls::TlsAcceptor, Error> {
    let bad = |k: &'static str, path: &Path, detail: String| {
        Error::Config(ConfigError::SecretFile {
            key: k,
            path: path.to_path_buf(),
            detail,
        })
    };
    let cert_pem = std::fs::read(cert).map_err(|e| bad("server.tls_cert", cert, io_detail(&e)))?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|_| {
            bad(
                "server.tls_cert",
                cert,
                "not a PEM certificate chain".into(),
            )
        })?;
    if chain.is_empty() {
        return Err(bad(
            "server.tls_cert",
            cert,
            "no certificate in it; expected PEM \"BEGIN CERTIFICATE\" blocks, the server's first"
                .into(),
        ));
    }
    // The key's bytes are wiped once rustls has its own copy.
    let key_pem =
        Zeroizing::new(std::fs::read(key).map_err(|e| bad("server.tls_key", key, io_detail(&e)))?);
    let private = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| {
        bad(
            "server.tls_key",
            key,
            "no private key in it; expected a PEM PKCS#8, PKCS#1 (RSA) or SEC1 (EC) key".into(),
        )
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(chain, private))
        .map_err(|e| {
            bad(
                "server.tls_key",
                key,
                format!("it does not fit the certificate in server.tls_cert ({e})"),
            )
        })?;
    let mut config = config;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// An I/O error in words, without Rust's `(os error N)` suffix.
fn io_detail(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => {
            "permission denied (otpd must be able to read it)".into()
        }
        std::io::ErrorKind::IsADirectory => "it is a directory, not a PEM file".into(),
        _ => e.to_string(),
    }
}
