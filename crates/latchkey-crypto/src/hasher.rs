//! argon2id password hashing on a bounded pool that reuses its memory.

use std::sync::Arc;
use std::time::{Duration, Instant};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash as Phc, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use async_trait::async_trait;
use latchkey_domain::ports::{HashPlace, PasswordHasher};
use latchkey_domain::{Password, PasswordHash, PortError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::hash_pool::HashPool;
use crate::secrets::random_bytes;

/// Bytes of salt per hash (argon2's recommended 16).
const SALT_LEN: usize = 16;
/// Bytes of hash output (argon2's default, as every stored hash has).
const OUTPUT_LEN: usize = Params::DEFAULT_OUTPUT_LEN;
/// The most memory a stored hash may ask to be verified with (1 GiB, in KiB). A stored hash costlier than the
/// configured parameters (made before they were lowered) is verified with memory allocated for it; beyond this it
/// is refused rather than risking the process on a corrupt row.
const MAX_STORED_MEMORY_KIB: u32 = 1 << 20;

/// argon2id cost parameters. The defaults are OWASP's: 19 MiB, 2 passes, 1 lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory per hash, in KiB.
    pub memory_kib: u32,
    /// Number of passes.
    pub iterations: u32,
    /// Degree of parallelism (lanes).
    pub parallelism: u32,
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// Why the hasher could not be built.
#[derive(Debug, thiserror::Error)]
pub enum HasherError {
    /// The parameters are out of argon2's range.
    #[error("invalid argon2 parameters: {0}")]
    InvalidParams(argon2::Error),
    /// Hashing the reference password failed.
    #[error("argon2 self-test failed: {0}")]
    SelfTest(argon2::password_hash::Error),
    /// A hashing thread could not be started, or ended before the start-up hash was done.
    #[error("argon2 hashing threads did not start: {0}")]
    Threads(std::io::Error),
}

/// argon2id hashing off the async workers, with memory allocated once.
///
/// Hashes run on threads of the hasher's own, `max_concurrent` of them (by default, one per core), each with
/// working memory (an arena of argon2 blocks) allocated the first time it hashes and reused by every later hash, so
/// a login flood queues instead of allocating per request. The queue is bounded as well (by default
/// [`Argon2Hasher::DEFAULT_WAITING_PER_THREAD`] per thread): a hash arriving when it is full is refused at once with
/// [`PortError::overloaded`], so a flood cannot push the wait of every other login past what the queue holds, and the
/// refused client is told when to come back. The threads end when the last clone of the hasher is dropped.
#[derive(Clone)]
pub struct Argon2Hasher {
    argon2: Argon2<'static>,
    pool: HashPool,
    /// Room for running and waiting hashes together: a hash takes one of these before it is queued.
    admission: Arc<Semaphore>,
    /// How many hashes may run at once (the hashing threads).
    max_concurrent: usize,
    /// How long the start-up hash took: the unit of the `Retry-After` hint.
    hash_time: Duration,
    /// The `Retry-After` hint of a refusal: about how long a full queue takes to drain.
    retry_after: Duration,
    /// A hash of a random password, verified against for logins naming no account.
    decoy: Arc<str>,
}

impl std::fmt::Debug for Argon2Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Argon2Hasher")
            .field("params", self.argon2.params())
            .field("max_concurrent", &self.max_concurrent)
            .field("available_admissions", &self.admission.available_permits())
            .finish()
    }
}

impl Argon2Hasher {
    /// How many hashes may wait per hashing thread (per core, by default) before more are refused: enough that
    /// bursts of a few dozen parallel requests queue rather than fail.
    pub const DEFAULT_WAITING_PER_THREAD: usize = 32;

    /// The former name of [`Argon2Hasher::DEFAULT_WAITING_PER_THREAD`], from when hashes waited for semaphore permits.
    #[deprecated(note = "renamed `DEFAULT_WAITING_PER_THREAD`")]
    pub const DEFAULT_WAITING_PER_PERMIT: usize = Self::DEFAULT_WAITING_PER_THREAD;

    /// Builds a hasher with one hashing thread per available core.
    ///
    /// Computes one hash (the decoy for unknown accounts) on a hashing thread before returning, blocking the caller
    /// meanwhile, which also proves the parameters work.
    ///
    /// # Errors
    /// [`HasherError`] when the parameters are invalid or the threads cannot start.
    pub fn new(params: Argon2Params) -> Result<Self, HasherError> {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Self::with_concurrency(params, cores)
    }

    /// Builds a hasher with `max_concurrent` hashing threads (at least one), and
    /// [`Argon2Hasher::DEFAULT_WAITING_PER_THREAD`] hashes waiting per thread.
    ///
    /// Computes one hash (the decoy for unknown accounts) on a hashing thread before returning, blocking the caller
    /// meanwhile, which also proves the parameters work.
    ///
    /// # Errors
    /// [`HasherError`] when the parameters are invalid or the threads cannot start.
    pub fn with_concurrency(
        params: Argon2Params,
        max_concurrent: usize,
    ) -> Result<Self, HasherError> {
        let argon2_params = Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            Some(OUTPUT_LEN),
        )
        .map_err(HasherError::InvalidParams)?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, argon2_params);
        let max_concurrent = max_concurrent.max(1);
        let pool = HashPool::start(&argon2, argon2.params().block_count(), max_concurrent)
            .map_err(HasherError::Threads)?;
        let decoy_password: [u8; 16] = random_bytes();
        let (decoy, hash_time) = pool
            .run_blocking(move |argon2, arena| {
                let started = Instant::now();
                let decoy = hash_with(argon2, arena, &decoy_password);
                (decoy, started.elapsed())
            })
            .ok_or_else(|| {
                HasherError::Threads(std::io::Error::other("the start-up hash did not finish"))
            })?;
        let decoy = decoy.map_err(HasherError::SelfTest)?;
        let hasher = Self {
            argon2,
            pool,
            admission: Arc::new(Semaphore::new(0)),
            max_concurrent,
            hash_time,
            retry_after: Duration::ZERO,
            decoy: decoy.into(),
        };
        Ok(
            hasher
                .with_max_waiting(max_concurrent.saturating_mul(Self::DEFAULT_WAITING_PER_THREAD)),
        )
    }

    /// The same hasher with room for at most `max_waiting` hashes waiting for a thread (0: none waits, and a hash
    /// arriving while every thread is busy is refused). Beyond it, hashing fails with [`PortError::overloaded`].
    ///
    /// Call it before the hasher is shared: clones made earlier keep the previous queue.
    #[must_use]
    pub fn with_max_waiting(mut self, max_waiting: usize) -> Self {
        let room = self
            .max_concurrent
            .saturating_add(max_waiting)
            .min(Semaphore::MAX_PERMITS);
        self.admission = Arc::new(Semaphore::new(room));
        self.retry_after = drain_time(self.hash_time, self.max_concurrent, max_waiting);
        self
    }

    /// How many hashes may run at once: its hashing threads (one per core, unless built
    /// [`Argon2Hasher::with_concurrency`]).
    pub fn max_concurrent(&self) -> usize {
        self.max_concurrent
    }

    /// The refusal of a hash beyond the queue, with the time the queue takes to drain.
    fn overloaded(&self) -> PortError {
        PortError::overloaded("queue for password hashing", self.retry_after)
    }

    /// A place in the queue, taken now without waiting: a full queue refuses at once instead of growing.
    fn admit(&self) -> Result<OwnedSemaphorePermit, PortError> {
        Arc::clone(&self.admission)
            .try_acquire_owned()
            .map_err(|_| self.overloaded())
    }

    /// The place `place` holds, when [`PasswordHasher::reserve`] of this hasher took it; otherwise one taken now.
    fn admitted_by(&self, place: HashPlace) -> Result<OwnedSemaphorePermit, PortError> {
        match place.into_held::<Admitted>() {
            Some(Admitted(permit)) if Arc::ptr_eq(permit.semaphore(), &self.admission) => {
                Ok(permit)
            }
            _ => self.admit(),
        }
    }

    /// Runs `work` on a hashing thread, with its arena, once it reaches the front of the queue.
    ///
    /// The admission goes into the job: a queued or running hash counts against the bound until it is done, even if
    /// its caller has gone meanwhile (a client gone, a timeout). A job whose caller has gone is dropped unrun.
    async fn run<T: Send + 'static>(
        &self,
        admitted: OwnedSemaphorePermit,
        work: impl FnOnce(&Argon2<'static>, &mut [Block]) -> T + Send + 'static,
    ) -> Result<T, PortError> {
        self.pool
            .run(move |argon2, arena| {
                let _admitted = admitted;
                work(argon2, arena)
            })
            .await
            .ok_or_else(|| PortError::new("run password hashing", "the hash did not complete"))
    }
}

/// A place in an [`Argon2Hasher`]'s queue, as [`PasswordHasher::reserve`] hands it out inside a [`HashPlace`]:
/// private, so no other code can make one.
struct Admitted(OwnedSemaphorePermit);

/// About how long a full queue takes to drain: `max_waiting` hashes of `hash_time` each, `max_concurrent` at a
/// time. The client told to come back after this finds room, unless the flood goes on.
fn drain_time(hash_time: Duration, max_concurrent: usize, max_waiting: usize) -> Duration {
    let rounds = max_waiting.div_ceil(max_concurrent.max(1)).max(1);
    hash_time.saturating_mul(u32::try_from(rounds).unwrap_or(u32::MAX))
}

/// Hashes `password` with a fresh random salt into a PHC string, using `arena` as argon2's memory.
fn hash_with(
    argon2: &Argon2<'_>,
    arena: &mut [Block],
    password: &[u8],
) -> Result<String, argon2::password_hash::Error> {
    let salt: [u8; SALT_LEN] = random_bytes();
    let mut output = [0u8; OUTPUT_LEN];
    argon2.hash_password_into_with_memory(password, &salt, &mut output, arena)?;
    let phc = Phc {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon2.params())?,
        salt: Some(Salt::new(&salt)?),
        hash: Some(Output::new(&output)?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the stored PHC string `phc`, recomputed with the stored algorithm, version, costs and
/// salt (so hashes made under older parameters still verify) in `arena`, or in memory allocated for this one
/// verification when the stored costs need more than the arena holds.
fn verify_with(arena: &mut [Block], password: &[u8], phc: &str) -> bool {
    let Ok(stored) = Phc::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&stored.salt, &stored.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(stored.algorithm.as_str()) else {
        return false;
    };
    let version = match stored.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&stored) else {
        return false;
    };
    if params.m_cost() > MAX_STORED_MEMORY_KIB {
        return false;
    }
    let needed = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let mut output = [0u8; Output::MAX_LENGTH];
    let Some(output) = output.get_mut(..expected.len()) else {
        return false;
    };
    let computed = if needed <= arena.len() {
        argon2.hash_password_into_with_memory(password, salt, output, arena)
    } else {
        argon2.hash_password_into(password, salt, output)
    };
    // `Output`'s equality is constant-time.
    computed.is_ok() && Output::new(output).is_ok_and(|output| output == *expected)
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, PortError> {
        let password = password.clone();
        self.run(self.admit()?, move |argon2, arena| {
            hash_with(argon2, arena, password.expose().as_bytes())
        })
        .await?
        .map(PasswordHash::new)
        .map_err(|error| PortError::new("hash password", error.to_string()))
    }

    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool, PortError> {
        self.verify_reserved(HashPlace::none(), password, hash)
            .await
    }

    async fn verify_nothing(&self, password: &Password) -> Result<(), PortError> {
        self.verify_nothing_reserved(HashPlace::none(), password)
            .await
    }

    fn needs_rehash(&self, hash: &PasswordHash) -> bool {
        made_otherwise(&self.argon2, hash.as_str())
    }

    fn reserve(&self) -> Result<HashPlace, PortError> {
        Ok(HashPlace::holding(Admitted(self.admit()?)))
    }

    async fn verify_reserved(
        &self,
        place: HashPlace,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<bool, PortError> {
        let admitted = self.admitted_by(place)?;
        let password = password.clone();
        let phc = hash.as_str().to_owned();
        self.run(admitted, move |_, arena| {
            verify_with(arena, password.expose().as_bytes(), &phc)
        })
        .await
    }

    async fn verify_nothing_reserved(
        &self,
        place: HashPlace,
        password: &Password,
    ) -> Result<(), PortError> {
        let admitted = self.admitted_by(place)?;
        let password = password.clone();
        let decoy = Arc::clone(&self.decoy);
        self.run(admitted, move |_, arena| {
            verify_with(arena, password.expose().as_bytes(), &decoy)
        })
        .await?;
        Ok(())
    }
}

/// Whether the PHC string `phc` was made with another algorithm, version, cost parameters or output length than
/// `argon2` makes hashes with now. An unparseable string never verifies, so it is never asked about; it counts as
/// made otherwise.
fn made_otherwise(argon2: &Argon2<'_>, phc: &str) -> bool {
    let Ok(stored) = Phc::new(phc) else {
        return true;
    };
    let current = argon2.params();
    let same_algorithm = stored.algorithm == Algorithm::Argon2id.ident();
    let same_version = stored.version == Some(Version::V0x13.into());
    let same_params = Params::try_from(&stored).is_ok_and(|stored| {
        stored.m_cost() == current.m_cost()
            && stored.t_cost() == current.t_cost()
            && stored.p_cost() == current.p_cost()
    });
    let same_length = stored.hash.is_some_and(|output| output.len() == OUTPUT_LEN);
    !(same_algorithm && same_version && same_params && same_length)
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_domain::PasswordPolicy;

    fn cheap() -> Argon2Params {
        Argon2Params {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        }
    }

    fn password(raw: &str) -> Password {
        Password::for_verification(raw.into(), &PasswordPolicy::default()).unwrap()
    }

    #[tokio::test]
    async fn hashes_with_argon2id_and_verifies() {
        let hasher = Argon2Hasher::new(cheap()).unwrap();
        let hash = hasher.hash(&password("correct horse")).await.unwrap();
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(hasher
            .verify(&password("correct horse"), &hash)
            .await
            .unwrap());
        assert!(!hasher
            .verify(&password("Correct horse"), &hash)
            .await
            .unwrap());
        assert!(!hasher
            .verify(
                &password("x"),
                &PasswordHash::new("not a phc string".into())
            )
            .await
            .unwrap());
        hasher.verify_nothing(&password("whatever")).await.unwrap();
    }

    #[tokio::test]
    async fn a_hash_made_with_other_parameters_needs_rehashing() {
        let hasher = Argon2Hasher::new(cheap()).unwrap();
        let own = hasher.hash(&password("correct horse")).await.unwrap();
        assert!(!hasher.needs_rehash(&own));
        for other in [
            Argon2Params {
                memory_kib: 128,
                ..cheap()
            },
            Argon2Params {
                iterations: 2,
                ..cheap()
            },
            Argon2Params {
                parallelism: 2,
                ..cheap()
            },
        ] {
            let older = Argon2Hasher::new(other).unwrap();
            let stored = older.hash(&password("correct horse")).await.unwrap();
            // Still verifies (with its own parameters), but is due for an upgrade.
            assert!(hasher
                .verify(&password("correct horse"), &stored)
                .await
                .unwrap());
            assert!(hasher.needs_rehash(&stored), "{other:?}");
        }
        // argon2i, or argon2id of version 0x10, is made otherwise too.
        let argon2i = own.as_str().replacen("$argon2id$", "$argon2i$", 1);
        assert!(hasher.needs_rehash(&PasswordHash::new(argon2i)));
        let v16 = own.as_str().replacen("$v=19$", "$v=16$", 1);
        assert!(hasher.needs_rehash(&PasswordHash::new(v16)));
        assert!(hasher.needs_rehash(&PasswordHash::new("not a phc string".into())));
    }

    #[test]
    fn default_parameters_are_owasp() {
        assert_eq!(
            Argon2Params::default(),
            Argon2Params {
                memory_kib: 19_456,
                iterations: 2,
                parallelism: 1
            }
        );
    }

    #[test]
    fn invalid_parameters_are_refused() {
        let params = Argon2Params {
            memory_kib: 1,
            ..cheap()
        };
        assert!(matches!(
            Argon2Hasher::new(params),
            Err(HasherError::InvalidParams(_))
        ));
    }

    /// Occupies one hashing thread, and one place in the queue, until the returned gate is opened (sent to or
    /// dropped); returns once the thread is busy.
    async fn occupy(
        hasher: &Argon2Hasher,
    ) -> (std::sync::mpsc::Sender<()>, tokio::task::JoinHandle<()>) {
        let (job, busy, open) = crate::hash_pool::gated_job();
        let occupied = tokio::spawn({
            let hasher = hasher.clone();
            async move { hasher.run(hasher.admit().unwrap(), job).await.unwrap() }
        });
        busy.await.unwrap();
        (open, occupied)
    }

    #[tokio::test]
    async fn at_most_max_concurrent_hashes_run_at_once() {
        let hasher = Argon2Hasher::with_concurrency(cheap(), 2).unwrap();
        let (first, _) = occupy(&hasher).await;
        let (second, _) = occupy(&hasher).await;
        // With every thread busy, a hash must wait rather than run.
        let pw = password("pw");
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(50), hasher.hash(&pw));
        assert!(waiting.await.is_err(), "a third hash ran on two threads");
        drop((first, second));
        hasher.hash(&password("pw")).await.unwrap();
    }

    /// Lets spawned tasks run until `done` holds (on the test's single-threaded runtime, without timing).
    async fn until(done: impl Fn() -> bool) {
        while !done() {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn beyond_the_waiting_room_hashes_are_refused_at_once_as_overloaded() {
        let hasher = Argon2Hasher::with_concurrency(cheap(), 1)
            .unwrap()
            .with_max_waiting(1);
        drop(hasher.reserve().expect("room while nothing runs"));
        // Admission counts the running hash and the waiting one: the room is 1 + 1.
        let (gate, occupied) = occupy(&hasher).await;
        drop(hasher.reserve().expect("room for one waiting hash"));
        let waiting = tokio::spawn({
            let hasher = hasher.clone();
            async move { hasher.hash(&password("pw")).await }
        });
        until(|| hasher.admission.available_permits() == 0).await;

        let refused = hasher.verify_nothing(&password("pw")).await.unwrap_err();
        let retry_after = refused.retry_after().expect("an overload");
        assert!(retry_after > Duration::ZERO);
        // A reservation refuses alike, with the same wait, without queueing anything.
        let reserved = hasher.reserve().unwrap_err();
        assert_eq!(reserved.retry_after(), Some(retry_after));
        assert!(hasher
            .hash(&password("pw"))
            .await
            .unwrap_err()
            .retry_after()
            .is_some());

        // The queue drains once the thread is free, and then there is room again.
        drop(gate);
        occupied.await.unwrap();
        waiting.await.unwrap().unwrap();
        hasher.hash(&password("pw")).await.unwrap();
        assert_eq!(hasher.admission.available_permits(), 2);
        drop(hasher.reserve().expect("room once the queue drained"));
    }

    #[tokio::test]
    async fn a_reserved_place_is_kept_for_its_hash_and_given_back_when_dropped() {
        let hasher = Argon2Hasher::with_concurrency(cheap(), 1)
            .unwrap()
            .with_max_waiting(1);
        let stored = hasher.hash(&password("correct horse")).await.unwrap();
        let (gate, occupied) = occupy(&hasher).await;
        // The last place, taken before the lookup a login makes: the queue is then full for everyone else...
        let place = hasher.reserve().unwrap();
        assert!(hasher.reserve().unwrap_err().retry_after().is_some());
        assert!(hasher.verify(&password("x"), &stored).await.is_err());
        // ...but not for the hash it was taken for, which waits its turn instead of being refused.
        let verifying = tokio::spawn({
            let (hasher, stored) = (hasher.clone(), stored.clone());
            async move {
                hasher
                    .verify_reserved(place, &password("correct horse"), &stored)
                    .await
            }
        });
        drop(gate);
        occupied.await.unwrap();
        assert!(verifying.await.unwrap().unwrap());
        assert_eq!(
            hasher.admission.available_permits(),
            2,
            "spent places come back"
        );

        // A place dropped unspent (a lookup that failed) is given back at once.
        let unspent = hasher.reserve().unwrap();
        assert_eq!(hasher.admission.available_permits(), 1);
        drop(unspent);
        assert_eq!(hasher.admission.available_permits(), 2);
        // A decoy verification spends a place the same way.
        let place = hasher.reserve().unwrap();
        hasher
            .verify_nothing_reserved(place, &password("nobody"))
            .await
            .unwrap();
        assert_eq!(hasher.admission.available_permits(), 2);
    }

    #[tokio::test]
    async fn a_place_another_hasher_reserved_counts_for_nothing_here() {
        let full = Argon2Hasher::with_concurrency(cheap(), 1)
            .unwrap()
            .with_max_waiting(0);
        let other = Argon2Hasher::with_concurrency(cheap(), 1).unwrap();
        let stored = full.hash(&password("pw")).await.unwrap();
        let (gate, occupied) = occupy(&full).await;
        // `full` has no room; a place from `other` does not make any, and `other` keeps its place until the
        // refusal drops it.
        let foreign = other.reserve().unwrap();
        let before = other.admission.available_permits();
        let refused = full
            .verify_reserved(foreign, &password("pw"), &stored)
            .await;
        assert!(refused.unwrap_err().retry_after().is_some());
        assert_eq!(other.admission.available_permits(), before + 1);
        drop(gate);
        occupied.await.unwrap();
        // A place that holds nothing (from a hasher without a queue) takes one here like a plain verification.
        assert!(full
            .verify_reserved(HashPlace::none(), &password("pw"), &stored)
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn a_hash_whose_caller_gave_up_is_skipped_and_frees_its_room() {
        let hasher = Argon2Hasher::with_concurrency(cheap(), 1)
            .unwrap()
            .with_max_waiting(1);
        let (gate, occupied) = occupy(&hasher).await;
        let waiting = tokio::spawn({
            let hasher = hasher.clone();
            async move { hasher.hash(&password("pw")).await }
        });
        until(|| hasher.admission.available_permits() == 0).await;
        assert!(hasher.hash(&password("pw")).await.is_err());
        waiting.abort();
        assert!(waiting.await.unwrap_err().is_cancelled());
        drop(gate);
        occupied.await.unwrap();
        // Queued behind the abandoned hash: by the time this one is done, the thread has passed that one by.
        hasher.hash(&password("pw")).await.unwrap();
        assert_eq!(hasher.admission.available_permits(), 2);
    }

    #[test]
    fn the_default_queue_is_32_per_thread() {
        let hasher = Argon2Hasher::with_concurrency(cheap(), 3).unwrap();
        assert_eq!(hasher.admission.available_permits(), 3 + 3 * 32);
    }

    #[test]
    fn the_retry_hint_is_the_time_a_full_queue_takes_to_drain() {
        let hash = Duration::from_millis(40);
        assert_eq!(drain_time(hash, 2, 64), Duration::from_millis(40 * 32));
        assert_eq!(drain_time(hash, 4, 5), Duration::from_millis(80));
        // No queue at all: one hash's time, the wait for a thread to free.
        assert_eq!(drain_time(hash, 1, 0), hash);
    }

    /// Made by argon2 0.5.3, the version Latchkey used before 0.6, for the password `correct horse battery staple`.
    const MADE_BY_ARGON2_0_5: [&str; 4] = [
        "$argon2id$v=19$m=19456,t=2,p=1$RAXvnE6aZJE+EeeVbqeZEA$EMOmq8nJjhUBV7w741e4ywXfEq5g1HAKeCItioLo4pA",
        "$argon2id$v=19$m=64,t=1,p=1$w5Mtc/lr7PXfoGxn/KDW/w$rmeALu8vgCs0LgbA74noQY9F/ICLXXY78+105jlshzI",
        "$argon2id$v=19$m=4096,t=3,p=2$66v/B4e8FDbusKDk6BtXTQ$6zXAF3wkSuaWsMGmASTTqkYNfYC2TBMZ91shiHxFUZo",
        "$argon2i$v=19$m=64,t=2,p=1$QUyTOAuAGKJ9RBKno36AZQ$JmqtsEYDqzrLFUn/XhpDsSlZslQYyp7BpKs3XS2NBI0",
    ];

    #[tokio::test]
    async fn hashes_made_by_the_previous_argon2_version_still_verify() {
        // The cheapest hasher: every stored hash but one asks for more memory than its arenas hold.
        let hasher = Argon2Hasher::new(cheap()).unwrap();
        for stored in MADE_BY_ARGON2_0_5 {
            let stored = PasswordHash::new(stored.into());
            assert!(
                hasher
                    .verify(&password("correct horse battery staple"), &stored)
                    .await
                    .unwrap(),
                "{}",
                stored.as_str()
            );
            assert!(!hasher
                .verify(&password("correct horse battery stapler"), &stored)
                .await
                .unwrap());
        }
    }

    #[tokio::test]
    async fn every_hash_of_a_thread_uses_the_same_arena() {
        let hasher = Argon2Hasher::with_concurrency(cheap(), 1).unwrap();
        let arena = || {
            hasher.run(hasher.admit().unwrap(), |_, arena| {
                (arena.as_ptr() as usize, arena.len())
            })
        };
        let (first, blocks) = arena().await.unwrap();
        assert_eq!(blocks, 64, "one block per KiB of memory_kib");
        for _ in 0..3 {
            let hash = hasher.hash(&password("correct horse")).await.unwrap();
            hasher
                .verify(&password("correct horse"), &hash)
                .await
                .unwrap();
            hasher.verify_nothing(&password("x")).await.unwrap();
            assert_eq!(arena().await.unwrap(), (first, blocks));
        }
    }

    #[test]
    fn stored_costs_beyond_the_cap_are_refused_without_allocating_them() {
        let mut arena = vec![Block::default(); 64];
        let absurd = "$argon2id$v=19$m=4294967295,t=1,p=1$w5Mtc/lr7PXfoGxn/KDW/w$rmeALu8vgCs0LgbA74noQY9F/ICLXXY78+105jlshzI";
        assert!(!verify_with(
            &mut arena,
            b"correct horse battery staple",
            absurd
        ));
        for malformed in [
            "",
            "$argon2id$v=19$m=64,t=1,p=1$w5Mtc/lr7PXfoGxn/KDW/w",
            "$scrypt$ln=1$abc$def",
        ] {
            assert!(!verify_with(&mut arena, b"x", malformed), "{malformed}");
        }
    }
}
