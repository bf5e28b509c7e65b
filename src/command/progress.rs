//! The progress bar publish steps report to, drawn on stderr when
//! `Global::progress` allows it (colmena's `progress/` is the model: the
//! domain reports, the command draws).

use std::sync::Mutex;

use crate::publish::progress::{Phase, Progress, Silent};

use super::output::Global;

/// A bar per phase, drawn by indicatif.
#[derive(Default)]
pub struct Bar {
    current: Mutex<Option<indicatif::ProgressBar>>,
}

impl Bar {
    fn with<R>(&self, f: impl FnOnce(&mut Option<indicatif::ProgressBar>) -> R) -> R {
        let mut guard = self.current.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    }
}

fn template(phase: Phase) -> &'static str {
    match phase {
        Phase::Upload => "uploading {pos}/{len} object files [{bar:30}] {per_sec} {eta}",
    }
}

impl Progress for Bar {
    fn start(&self, phase: Phase, total: u64) {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(template(phase))
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        self.with(|current| *current = Some(bar));
    }

    fn advance(&self) {
        self.with(|current| current.as_ref().map(|b| b.inc(1)));
    }

    fn finish(&self) {
        self.with(|current| current.take().map(|b| b.finish_and_clear()));
    }
}

/// The progress a command reports to: a bar, or nothing.
pub fn for_global(global: Global) -> Box<dyn Progress> {
    if global.progress() {
        Box::new(Bar::default())
    } else {
        Box::new(Silent)
    }
}
