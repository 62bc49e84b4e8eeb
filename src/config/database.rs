//! Which store otpd opens: a path keeps the embedded SQLite; a `postgres://` URL selects
//! PostgreSQL. The URL is checked here, at start-up, with `sslmode`/`sslrootcert` read by otpd
//! (the client library knows no `verify-full`) and the password taken from `PGPASSWORD` or
//! `[database] password_file`, never from a URL given on the command line. What `otpd config`
//! and error messages show is the URL with any password removed.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use secrecy::{ExposeSecret, SecretString};

use super::ConfigError;

/// The configured store.
#[derive(Debug, Clone)]
pub enum Database {
    /// The SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL server.
    Postgres(Box<Postgres>),
}

/// A PostgreSQL database to connect to. `Debug` never shows the password (the client
/// library's `Config` redacts it).
#[derive(Debug, Clone)]
pub struct Postgres {
    /// The URL as configured, any password replaced by `[redacted]`.
    pub shown: String,
    /// Host, port, user, database, password and options, ready to connect (TLS is `tls`).
    pub connect: postgres::Config,
    pub tls: TlsMode,
    /// `sslrootcert`: the CA certificates (PEM) a `verify-full` server must chain to; without
    /// it, the system's trust store.
    pub root_cert: Option<PathBuf>,
    /// `[database] pool_size`: the most connections `otpd serve` opens; `None`: one per
    /// pool thread. One-shot commands, the prompt and the kiosk use one connection.
    pub pool_size: Option<usize>,
}

/// `sslmode`, as libpq spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Never TLS.
    Disable,
    /// TLS when the server offers it, the certificate unchecked (libpq's default).
    Prefer,
    /// TLS or no connection; the certificate unchecked (encryption, not authentication).
    Require,
    /// TLS, the certificate chained to a trusted root and naming the host.
    VerifyFull,
}

impl Database {
    /// Whether the database may already hold data (a server always may; a SQLite file only
    /// once it exists), so a look at it need not create it.
    pub fn exists(&self) -> bool {
        match self {
            Database::Sqlite(path) => path.exists(),
            Database::Postgres(_) => true,
        }
    }

    /// What `otpd config` and messages show: the path, or the URL without a password.
    pub fn shown(&self) -> String {
        match self {
            Database::Sqlite(p) => p.display().to_string(),
            Database::Postgres(pg) => pg.shown.clone(),
        }
    }
}

impl std::fmt::Display for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown())
    }
}

impl PartialEq<PathBuf> for Database {
    fn eq(&self, other: &PathBuf) -> bool {
        matches!(self, Database::Sqlite(p) if p == other)
    }
}

/// Whether a `--db`/`database` value names a PostgreSQL server rather than a file.
pub fn is_url(value: &Path) -> bool {
    value
        .to_str()
        .is_some_and(|s| s.starts_with("postgres://") || s.starts_with("postgresql://"))
}

/// `otpd store copy --to`: a SQLite path or a `postgres://` URL, read as `--db` is (no password
/// in the URL; `PGPASSWORD` supplies one).
pub fn target(value: &Path, env_password: Option<&SecretString>) -> Result<Database, ConfigError> {
    if !is_url(value) {
        return Ok(Database::Sqlite(value.to_path_buf()));
    }
    let url = value.to_str().unwrap_or_default();
    let pg = postgres(url, Origin::CommandLine, env_password, None)?;
    Ok(Database::Postgres(Box::new(pg)))
}

/// Where the configured value came from: a URL on the command line (or `OTPD_DB`) may carry no
/// password, as argv and the environment of a process are visible to other users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    CommandLine,
    File,
}

/// Parses a `postgres://` URL and settles its password: `PGPASSWORD`, else the password file,
/// else a password written in the configuration file's URL.
pub fn postgres(
    url: &str,
    origin: Origin,
    env_password: Option<&SecretString>,
    password_file: Option<&Path>,
) -> Result<Postgres, ConfigError> {
    let bad = |expected: String| ConfigError::Value {
        key: "database",
        value: redact(url),
        expected,
    };
    let (rest, tls, root_cert) = split_tls(url).map_err(bad)?;
    let mut connect = postgres::Config::from_str(&rest).map_err(|e| {
        bad(format!(
            "{e}; use postgres://USER@HOST:PORT/DB?sslmode=disable|prefer|require|verify-full \
             (a socket folder as %2Fpath or ?host=/path)"
        ))
    })?;
    if connect.get_password().is_some() && origin == Origin::CommandLine {
        return Err(bad(
            "a password on the command line is visible to other users; leave it out of the URL \
             and set PGPASSWORD or [database] password_file"
                .into(),
        ));
    }
    if connect.get_user().is_none() {
        return Err(bad("name the user: postgres://USER@HOST/DB".into()));
    }
    if connect.get_dbname().is_none() {
        return Err(bad("name the database: postgres://USER@HOST/DB".into()));
    }
    if let Some(p) = env_password {
        connect.password(p.expose_secret());
    } else if let Some(path) = password_file {
        connect.password(read_password(path)?.expose_secret());
    }
    connect.ssl_mode(match tls {
        TlsMode::Disable => postgres::config::SslMode::Disable,
        TlsMode::Prefer => postgres::config::SslMode::Prefer,
        TlsMode::Require | TlsMode::VerifyFull => postgres::config::SslMode::Require,
    });
    if connect.get_application_name().is_none() {
        connect.application_name("otpd");
    }
    if connect.get_connect_timeout().is_none() {
        connect.connect_timeout(std::time::Duration::from_secs(10));
    }
    Ok(Postgres {
        shown: redact(url),
        connect,
        tls,
        root_cert,
        pool_size: None,
    })
}

/// Takes `sslmode` and `sslrootcert` out of the query string; the rest is the client's.
fn split_tls(url: &str) -> Result<(String, TlsMode, Option<PathBuf>), String> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut tls = TlsMode::Prefer;
    let mut root = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "sslmode" => {
                tls = match v {
                    "disable" => TlsMode::Disable,
                    "prefer" => TlsMode::Prefer,
                    "require" => TlsMode::Require,
                    "verify-full" => TlsMode::VerifyFull,
                    other => {
                        return Err(format!(
                            "sslmode={other} is not supported; use disable, prefer, require or \
                             verify-full"
                        ));
                    }
                }
            }
            "sslrootcert" => root = Some(PathBuf::from(percent_decode(v))),
            _ => kept.push(pair),
        }
    }
    let rest = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((rest, tls, root))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, ..) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The URL with the password of its `user:password@` part replaced, and sanitised for a
/// terminal.
pub fn redact(url: &str) -> String {
    let shown = match url.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find(['/', '?']).unwrap_or(rest.len());
            match rest[..end].rfind('@') {
                Some(at) => match rest[..at].split_once(':') {
                    Some((user, _)) => format!("{scheme}://{user}:[redacted]{}", &rest[at..]),
                    None => url.to_string(),
                },
                None => url.to_string(),
            }
        }
        None => url.to_string(),
    };
    let shown = match shown.split_once("password=") {
        Some((head, tail)) => {
            let end = tail.find('&').unwrap_or(tail.len());
            format!("{head}password=[redacted]{}", &tail[end..])
        }
        None => shown,
    };
    crate::sanitize::sanitize(&shown)
}

/// The first line of a private password file (0600, owned by the user running otpd).
fn read_password(path: &Path) -> Result<SecretString, ConfigError> {
    use std::io::Read;
    let fail = |detail: String| ConfigError::SecretFile {
        key: "database.password_file",
        path: path.to_path_buf(),
        detail,
    };
    let mut file = crate::secret_file::open_read(path).map_err(|e| fail(e.to_string()))?;
    let mut text = zeroize::Zeroizing::new(String::new());
    file.read_to_string(&mut text)
        .map_err(|e| fail(e.to_string()))?;
    let line = text.lines().next().unwrap_or("");
    if line.is_empty() {
        return Err(fail(
            "it is empty; write the password on its first line".into(),
        ));
    }
    Ok(SecretString::from(line.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_select_postgres_with_tls_modes_and_sockets() {
        let pg = |u: &str| postgres(u, Origin::CommandLine, None, None);
        let p =
            pg("postgres://otpd@db.example:6543/otpd?sslmode=verify-full&sslrootcert=%2Fca.pem")
                .unwrap();
        assert_eq!(p.tls, TlsMode::VerifyFull);
        assert_eq!(p.root_cert.as_deref(), Some(Path::new("/ca.pem")));
        assert_eq!(p.connect.get_ports(), [6543]);
        let p = pg("postgres://otpd@%2Ftmp%2Fpg/otpd").unwrap();
        assert_eq!(
            p.connect.get_hosts(),
            [postgres::config::Host::Unix("/tmp/pg".into())]
        );
        let p = pg("postgresql://otpd@localhost/otpd?host=/run/pg&sslmode=disable").unwrap();
        assert_eq!(p.tls, TlsMode::Disable);
        assert_eq!(p.connect.get_hosts().len(), 2);
        for (url, says) in [
            ("postgres://otpd:hunter2@h/otpd", "command line"),
            ("postgres://otpd@h/otpd?sslmode=verify-ca", "verify-full"),
            ("postgres://h/otpd", "name the user"),
            ("postgres://otpd@h/otpd?bogus=1", "bogus"),
        ] {
            let e = pg(url).unwrap_err().to_string();
            assert!(e.contains(says), "{url}: {e}");
            assert!(!e.contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn passwords_come_from_the_environment_or_the_file_and_are_never_shown() {
        let env = SecretString::from("from-env");
        let p = postgres(
            "postgres://otpd:in-file@h/otpd",
            Origin::File,
            Some(&env),
            None,
        )
        .unwrap();
        assert_eq!(p.connect.get_password(), Some(&b"from-env"[..]));
        assert_eq!(p.shown, "postgres://otpd:[redacted]@h/otpd");
        assert!(!format!("{p:?}").contains("in-file"));
        assert!(!format!("{p:?}").contains("from-env"));
        assert_eq!(
            redact("postgres://u@h/d?password=x&sslmode=require"),
            "postgres://u@h/d?password=[redacted]&sslmode=require"
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "s3cret\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let p = postgres("postgres://u@h/d", Origin::CommandLine, None, Some(&file)).unwrap();
        assert_eq!(p.connect.get_password(), Some(&b"s3cret"[..]));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = postgres("postgres://u@h/d", Origin::CommandLine, None, Some(&file))
            .unwrap_err()
            .to_string();
        assert!(e.contains("chmod 600"), "{e}");
    }
}
