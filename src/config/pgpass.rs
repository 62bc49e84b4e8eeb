//! The PostgreSQL password file, read as libpq reads it (`PGPASSFILE`, else `~/.pgpass`):
//! lines of `host:port:database:user:password`, `*` matching anything, `\:` and `\\` escaped,
//! the first matching line winning. Like libpq, a file others may read is not used: the
//! default `~/.pgpass` is then skipped, and one `PGPASSFILE` names stops otpd, naming it.

use std::os::unix::fs::PermissionsExt;

use secrecy::SecretString;
use zeroize::Zeroizing;

use super::ConfigError;
use super::env::PgEnv;

/// The password the file holds for `c`'s first host, port, database and user, if any.
pub(super) fn lookup(
    c: &postgres::Config,
    libpq: &PgEnv,
) -> Result<Option<SecretString>, ConfigError> {
    let (path, key) = match (&libpq.passfile, &libpq.home) {
        (Some(p), _) => (p.clone(), "PGPASSFILE"),
        (None, Some(home)) => (home.join(".pgpass"), "~/.pgpass"),
        (None, None) => return Ok(None),
    };
    let Ok(meta) = std::fs::metadata(&path) else {
        return Ok(None);
    };
    let fail = |detail: &str| ConfigError::SecretFile {
        key,
        path: path.clone(),
        detail: detail.into(),
    };
    if !meta.is_file() {
        return Err(fail("it is not a regular file"));
    }
    if meta.permissions().mode() & 0o077 != 0 {
        // The default file is skipped, as libpq skips it (a server needing no password must
        // not stop working over it); one named by PGPASSFILE was asked for, and is refused.
        if libpq.passfile.is_none() {
            return Ok(None);
        }
        return Err(fail(
            "others may read it; make it private (chmod 600), as libpq requires",
        ));
    }
    let text = Zeroizing::new(
        std::fs::read_to_string(&path).map_err(|e| fail(&format!("cannot read it: {e}")))?,
    );
    let host = match c.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = c.get_ports().first().copied().unwrap_or(5432).to_string();
    let want = [
        host.as_str(),
        port.as_str(),
        c.get_dbname().unwrap_or_default(),
        c.get_user().unwrap_or_default(),
    ];
    for line in text.lines() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let fields = split(line);
        if fields.len() < 5 {
            continue;
        }
        let matches = want
            .iter()
            .zip(&fields[..4])
            .all(|(w, f)| f.as_str() == "*" || f.as_str() == *w);
        if matches {
            return Ok(Some(SecretString::from(fields[4].to_string())));
        }
    }
    Ok(None)
}

/// A line's fields, split on unescaped `:` (the password, last, keeps the rest of the line).
fn split(line: &str) -> Vec<Zeroizing<String>> {
    let mut fields = vec![Zeroizing::new(String::new())];
    let mut chars = line.chars();
    while let Some(ch) = chars.next() {
        let last = fields.len() - 1;
        match ch {
            '\\' => {
                if let Some(next) = chars.next() {
                    fields[last].push(next);
                }
            }
            ':' if fields.len() < 5 => fields.push(Zeroizing::new(String::new())),
            _ => fields[last].push(ch),
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::str::FromStr;

    #[test]
    fn the_first_matching_line_wins_with_wildcards_and_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pgpass");
        std::fs::write(
            &file,
            "# comment\nother:5432:otpd:otpd:no\ndb.example:*:otpd:otpd:se\\:cr\\\\et\n*:*:*:*:fallback\n",
        )
        .unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let env = PgEnv {
            passfile: Some(file.clone()),
            ..PgEnv::default()
        };
        let c = postgres::Config::from_str("postgres://otpd@db.example:6543/otpd").unwrap();
        let p = lookup(&c, &env).unwrap().unwrap();
        assert_eq!(p.expose_secret(), "se:cr\\et");
        let c = postgres::Config::from_str("postgres://x@elsewhere/y").unwrap();
        assert_eq!(
            lookup(&c, &env).unwrap().unwrap().expose_secret(),
            "fallback"
        );

        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = lookup(&c, &env).unwrap_err().to_string();
        assert!(e.contains("PGPASSFILE") && e.contains("chmod 600"), "{e}");
        assert!(!e.contains("fallback"), "{e}");

        // The default ~/.pgpass, as loose: skipped, as libpq skips it.
        std::fs::rename(&file, dir.path().join(".pgpass")).unwrap();
        let home = PgEnv {
            home: Some(dir.path().to_path_buf()),
            ..PgEnv::default()
        };
        assert!(lookup(&c, &home).unwrap().is_none());
        std::fs::set_permissions(
            dir.path().join(".pgpass"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        assert_eq!(
            lookup(&c, &home).unwrap().unwrap().expose_secret(),
            "fallback"
        );
    }
}
