//! Which database the dashboard keeps its data in: SQLite under the data directory (the
//! default: one machine, nothing to install), or PostgreSQL, which several replicas share.
//! The URL comes from `--database-url` or `GDL_DATABASE_URL`; its password never from a
//! flag (a command line shows in `ps`): from the environment's URL, from
//! `--database-password-file`, or from `PGPASSWORD`. `Debug` shows no password.

use clap::Args;
use std::path::PathBuf;
use zeroize::Zeroizing;

/// The database settings of `serve`.
#[derive(Clone, Args)]
pub struct DatabaseSettings {
    /// PostgreSQL shared by several replicas (postgres://user@host:port/dbname), instead
    /// of SQLite under the data directory. Without a password: give it in
    /// --database-password-file or PGPASSWORD, or give the whole URL in GDL_DATABASE_URL.
    #[arg(long = "database-url", value_name = "URL")]
    pub url_flag: Option<String>,

    /// A file holding the database password (its first line; readable by this user only).
    #[arg(long = "database-password-file", env = "GDL_DATABASE_PASSWORD_FILE")]
    pub password_file: Option<PathBuf>,

    /// How long (seconds) a replica's hold on a run lasts without renewal: how soon another
    /// replica takes over the runs of one that stopped (renewed at a third of it).
    #[arg(long = "lease-seconds", env = "GDL_LEASE_SECONDS", default_value_t = 30.0, value_parser = super::positive_f64)]
    pub lease_seconds: f64,

    /// `GDL_DATABASE_URL` as the environment had it when the settings were parsed (or as
    /// a test set it).
    #[arg(skip = std::env::var("GDL_DATABASE_URL").ok().map(Zeroizing::new))]
    pub url_env: Option<Zeroizing<String>>,

    /// `PGPASSWORD` as the environment had it.
    #[arg(skip = std::env::var("PGPASSWORD").ok().map(Zeroizing::new))]
    pub password_env: Option<Zeroizing<String>>,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url_flag: None,
            password_file: None,
            lease_seconds: 30.0,
            url_env: None,
            password_env: None,
        }
    }
}

impl std::fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("postgres", &self.wanted())
            .field("password_file", &self.password_file)
            .field("lease_seconds", &self.lease_seconds)
            .finish_non_exhaustive()
    }
}

impl DatabaseSettings {
    /// The leases' timing.
    pub fn leases(&self) -> crate::runner::LeaseConfig {
        crate::runner::LeaseConfig::lasting(std::time::Duration::from_secs_f64(self.lease_seconds))
    }

    /// PostgreSQL at `url` (a test's settings).
    pub fn postgres_at(url: &str) -> Self {
        Self {
            url_env: Some(Zeroizing::new(url.to_owned())),
            ..Self::default()
        }
    }

    /// Whether a PostgreSQL URL is given.
    pub fn wanted(&self) -> bool {
        self.url().is_some()
    }

    /// The URL given: the flag's, else the environment's.
    fn url(&self) -> Option<&str> {
        let flag = self.url_flag.as_deref();
        flag.or(self.url_env.as_deref().map(String::as_str))
            .filter(|u| !u.trim().is_empty())
    }

    /// The PostgreSQL connection to make, or `None` for SQLite; what is wrong otherwise
    /// (never repeating the URL, which may hold a password).
    pub fn postgres(&self) -> Result<Option<tokio_postgres::Config>, String> {
        let Some(url) = self.url() else {
            return Ok(None);
        };
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(
                "the database URL must start with postgres:// (SQLite needs no URL: leave it out)"
                    .into(),
            );
        }
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| format!("the database URL cannot be read: {e}"))?;
        let from_flag = self
            .url_flag
            .as_deref()
            .is_some_and(|u| !u.trim().is_empty());
        if from_flag && config.get_password().is_some() {
            return Err("--database-url holds a password, which every user of this machine can read in its command line: put the password in --database-password-file or PGPASSWORD, or the whole URL in GDL_DATABASE_URL".into());
        }
        if config.get_password().is_none() {
            if let Some(path) = &self.password_file {
                let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
                    format!(
                        "cannot read the database password from {} ({e}); check --database-password-file",
                        path.display()
                    )
                })?);
                let first = text.lines().next().unwrap_or_default();
                if first.is_empty() {
                    return Err(format!("{} holds no password", path.display()));
                }
                config.password(first);
            } else if let Some(password) = self.password_env.as_ref().filter(|p| !p.is_empty()) {
                config.password(password.as_str());
            }
        }
        if config.get_user().is_none() {
            return Err("the database URL names no user (postgres://USER@host/dbname)".into());
        }
        Ok(Some(config))
    }
}

/// `dir`, else $XDG_DATA_HOME/gpu-deploy-llm, else ~/.local/share/gpu-deploy-llm.
pub fn data_dir_or_default(dir: Option<&PathBuf>) -> PathBuf {
    if let Some(dir) = dir {
        return dir.clone();
    }
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("gpu-deploy-llm")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(flag: Option<&str>, env: Option<&str>) -> DatabaseSettings {
        DatabaseSettings {
            url_flag: flag.map(str::to_owned),
            url_env: env.map(|u| Zeroizing::new(u.to_owned())),
            ..DatabaseSettings::default()
        }
    }

    #[test]
    fn sqlite_unless_a_postgres_url_is_given_and_no_password_on_the_command_line() {
        assert!(settings(None, None).postgres().unwrap().is_none());
        assert!(settings(Some(" "), None).postgres().unwrap().is_none());
        let env = settings(None, Some("postgres://gdl:s3cret@127.0.0.1:5433/gdl"));
        let config = env.postgres().unwrap().unwrap();
        assert_eq!(config.get_password(), Some(&b"s3cret"[..]));
        let debug = format!("{env:?}");
        assert!(!debug.contains("s3cret"), "{debug}");
        let flag = settings(Some("postgres://gdl:s3cret@127.0.0.1/gdl"), None);
        let refused = flag.postgres().unwrap_err();
        assert!(refused.contains("--database-password-file"), "{refused}");
        assert!(!refused.contains("s3cret"), "{refused}");
        let wrong = settings(Some("mysql://gdl@127.0.0.1/gdl"), None);
        assert!(wrong.postgres().unwrap_err().contains("postgres://"));
        let nobody = settings(Some("postgres://127.0.0.1/gdl"), None);
        assert!(nobody.postgres().unwrap_err().contains("no user"));
    }

    #[test]
    fn the_password_comes_from_a_file_or_pgpassword() {
        let dir = std::env::temp_dir().join(format!("gdl-db-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("password");
        std::fs::write(&file, "from-file\n").unwrap();
        let mut s = settings(Some("postgres://gdl@127.0.0.1/gdl"), None);
        s.password_env = Some(Zeroizing::new("from-env".into()));
        let config = s.postgres().unwrap().unwrap();
        assert_eq!(config.get_password(), Some(&b"from-env"[..]));
        s.password_file = Some(file.clone());
        let config = s.postgres().unwrap().unwrap();
        assert_eq!(config.get_password(), Some(&b"from-file"[..]));
        s.password_file = Some(dir.join("missing"));
        assert!(s
            .postgres()
            .unwrap_err()
            .contains("--database-password-file"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
