//! TLS to PostgreSQL, for a database URL with `sslmode=require`: rustls (already in the
//! tree through ureq, with its ring provider), the database's certificate verified against
//! the CA file given (`--db-ca-file`, for a private CA as PostgreSQL servers mostly have)
//! or, without one, the Mozilla roots (webpki-roots, for managed databases with public CAs).
//! The host name (or IP address) in the URL must be in the certificate.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};
use std::path::Path;
use std::sync::Arc;
use tokio_postgres_rustls::MakeRustlsConnect;

/// The connector of every pooled connection.
pub fn connector(ca_file: Option<&Path>) -> Result<MakeRustlsConnect, String> {
    let roots = match ca_file {
        Some(path) => roots_in(path)?,
        None => RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() },
    };
    let config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// The certificates of a PEM file, as trust anchors.
fn roots_in(path: &Path) -> Result<RootCertStore, String> {
    let shown = path.display();
    let pem = std::fs::read(path).map_err(|e| format!("--db-ca-file {shown}: {e}"))?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| format!("--db-ca-file {shown}: not a PEM certificate file: {e}"))?;
        roots.add(cert).map_err(|e| format!("--db-ca-file {shown}: a certificate it holds is not usable: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!("--db-ca-file {shown} holds no certificate (BEGIN CERTIFICATE)"));
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed CA certificate made for this test (openssl req -x509, P-256).
    const CA: &str = "-----BEGIN CERTIFICATE-----
MIIBnzCCAUWgAwIBAgIUWK4kGdjaseWp0VeawC4GNTVpQVEwCgYIKoZIzj0EAwIw
JDEiMCAGA1UEAwwZbGxtX2NsdXN0ZXJzIHVuaXQgdGVzdCBDQTAgFw0yNjEyMDEx
ODM4NTRaGA8yMTI2MTEwNzE4Mzg1NFowJDEiMCAGA1UEAwwZbGxtX2NsdXN0ZXJz
IHVuaXQgdGVzdCBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABIbtI5SkvFqQ
l02BMWJ+s3BQBd4HfopxOF2x1d3qCpMDPzuB3z3iUSv2LFG+O0UG8BBVewKZ1ucx
sn2h9pBAIFyjUzBRMB0GA1UdDgQWBBSyMUnpp5n0/v1NsMszD6yXfL8DejAfBgNV
HSMEGDAWgBSyMUnpp5n0/v1NsMszD6yXfL8DejAPBgNVHRMBAf8EBTADAQH/MAoG
CCqGSM49BAMCA0gAMEUCIHaLqEseyOX0SZJ7jUKV8nPr35E+sI7p9U0lXmBQlzSS
AiEAgksyn1/VJVXxZJW96QzV1oXnfpbBFuEiQPlWnOWMcOs=
-----END CERTIFICATE-----";

    fn file(name: &str, content: &str) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("llm_clusters_tls_{}_{name}", std::process::id()));
        std::fs::write(&path, content).unwrap();
        path
    }

    #[test]
    fn a_ca_file_gives_its_certificates_and_bad_ones_say_why() {
        let good = file("ca.pem", CA);
        assert_eq!(roots_in(&good).unwrap().len(), 1);
        assert!(connector(Some(&good)).is_ok());
        let two = file("two.pem", &format!("{CA}\n{CA}"));
        assert_eq!(roots_in(&two).unwrap().len(), 2);
        let empty = file("empty.pem", "not a certificate\n");
        assert!(roots_in(&empty).unwrap_err().contains("holds no certificate"));
        let missing = std::env::temp_dir().join("llm_clusters_tls_missing.pem");
        assert!(roots_in(&missing).unwrap_err().starts_with("--db-ca-file "));
        let broken = file("broken.pem", "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n");
        assert!(roots_in(&broken).is_err());
        assert!(connector(None).is_ok(), "the Mozilla roots");
        for path in [good, two, empty, broken] {
            let _ = std::fs::remove_file(path);
        }
    }
}
