//! The `test` command's progress on stderr: on a terminal, a bar with the current step, a
//! spinner and the elapsed time at the bottom, the run's log lines and step changes printed
//! above it, and tracing output printed above it too (never through it). Elsewhere (a pipe,
//! a file, CI) plain lines.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

/// The bar shown now, for log output to print above.
static SHOWN: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Where the run's progress goes.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar on stderr when it is a terminal, plain lines otherwise.
    pub fn stderr(steps: u64) -> Self {
        if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            Self::drawn_to(steps, ProgressDrawTarget::stderr())
        } else {
            Self { bar: None }
        }
    }

    /// A bar drawn to `target`.
    pub fn drawn_to(steps: u64, target: ProgressDrawTarget) -> Self {
        let bar = ProgressBar::with_draw_target(Some(steps), target);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{bar:22}] {pos}/{len} {wide_msg} {elapsed_precise}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("#>-"),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        *SHOWN.lock().unwrap_or_else(|p| p.into_inner()) = Some(bar.clone());
        Self { bar: Some(bar) }
    }

    /// A line of output, above the bar.
    pub fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    /// `done` steps finished, `current` in progress.
    pub fn step(&self, done: u64, current: &str) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            bar.set_message(current.to_owned());
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
            *SHOWN.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
    }
}

/// Tracing's writer: each event goes to stderr whole, with the bar (if one is shown)
/// cleared while it is written and drawn again below it.
#[derive(Clone, Copy, Default)]
pub struct AboveTheBar;

/// One event's text, written when tracing is done with it.
pub struct EventText(Vec<u8>);

impl Write for EventText {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for EventText {
    fn drop(&mut self) {
        let text = std::mem::take(&mut self.0);
        let write = || {
            let _ = std::io::stderr().lock().write_all(&text);
        };
        let shown = SHOWN.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match shown {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for AboveTheBar {
    type Writer = EventText;

    fn make_writer(&'a self) -> Self::Writer {
        EventText(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indicatif::{InMemoryTerm, TermLike};

    #[test]
    fn lines_go_above_the_bar_which_shows_the_step_and_time() {
        let term = InMemoryTerm::new(6, 100);
        let progress =
            Progress::drawn_to(11, ProgressDrawTarget::term_like(Box::new(term.clone())));
        progress.line("[#-] 1/11 Calculate requirements Complete");
        progress.step(3, "Create session");
        progress.line("    12:00:01 Creating a session on vastai");
        if let Some(bar) = &progress.bar {
            bar.tick();
        }
        let screen = term.contents();
        let lines: Vec<&str> = screen.lines().collect();
        let bar_at = lines
            .iter()
            .position(|l| l.contains("3/11 Create session"))
            .unwrap_or_else(|| panic!("no bar in {screen:?}"));
        let log_at = lines
            .iter()
            .position(|l| l.contains("Creating a session on vastai"))
            .unwrap();
        assert!(log_at < bar_at, "{screen}");
        assert!(lines[bar_at].contains("00:00:0"), "elapsed time: {screen}");
        assert_eq!(term.width(), 100);
        drop(progress);
        assert!(
            !term.contents().contains("3/11"),
            "the bar is cleared at the end"
        );
        assert!(SHOWN.lock().unwrap().is_none());
    }
}
