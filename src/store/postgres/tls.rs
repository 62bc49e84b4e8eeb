//! Connecting with the configured `sslmode`, over rustls with the ring provider otpd already
//! uses for Twilio: `disable` never encrypts; `prefer` and `require` encrypt without checking
//! the certificate (as libpq does: protection from eavesdroppers, not from impostors);
//! `verify-full` checks the chain against `sslrootcert` (or the system's roots) and the host name.

use std::sync::Arc;

use postgres::{Client, NoTls};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::config::{Postgres, TlsMode};

/// Why no connection was made.
pub(super) enum ConnectError {
    /// The TLS settings cannot be used (an unreadable `sslrootcert`…).
    Tls(String),
    Postgres(postgres::Error),
}

/// One connection to the configured server.
pub(super) fn connect(pg: &Postgres) -> Result<Client, ConnectError> {
    // As libpq: TLS is never used over a Unix socket, whatever the sslmode.
    let config = pg.session_config();
    let local = config
        .get_hosts()
        .iter()
        .all(|h| matches!(h, postgres::config::Host::Unix(_)));
    let r = match pg.tls {
        _ if local => {
            let mut plain = config;
            plain.ssl_mode(postgres::config::SslMode::Disable);
            plain.connect(NoTls)
        }
        TlsMode::Disable => config.connect(NoTls),
        TlsMode::Prefer | TlsMode::Require => config.connect(MakeRustlsConnect::new(
            unverified().map_err(ConnectError::Tls)?,
        )),
        TlsMode::VerifyFull => config.connect(MakeRustlsConnect::new(
            verified(pg.root_cert.as_deref()).map_err(ConnectError::Tls)?,
        )),
    };
    r.map_err(ConnectError::Postgres)
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn builder() -> Result<rustls::ConfigBuilder<ClientConfig, rustls::WantsVerifier>, String> {
    ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())
}

/// `verify-full`: the roots in `root_cert` (PEM), or the platform's trust store.
fn verified(root_cert: Option<&std::path::Path>) -> Result<ClientConfig, String> {
    let Some(path) = root_cert else {
        use rustls_platform_verifier::BuilderVerifierExt;
        return Ok(builder()?
            .with_platform_verifier()
            .map_err(|e| e.to_string())?
            .with_no_client_auth());
    };
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
    for cert in certs {
        let cert = cert.map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
        roots
            .add(cert)
            .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
    }
    if roots.is_empty() {
        return Err(format!(
            "sslrootcert {} holds no PEM certificate",
            path.display()
        ));
    }
    Ok(builder()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// `prefer`/`require`: encrypted, the server's certificate not checked (libpq's meaning).
fn unverified() -> Result<ClientConfig, String> {
    Ok(builder()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Unverified(provider())))
        .with_no_client_auth())
}

/// Accepts any certificate but still checks the handshake's signatures with it.
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
