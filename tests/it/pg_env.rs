//! PostgreSQL set up as for every libpq tool: `PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`,
//! `PGSSLMODE` fill a bare `postgres://`, the password comes from `PGPASSFILE` or `~/.pgpass`,
//! and a server asking for a password otpd was not given is a configuration error (exit 2)
//! naming where a password goes — not "cannot reach the database server".

use std::os::unix::fs::PermissionsExt;

use crate::harness::*;
use crate::pg_server;

const PASSWORD: &str = "sentinel-pg-password-42";

#[test]
fn a_bare_url_takes_libpq_variables_and_the_password_file() {
    let Some(server) = pg_server::private_cluster_or_skip() else {
        return;
    };
    let cluster = server.cluster.as_ref().unwrap();
    let db = server.fresh_database();
    let mut admin = server.admin();
    admin
        .batch_execute(&format!(
            "CREATE ROLE otpd_pw LOGIN PASSWORD '{PASSWORD}'; ALTER DATABASE {db} OWNER TO otpd_pw"
        ))
        .unwrap();
    cluster.require_password_for("otpd_pw");

    let mut env = Env::new();
    env.set_env("OTPD_DB", "postgres://");
    env.set_env("PGHOST", cluster.socket_dir.to_str().unwrap());
    env.set_env("PGPORT", &cluster.port.to_string());
    env.set_env("PGUSER", "otpd_pw");
    env.set_env("PGDATABASE", &db);
    env.set_env("PGSSLMODE", "disable");

    // No password anywhere: the configuration's fault, said as such.
    let r = env.run(&["send", US]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("PGPASSWORD") && r.stderr.contains("PGPASSFILE"),
        "{r:?}"
    );
    assert!(!r.stderr.contains("cannot reach"), "{r:?}");

    // ~/.pgpass, private, as libpq wants it.
    std::fs::create_dir_all(env.home()).unwrap();
    let pgpass = env.home().join(".pgpass");
    std::fs::write(&pgpass, format!("*:*:{db}:otpd_pw:{PASSWORD}\n")).unwrap();
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    let r = env.run(&["--json", "send", US]);
    assert_eq!(r.code, 0, "{r:?}");
    let shown = env.run(&["config"]).ok().stdout.clone();
    assert!(
        shown.contains("postgres://otpd_pw@") && shown.contains(&format!("/{db}?sslmode=disable")),
        "{shown}"
    );
    assert!(!shown.contains(PASSWORD), "{shown}");

    // PGPASSFILE instead; one others may read is refused, naming it.
    let elsewhere = env.path("pgpass");
    std::fs::rename(&pgpass, &elsewhere).unwrap();
    env.set_env("PGPASSFILE", elsewhere.to_str().unwrap());
    assert_eq!(env.run(&["status"]).code, 0);
    std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o644)).unwrap();
    let r = env.run(&["status"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("PGPASSFILE") && r.stderr.contains("chmod 600"),
        "{r:?}"
    );
    assert!(!r.stderr.contains(PASSWORD), "{r:?}");
}
