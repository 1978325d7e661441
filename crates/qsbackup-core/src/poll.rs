//! Waiting on asynchronous QuickSight jobs. QuickSight has no SDK waiters for asset bundle export
//! or import jobs, so this is one poll loop for both: the first look soon after the start, then
//! at intervals that grow with the job's age (a fixed fraction of the time it has run, so the
//! delay between a job's end and our noticing it stays a small part of the job) up to a cap,
//! never past the job's deadline. Retrying failed calls is [`crate::retry`]'s.

use crate::error::Result;
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// How often a job is looked at.
#[derive(Debug, Clone, Copy)]
pub struct PollSchedule {
    /// First look, after the start; also the shortest interval.
    pub first: Duration,
    /// Later looks come after this fraction of the time the job has run so far.
    pub fraction: f64,
    /// Longest interval.
    pub max: Duration,
}

/// What one look at a job found.
#[derive(Debug)]
pub enum Poll<T> {
    /// The job has ended; `T` says how.
    Done(T),
    /// Still queued or running.
    Pending,
}

/// Looks at a job with `describe` on `schedule` until it reports [`Poll::Done`] (`Ok(Some)`),
/// the deadline passes (`Ok(None)`), or a look fails (`Err`, after the client's own retries).
pub async fn poll_until<T, F, Fut>(schedule: PollSchedule, deadline: Instant, mut describe: F) -> Result<Option<T>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>>>,
{
    let started = Instant::now();
    let mut delay = schedule.first;
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(delay.min(deadline - now)).await;
        if let Poll::Done(t) = describe().await? {
            return Ok(Some(t));
        }
        // try_from_secs_f64, not mul_f64: a schedule from an embedder with a negative, NaN or
        // huge fraction must not panic; out of range means the longest interval.
        let grown =
            Duration::try_from_secs_f64(started.elapsed().as_secs_f64() * schedule.fraction).unwrap_or(schedule.max);
        delay = grown.clamp(schedule.first, schedule.max.max(schedule.first));
    }
}

/// Longest wait a deadline stands for: a deadline further out than this is as good as none, and
/// clamping to it keeps the addition from overflowing the clock.
const FAR_FUTURE: Duration = Duration::from_secs(30 * 365 * 86_400);

/// The instant `wait` from now. A wait too long for the clock (a huge timeout from a config or
/// an embedder) becomes "far in the future" instead of a panic.
pub fn deadline_after(wait: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(wait.min(FAR_FUTURE)).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule() -> PollSchedule {
        PollSchedule {
            first: Duration::from_millis(1),
            fraction: 0.5,
            max: Duration::from_millis(4),
        }
    }

    #[tokio::test]
    async fn polls_until_done_and_stops_at_the_deadline() {
        let mut looks = 0;
        let done = poll_until(schedule(), Instant::now() + Duration::from_secs(5), || {
            looks += 1;
            let n = looks;
            async move { Ok(if n == 3 { Poll::Done(n) } else { Poll::Pending }) }
        })
        .await
        .unwrap();
        assert_eq!(done, Some(3));

        let never: Option<()> = poll_until(schedule(), Instant::now() + Duration::from_millis(20), || async {
            Ok(Poll::Pending)
        })
        .await
        .unwrap();
        assert_eq!(never, None);
    }

    #[test]
    fn a_deadline_too_far_for_the_clock_is_far_away_instead_of_a_panic() {
        for wait in [
            Duration::MAX,
            Duration::from_secs(u64::MAX),
            Duration::from_secs(18_446_744_073_709),
        ] {
            let deadline = deadline_after(wait);
            assert!(
                deadline > Instant::now() + Duration::from_secs(10 * 365 * 86_400),
                "{wait:?}"
            );
        }
        let soon = deadline_after(Duration::from_secs(5));
        assert!(soon <= Instant::now() + Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_schedule_with_a_nonsense_fraction_still_polls() {
        for fraction in [-1.0, f64::NAN, f64::INFINITY, 1e300] {
            let mut looks = 0;
            let done = poll_until(
                PollSchedule { fraction, ..schedule() },
                deadline_after(Duration::from_secs(5)),
                || {
                    looks += 1;
                    let n = looks;
                    async move { Ok(if n == 3 { Poll::Done(n) } else { Poll::Pending }) }
                },
            )
            .await
            .unwrap();
            assert_eq!(done, Some(3), "{fraction}");
        }
    }
}
