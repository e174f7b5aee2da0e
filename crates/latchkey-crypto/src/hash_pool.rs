//! The threads password hashing runs on: a fixed set, each with argon2 working memory of its own.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};

use argon2::{Argon2, Block};
use tokio::sync::oneshot;

use crate::arena::Arena;

/// Work for a hashing thread, given argon2 (with the configured parameters) and the thread's arena.
type Job = Box<dyn FnOnce(&Argon2<'static>, &mut [Block]) + Send>;

/// A fixed set of threads running hashing jobs in the order they were queued, each with an arena of its own.
///
/// Threads of its own rather than tokio's blocking pool behind a semaphore: a thread that finishes a hash takes the
/// next queued job itself, at once. Handing a freed permit to the next waiter instead goes through an async worker,
/// which must wake up, run and spawn the next hash, and under a login flood the cores sat idle for 5 to 12 % of the
/// time in those hand-overs (`docs/benchmarks.md`). The pool also needs no async runtime to run on.
///
/// Each thread allocates its arena the first time it hashes and keeps it for its life, so hashing allocates nothing
/// per request and touches no fresh pages: one allocation per hash is what let glibc's per-thread arenas grow a
/// login flood to a gigabyte. The threads end when every handle to the pool is dropped.
#[derive(Debug, Clone)]
pub(crate) struct HashPool {
    jobs: Sender<Job>,
}

impl HashPool {
    /// Starts `threads` hashing threads (at least one), whose arenas hold `blocks` argon2 blocks.
    ///
    /// # Errors
    /// The operating system's refusal to start a thread.
    pub(crate) fn start(
        argon2: &Argon2<'static>,
        blocks: usize,
        threads: usize,
    ) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for index in 0..threads.max(1) {
            let (argon2, queue) = (argon2.clone(), Arc::clone(&queue));
            std::thread::Builder::new()
                .name(format!("argon2-{index}"))
                .spawn(move || serve(&argon2, blocks, &queue))?;
        }
        Ok(Self { jobs })
    }

    /// Queues `work` and waits for its result; `None` if it did not complete (it panicked, or the threads are gone).
    ///
    /// A caller that stops waiting (a client gone, a timeout) takes its job out of the work: a job whose caller is
    /// gone by the time a thread reaches it is dropped unrun. Whatever `work` owns is dropped with it, run or not.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Argon2<'static>, &mut [Block]) -> T + Send + 'static,
    ) -> Option<T> {
        let (reply, answer) = oneshot::channel();
        self.submit(Box::new(move |argon2, arena| {
            if reply.is_closed() {
                return;
            }
            // The caller may leave during the hash; its answer is then nobody's.
            let _ = reply.send(work(argon2, arena));
        }));
        answer.await.ok()
    }

    /// Runs `work` on a hashing thread and blocks the calling thread until it is done: for start-up, before any async
    /// runtime need be running. `None` as for [`HashPool::run`].
    pub(crate) fn run_blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Argon2<'static>, &mut [Block]) -> T + Send + 'static,
    ) -> Option<T> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.submit(Box::new(move |argon2, arena| {
            let _ = reply.send(work(argon2, arena));
        }));
        answer.recv().ok()
    }

    /// Queues `job`; when no thread is left to take it, it is dropped, and its caller sees no answer.
    fn submit(&self, job: Job) {
        // Sending fails only when every thread has ended, which none does while the pool is alive; the job (and the
        // reply it holds) is then dropped, which is the answer.
        let _ = self.jobs.send(job);
    }
}

/// A hashing thread: takes queued jobs one at a time until the pool is dropped.
fn serve(argon2: &Argon2<'static>, blocks: usize, queue: &Mutex<Receiver<Job>>) {
    yield_to_request_handling();
    let mut arena: Option<Arena> = None;
    loop {
        // The lock is held only while waiting for a job, so the next job goes to whichever thread is idle.
        let next = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(job) = next else {
            return;
        };
        let arena = arena.get_or_insert_with(|| Arena::new(blocks));
        // A job that panics loses its own answer (its reply is dropped), not the thread: the next hash still finds
        // the thread and its arena, which argon2 overwrites before reading.
        let _ = catch_unwind(AssertUnwindSafe(|| job(argon2, arena.blocks())));
    }
}

/// How far below the process's scheduling priority the hashing threads run (a nice increment, on Linux).
///
/// Why lower: a hash is 15 to 40 ms of one core, while the request handling it competes with is microseconds per
/// request. At equal priority, a login flood kept both cores hashing and `/auth/me` fell to 0.17-0.20 of its
/// throughput alone; with the hashing threads at +10 it kept 0.65-0.72, while the flood's own logins per second
/// stayed within the run-to-run noise (they need little besides the hash), and logins during an `/auth/me` flood
/// took 80 ms instead of 64 ms at the median (`docs/benchmarks.md`). Hashes get whatever the cores have left.
pub(crate) const HASHING_NICENESS: i32 = 10;

/// Lowers the calling thread's scheduling priority by [`HASHING_NICENESS`], best effort: a thread that cannot lower
/// its priority still hashes. Linux only, where a nice value is per thread (elsewhere it would be the whole
/// process's).
fn yield_to_request_handling() {
    #[cfg(target_os = "linux")]
    {
        let _ = rustix::process::nice(HASHING_NICENESS);
    }
}

/// A job that holds its hashing thread until the returned gate opens (a send, or the sender dropped), and the
/// signal that it has started: for tests that need every thread busy.
#[cfg(test)]
pub(crate) fn gated_job() -> (Job, oneshot::Receiver<()>, Sender<()>) {
    let (open, gate) = mpsc::channel::<()>();
    let (started, busy) = oneshot::channel();
    let job: Job = Box::new(move |_, _| {
        let _ = started.send(());
        let _ = gate.recv();
    });
    (job, busy, open)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::{Algorithm, Params, Version};
    use std::collections::HashSet;

    fn argon2() -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
    }

    fn arena_address(_: &Argon2<'static>, arena: &mut [Block]) -> usize {
        arena.as_ptr() as usize
    }

    #[tokio::test]
    async fn a_thread_keeps_its_arena_for_every_job() {
        let pool = HashPool::start(&argon2(), 8, 1).unwrap();
        let first = pool.run(arena_address).await.unwrap();
        for _ in 0..3 {
            assert_eq!(pool.run(arena_address).await, Some(first));
        }
        assert_eq!(pool.run(|_, arena| arena.len()).await, Some(8));
    }

    #[tokio::test]
    async fn arenas_never_outnumber_the_threads() {
        let pool = HashPool::start(&argon2(), 8, 2).unwrap();
        let jobs: Vec<_> = (0..16)
            .map(|_| {
                let pool = pool.clone();
                tokio::spawn(async move { pool.run(arena_address).await.unwrap() })
            })
            .collect();
        let mut arenas = HashSet::new();
        for job in jobs {
            arenas.insert(job.await.unwrap());
        }
        assert!(arenas.len() <= 2, "{} arenas", arenas.len());
    }

    #[tokio::test]
    async fn a_job_that_panics_answers_nothing_and_the_thread_goes_on() {
        let pool = HashPool::start(&argon2(), 8, 1).unwrap();
        let first = pool.run(arena_address).await.unwrap();
        let panicked = pool
            .run(|_, _| -> usize { panic!("a hashing job panicked") })
            .await;
        assert_eq!(panicked, None);
        assert_eq!(pool.run(arena_address).await, Some(first));
    }

    #[tokio::test]
    async fn a_job_whose_caller_left_is_dropped_unrun() {
        let pool = HashPool::start(&argon2(), 8, 1).unwrap();
        // The only thread is busy until the gate opens; the test goes on once it is.
        let (job, busy_now, open) = gated_job();
        let busy = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(job).await }
        });
        busy_now.await.unwrap();
        let (ran, did_run) = mpsc::channel::<()>();
        let mut left = Box::pin(pool.run(move |_, _| ran.send(())));
        // Polled once, the job is queued behind the busy thread; then its caller leaves.
        tokio::select! {
            biased;
            _ = &mut left => panic!("the job ran while the only thread was busy"),
            () = std::future::ready(()) => {}
        }
        drop(left);
        open.send(()).unwrap();
        busy.await.unwrap().unwrap();
        // The thread has moved past the abandoned job: a later one runs, the abandoned one never did.
        assert_eq!(pool.run(|_, _| 1).await, Some(1));
        assert!(did_run.try_recv().is_err());
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_threads_run_below_the_priority_of_the_process() {
        let own = rustix::process::getpriority_process(None).unwrap();
        let pool = HashPool::start(&argon2(), 8, 1).unwrap();
        let hashing = pool
            .run(|_, _| rustix::process::getpriority_process(None).unwrap())
            .await
            .unwrap();
        assert_eq!(hashing, (own + HASHING_NICENESS).min(19));
        // The thread that started the pool keeps its own priority.
        assert_eq!(rustix::process::getpriority_process(None).unwrap(), own);
    }

    #[test]
    fn jobs_can_be_waited_for_without_a_runtime() {
        let pool = HashPool::start(&argon2(), 8, 1).unwrap();
        assert_eq!(pool.run_blocking(|_, arena| arena.len()), Some(8));
    }
}
