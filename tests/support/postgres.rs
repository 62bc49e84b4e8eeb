//! A PostgreSQL server for the tests: `OTPD_TEST_POSTGRES_URL` when set, else a throwaway
//! cluster started once per test binary (`initdb` + `pg_ctl`, listening on a Unix socket in a
//! temp dir only, as user `postgres` when the tests run as root, since initdb refuses root).
//! Each test gets a fresh database. Without PostgreSQL binaries the PostgreSQL half of a test
//! prints "SKIPPED: no PostgreSQL" and passes — unless `CI=true` or `OTPD_REQUIRE_POSTGRES=1`
//! (both set in CI), which make it fail.
//!
//! The one rule for every skip in the test crate lives here ([`skip`]): a test that cannot run
//! on this machine (no PostgreSQL, no private cluster, no openssl) says `SKIPPED: why` on stderr
//! and passes on a developer's machine, and fails under the CI variables, so a pass in CI always
//! means the test ran.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Where the server is: an admin URL (a database we may create others from) and how to build a
/// URL for a database on it.
pub struct Server {
    /// `postgres://USER@HOST:PORT` (no database, no query).
    base: String,
    /// `?…` to append (e.g. `?sslmode=disable`), or "".
    query: String,
    /// The throwaway cluster, if we started one (so tests can restart it).
    pub cluster: Option<Cluster>,
}

/// A cluster this test binary started.
pub struct Cluster {
    pub bin: PathBuf,
    pub data: PathBuf,
    pub socket_dir: PathBuf,
    pub port: u16,
    /// Run the server's tools as this user (`Some("postgres")` when the tests run as root).
    pub run_as: Option<&'static str>,
}

static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// The server, started on first use; `Err` says why there is none.
pub fn server() -> Result<&'static Server, &'static str> {
    SERVER
        .get_or_init(|| match std::env::var("OTPD_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => Ok(from_url(&url)),
            _ => start_cluster(0),
        })
        .as_ref()
        .map_err(String::as_str)
}

/// Whether this run is CI: `CI` set to anything but empty, `0` or `false` (every CI service sets
/// `CI=true`; `.ci/run` does too).
pub fn in_ci() -> bool {
    is_ci(std::env::var("CI").ok().as_deref())
}

fn is_ci(ci: Option<&str>) -> bool {
    ci.is_some_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// Whether a test that cannot run here must fail instead of skipping: in CI ([`in_ci`]) or with
/// `OTPD_REQUIRE_POSTGRES=1`.
pub fn required() -> bool {
    must_run(
        std::env::var("CI").ok().as_deref(),
        std::env::var("OTPD_REQUIRE_POSTGRES").ok().as_deref(),
    )
}

fn must_run(ci: Option<&str>, require_postgres: Option<&str>) -> bool {
    is_ci(ci) || require_postgres == Some("1")
}

#[test]
fn a_skip_fails_under_either_ci_variable_and_only_then() {
    assert!(must_run(Some("true"), None));
    assert!(must_run(Some("1"), None));
    assert!(must_run(None, Some("1")));
    assert!(must_run(Some("true"), Some("1")));
    for (ci, req) in [
        (None, None),
        (Some(""), None),
        (Some("false"), None),
        (Some("0"), Some("0")),
        (None, Some("")),
    ] {
        assert!(!must_run(ci, req), "{ci:?} {req:?}");
    }
}

/// Skips the rest of a test that cannot run here, saying why on stderr; under the CI variables
/// ([`required`]) it fails the test instead. Every skip goes through here.
#[track_caller]
pub fn skip(why: &str) {
    assert!(
        !required(),
        "cannot run here, and a skip is a failure under CI=true or OTPD_REQUIRE_POSTGRES=1: {why}"
    );
    eprintln!("SKIPPED: {why}");
}

/// The server, or `None` after saying the PostgreSQL half was skipped (a failure when required).
#[track_caller]
pub fn server_or_skip() -> Option<&'static Server> {
    match server() {
        Ok(s) => Some(s),
        Err(why) => {
            skip(&format!("no PostgreSQL ({why})"));
            None
        }
    }
}

fn from_url(url: &str) -> Server {
    let (main, query) = url.split_once('?').unwrap_or((url, ""));
    let after_scheme = main.find("://").map_or(0, |i| i + 3);
    let base = match main[after_scheme..].find('/') {
        Some(i) => &main[..after_scheme + i],
        None => main,
    };
    Server {
        base: base.to_string(),
        query: if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        },
        cluster: None,
    }
}

impl Server {
    /// The URL of database `db` on this server.
    pub fn url(&self, db: &str) -> String {
        format!("{}/{db}{}", self.base, self.query)
    }

    /// An administrative connection (to the `postgres` database).
    pub fn admin(&self) -> postgres::Client {
        self.connect("postgres")
    }

    pub fn connect(&self, db: &str) -> postgres::Client {
        postgres::Client::connect(&self.url(db), postgres::NoTls)
            .unwrap_or_else(|e| panic!("connect to {db}: {e:?}"))
    }

    /// A new, empty database for one test; returns its name.
    pub fn fresh_database(&self) -> String {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let name = format!("otpd_t{}_{n}", std::process::id());
        // One statement per call: several in one string would run as one transaction, where
        // CREATE DATABASE is not allowed.
        let mut admin = self.admin();
        for sql in [
            format!("DROP DATABASE IF EXISTS {name}"),
            format!("CREATE DATABASE {name}"),
        ] {
            admin
                .batch_execute(&sql)
                .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
        }
        name
    }

    /// Drops a test's database (its connections first).
    pub fn drop_database(&self, name: &str) {
        let _ = self
            .admin()
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    }
}

/// The folder holding `initdb` and `pg_ctl`: `PATH`, else the newest /usr/lib/postgresql/*/bin.
fn binaries() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    if let Some(dir) = std::env::split_paths(&path).find(|d| d.join("initdb").is_file()) {
        return Some(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, b)| b)
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

impl Cluster {
    /// A command for one of the server's tools, as the cluster's owner.
    pub fn tool(&self, name: &str) -> Command {
        let program = self.bin.join(name);
        let mut c = match self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(program);
                c
            }
            None => Command::new(program),
        };
        c.stdin(Stdio::null());
        c
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<(), String> {
        let out = self
            .tool("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(args)
            .output()
            .map_err(|e| format!("pg_ctl: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "pg_ctl {args:?}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    fn start(&self) -> Result<(), String> {
        self.start_with("-c listen_addresses=''")
    }

    /// Makes `role` prove a password (scram) on the socket; the rest stays trusted.
    pub fn require_password_for(&self, role: &str) {
        let hba = self.data.join("pg_hba.conf");
        let rules = std::fs::read_to_string(&hba).unwrap();
        std::fs::write(&hba, format!("local all {role} scram-sha-256\n{rules}")).unwrap();
        self.pg_ctl(&["reload"]).unwrap();
    }

    /// Starts the server with `extra` server options (e.g. TLS on 127.0.0.1).
    fn start_with(&self, extra: &str) -> Result<(), String> {
        let options = format!(
            "-k {} -p {} -c fsync=off -c max_connections=300 {extra}",
            self.socket_dir.display(),
            self.port
        );
        let log = self
            .data
            .parent()
            .unwrap_or(Path::new("/tmp"))
            .join("server.log");
        self.pg_ctl(&[
            "-w",
            "-t",
            "60",
            "-o",
            &options,
            "-l",
            log.to_str().unwrap(),
            "start",
        ])
    }

    /// Restarts the server with TLS on, listening on 127.0.0.1 too, with the certificate and
    /// key given (PEM), refusing unencrypted TCP connections; returns the TCP port.
    pub fn restart_with_tls(&self, cert: &Path, key: &Path) -> u16 {
        let hba = self.data.join("pg_hba.conf");
        let rules = std::fs::read_to_string(&hba).unwrap();
        std::fs::write(
            &hba,
            format!("hostnossl all all 127.0.0.1/32 reject\n{rules}"),
        )
        .unwrap();
        for (from, name) in [(cert, "server.crt"), (key, "server.key")] {
            let to = self.data.join(name);
            std::fs::copy(from, &to).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600)).unwrap();
            if let Some(user) = self.run_as {
                Command::new("chown").arg(user).arg(&to).status().unwrap();
            }
        }
        self.pg_ctl(&["-w", "-m", "fast", "stop"]).unwrap();
        self.start_with("-c listen_addresses=127.0.0.1 -c ssl=on")
            .unwrap();
        self.port
    }

    /// `pg_ctl stop -m fast`: the server ends every connection and stops.
    pub fn stop_fast(&self) {
        self.pg_ctl(&["-w", "-m", "fast", "stop"]).unwrap();
    }

    /// Starts the server again after [`Cluster::stop_fast`].
    pub fn start_again(&self) {
        self.start().unwrap();
    }

    /// `pg_ctl restart -m immediate`: a crash and recovery, for the tests of lost connections.
    pub fn restart_immediate(&self) {
        self.pg_ctl(&["-w", "-m", "immediate", "stop"]).unwrap();
        self.start().unwrap();
    }
}

/// [`private_cluster`], or `None` after [`skip`] said why there is none (a failure in CI).
#[track_caller]
pub fn private_cluster_or_skip() -> Option<Server> {
    match private_cluster() {
        Ok(s) => Some(s),
        Err(why) => {
            skip(&format!("no private PostgreSQL cluster ({why})"));
            None
        }
    }
}

/// A cluster of the caller's own (stopped when this test binary exits), for a test that
/// restarts or breaks its server; `Err` when the tests use `OTPD_TEST_POSTGRES_URL`'s server.
pub fn private_cluster() -> Result<Server, String> {
    if std::env::var("OTPD_TEST_POSTGRES_URL").is_ok_and(|u| !u.is_empty()) {
        return Err("the tests use OTPD_TEST_POSTGRES_URL".into());
    }
    start_cluster(1 + NEXT.fetch_add(1, Ordering::SeqCst) as u16 % 100)
}

fn start_cluster(port_offset: u16) -> Result<Server, String> {
    let bin = binaries().ok_or("no initdb on PATH or in /usr/lib/postgresql/*/bin")?;
    let run_as = is_root().then_some("postgres");
    let root = tempfile::Builder::new()
        .prefix("otpd-pg-")
        .tempdir()
        .map_err(|e| e.to_string())?
        .keep();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| e.to_string())?;
    if let Some(user) = run_as {
        let ok = Command::new("chown")
            .arg(user)
            .arg(&root)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return Err(format!("cannot chown {} to {user}", root.display()));
        }
    }
    // A port of our own (the socket file is named after it); nothing listens on TCP.
    let port = 40_000 + (std::process::id() % 20_000) as u16 + port_offset;
    let cluster = Cluster {
        bin,
        data: root.join("data"),
        socket_dir: root.clone(),
        port,
        run_as,
    };
    let out = cluster
        .tool("initdb")
        .args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
            "-D",
        ])
        .arg(&cluster.data)
        .output()
        .map_err(|e| format!("initdb: {e}"))?;
    if !out.status.success() {
        return Err(format!("initdb: {}", String::from_utf8_lossy(&out.stderr)));
    }
    cluster.start()?;
    stop_when_we_exit(&cluster, &root);
    let socket = root.to_str().unwrap().replace('/', "%2F");
    Ok(Server {
        base: format!("postgres://postgres@{socket}:{port}"),
        query: String::new(),
        cluster: Some(cluster),
    })
}

/// A watcher that stops the cluster and removes its folder once this test binary has exited,
/// however it exits (the harness, a panic, a kill).
fn stop_when_we_exit(cluster: &Cluster, root: &Path) {
    let pg_ctl = cluster.bin.join("pg_ctl");
    let stop = match cluster.run_as {
        Some(user) => format!("runuser -u {user} -- {}", pg_ctl.display()),
        None => pg_ctl.display().to_string(),
    };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.2; done; \
         {stop} -D {data} -m immediate stop >/dev/null 2>&1; rm -rf {root}",
        pid = std::process::id(),
        data = cluster.data.display(),
        root = root.display(),
    );
    let _ = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}
