//! Times single-threaded argon2id hashes with the default (OWASP) parameters, for `bench/login_flood.sh`: the
//! login ceiling of a machine is its cores divided by this time.
//!
//! ```text
//! cargo run --release -p latchkey-crypto --example hash_time [HASHES] [THREADS]
//! ```
//! Prints the median time of one hash in milliseconds. With THREADS, THREADS threads hash HASHES each at once
//! and it prints the hashes per second they made together instead: what the machine's cores (and the memory
//! bandwidth they share) allow when every core hashes, the ceiling a login flood actually meets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Barrier};
use std::time::Instant;

use latchkey_crypto::{Argon2Hasher, Argon2Params};
use latchkey_domain::ports::PasswordHasher;
use latchkey_domain::{Password, PasswordPolicy};

fn main() {
    let hashes: usize = std::env::args()
        .nth(1)
        .map_or(30, |n| n.parse().expect("HASHES is a number"));
    let threads: Option<usize> = std::env::args()
        .nth(2)
        .map(|n| n.parse().expect("THREADS is a number"));
    if let Some(threads) = threads {
        // Every hasher is built (its threads started, its arena allocated and touched by the start-up hash) before
        // the clock starts, and all start hashing together: the figure is hashing only.
        let start = Arc::new(Barrier::new(threads + 1));
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let start = Arc::clone(&start);
                std::thread::spawn(move || {
                    let hasher = hasher();
                    start.wait();
                    median_hash_ms(&hasher, hashes)
                })
            })
            .collect();
        start.wait();
        let started = Instant::now();
        for worker in workers {
            worker.join().unwrap();
        }
        let total = (hashes * threads) as f64;
        println!("{:.1}", total / started.elapsed().as_secs_f64());
        return;
    }
    println!("{:.2}", median_hash_ms(&hasher(), hashes));
}

/// A hasher of its own, with one hashing thread.
fn hasher() -> Argon2Hasher {
    Argon2Hasher::with_concurrency(Argon2Params::default(), 1).unwrap()
}

/// Hashes `hashes` times, one after the other, on `hasher`; the median time of one, in milliseconds.
fn median_hash_ms(hasher: &Argon2Hasher, hashes: usize) -> f64 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let password =
        Password::for_verification("benchmark password".into(), &PasswordPolicy::default())
            .unwrap();
    let mut times: Vec<f64> = runtime.block_on(async {
        let mut times = Vec::with_capacity(hashes);
        for _ in 0..hashes {
            let started = Instant::now();
            hasher.hash(&password).await.unwrap();
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        times
    });
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}
