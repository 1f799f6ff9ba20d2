//! indicatif progress on stderr; silent when stderr is not a terminal or with --quiet.
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

pub struct Progress {
    enabled: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        Self {
            enabled: !quiet && std::io::stderr().is_terminal(),
            bar: Mutex::new(None),
        }
    }

    fn replace(&self, bar: Option<ProgressBar>) {
        if let Some(old) = std::mem::replace(&mut *self.bar.lock().unwrap(), bar) {
            old.finish_and_clear();
        }
    }

    pub fn spinner(&self, message: &str) {
        if !self.enabled {
            return;
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(ProgressStyle::with_template("{spinner} {msg} {elapsed}").unwrap());
        bar.set_message(message.to_string());
        bar.enable_steady_tick(Duration::from_millis(100));
        self.replace(Some(bar));
    }

    pub fn clear(&self) {
        self.replace(None);
    }
}

impl crate::measure::Progress for Progress {
    fn start_measuring(&self, rounds: u64) {
        if !self.enabled {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(rounds), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("measuring {bar:40} {pos}/{len} rounds {elapsed}/{eta}").unwrap(),
        );
        self.replace(Some(bar));
    }

    /// Re-plan: what is left to do from here on.
    fn set_remaining(&self, rounds: u64) {
        if let Some(bar) = &*self.bar.lock().unwrap() {
            bar.set_length(bar.position() + rounds);
        }
    }

    fn advance(&self, n: u64) {
        if let Some(bar) = &*self.bar.lock().unwrap() {
            bar.inc(n);
        }
    }

    fn finish_measuring(&self) {
        self.replace(None);
    }
}
