//! The words of `otpd store …`: whole-store operations that are no operator's command at the
//! prompt (today `copy --to PATH|URL`), parsed by the one-shot command line only.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `otpd store COMMAND`.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    #[command(subcommand)]
    pub command: StoreCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum StoreCommand {
    /// Copy every row of this store (ids and audit chain intact) into an empty one
    Copy {
        /// The store to fill, new or holding no data yet: a SQLite file or a postgres:// URL
        #[arg(long, value_name = "PATH|URL")]
        to: PathBuf,
    },
}
