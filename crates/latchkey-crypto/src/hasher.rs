use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{
    PasswordHash as Phc, PasswordHasher as _, PasswordVerifier as _, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;
use latchkey_domain::ports::PasswordHasher;
use latchkey_domain::{Password, PasswordHash, PortError};
use tokio::sync::Semaphore;

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
}

/// argon2id hashing off the async workers.
///
/// Each hash runs on tokio's blocking pool, and a semaphore lets at most `max_concurrent` (by default, the number
/// of cores) run at once, so a login flood queues instead of allocating 19 MiB per request.
#[derive(Clone)]
pub struct Argon2Hasher {
    argon2: Argon2<'static>,
    permits: Arc<Semaphore>,
    /// A hash of a random password, verified against for logins naming no account.
    decoy: Arc<str>,
}

impl std::fmt::Debug for Argon2Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Argon2Hasher")
            .field("params", self.argon2.params())
            .field("available_permits", &self.permits.available_permits())
            .finish()
    }
}

impl Argon2Hasher {
    /// Builds a hasher allowing one hash per available core at a time.
    ///
    /// Computes one hash (the decoy for unknown accounts) before returning, which also proves the parameters work.
    ///
    /// # Errors
    /// [`HasherError`] when the parameters are invalid.
    pub fn new(params: Argon2Params) -> Result<Self, HasherError> {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Self::with_concurrency(params, cores)
    }

    /// Builds a hasher allowing at most `max_concurrent` hashes at a time (at least one).
    ///
    /// # Errors
    /// [`HasherError`] when the parameters are invalid.
    pub fn with_concurrency(
        params: Argon2Params,
        max_concurrent: usize,
    ) -> Result<Self, HasherError> {
        let argon2_params = Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            None,
        )
        .map_err(HasherError::InvalidParams)?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, argon2_params);
        let decoy_password: String = {
            use rand::Rng;
            let bytes: [u8; 16] = rand::rngs::OsRng.gen();
            bytes.iter().map(|b| format!("{b:02x}")).collect()
        };
        let decoy = hash_blocking(&argon2, &decoy_password).map_err(HasherError::SelfTest)?;
        Ok(Self {
            argon2,
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            decoy: decoy.into(),
        })
    }

    /// Runs `work` on a blocking thread once a permit is free.
    ///
    /// The permit moves into the blocking task: if the caller's future is dropped (a client gone, a timeout), the
    /// hash still runs to completion, and it must keep counting against the bound until it does.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Argon2<'static>) -> T + Send + 'static,
    ) -> Result<T, PortError> {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|error| PortError::new("wait for a password hashing slot", error))?;
        let argon2 = self.argon2.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work(&argon2)
        })
        .await
        .map_err(|error| PortError::new("run password hashing", error))
    }
}

fn hash_blocking(
    argon2: &Argon2<'_>,
    password: &str,
) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(argon2
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Verifies with the hasher's own parameters' algorithm but the stored hash's salt and costs, so hashes made under
/// older parameters still verify.
fn verify_blocking(argon2: &Argon2<'_>, password: &str, phc: &str) -> bool {
    Phc::new(phc).is_ok_and(|parsed| argon2.verify_password(password.as_bytes(), &parsed).is_ok())
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, PortError> {
        let password = password.clone();
        self.run(move |argon2| hash_blocking(argon2, password.expose()))
            .await?
            .map(PasswordHash::new)
            .map_err(|error| PortError::new("hash password", error.to_string()))
    }

    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool, PortError> {
        let password = password.clone();
        let phc = hash.as_str().to_owned();
        self.run(move |argon2| verify_blocking(argon2, password.expose(), &phc))
            .await
    }

    async fn verify_nothing(&self, password: &Password) -> Result<(), PortError> {
        let password = password.clone();
        let decoy = Arc::clone(&self.decoy);
        self.run(move |argon2| verify_blocking(argon2, password.expose(), &decoy))
            .await?;
        Ok(())
    }
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

    #[tokio::test]
    async fn concurrency_is_bounded_by_the_permits() {
        let hasher = Argon2Hasher::with_concurrency(cheap(), 2).unwrap();
        assert_eq!(hasher.permits.available_permits(), 2);
        let held = hasher.permits.clone().acquire_many_owned(2).await.unwrap();
        // With every permit held, a hash must wait rather than run.
        let pw = password("pw");
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(50), hasher.hash(&pw));
        assert!(waiting.await.is_err(), "hash ran without a permit");
        drop(held);
        hasher.hash(&password("pw")).await.unwrap();
    }
}
