//! Rebuilds the crate when a migration is added: `embed_migrations!` tracks the files it embeds, but not the
//! directories, so a new migration directory would otherwise not be embedded until something else changed.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations/sqlite");
    println!("cargo:rerun-if-changed=../../migrations/postgres");
}
