//! Progress bars on the terminal for long work (hidden when stderr is not a terminal).

use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar over the reading of a file, as `(done, total)` calls in
/// bytes (a file read twice counts its bytes twice, so the bar says per cent).
pub fn bytes(file: &Path) -> impl Fn(u64, u64) + Sync {
    let bar = ProgressBar::new(0).with_message(format!("importing {}", file.display()));
    bar.set_style(ProgressStyle::with_template("{msg} {wide_bar} {percent}% ({eta})").expect("valid template"));
    move |done, total| {
        bar.set_length(total);
        bar.set_position(done);
        if done == total {
            bar.finish_and_clear();
        }
    }
}

/// A progress bar over a count.
pub fn count(message: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(0).with_message(message);
    bar.set_style(
        ProgressStyle::with_template("{msg} {wide_bar} {human_pos}/{human_len} ({per_sec}, {eta})")
            .expect("valid template"),
    );
    bar
}

/// `(done, total)` calls that move `bar`.
pub fn of(bar: &ProgressBar) -> impl Fn(u64, u64) + Sync + '_ {
    move |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    }
}

/// Follow job `job` with a progress bar saying `message` until it ends: the
/// job as it ended, or Err with why it failed.
pub async fn follow(db: &crate::store::Db, job: i64, message: &'static str) -> anyhow::Result<crate::store::jobs::Job> {
    let bar = count(message);
    loop {
        let Some(now) = crate::store::jobs::get(db, job).await? else {
            anyhow::bail!("job {job} is gone from the database");
        };
        bar.set_length(now.total as u64);
        bar.set_position(now.done as u64);
        match now.state.as_str() {
            "done" => {
                bar.finish_and_clear();
                return Ok(now);
            }
            "failed" => {
                bar.finish_and_clear();
                anyhow::bail!("job {job} failed: {}", now.error.unwrap_or_default());
            }
            _ => tokio::time::sleep(std::time::Duration::from_millis(500)).await,
        }
    }
}
