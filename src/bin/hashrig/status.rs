//! The live status on stderr, like cgminer's: one line per device and a
//! total, redrawn while a command runs, when stderr is a terminal.
//!
//! Results and notices are printed above it: [`above`] erases the status,
//! lets the line be written, and draws the status again under it, so that
//! nothing printed is ever overwritten.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The status block on the screen: its lines, and how many are drawn.
struct Screen {
    lines: Vec<String>,
    drawn: usize,
}

static SCREEN: Mutex<Screen> = Mutex::new(Screen {
    lines: Vec::new(),
    drawn: 0,
});

fn screen() -> std::sync::MutexGuard<'static, Screen> {
    SCREEN.lock().unwrap_or_else(|e| e.into_inner())
}

/// Moves the cursor back over the drawn status and clears it. The cursor
/// goes to the start of its line first: the terminal's own echo (`^C`)
/// may have moved it, and clearing from there would leave the start of
/// the status's first line on the screen.
fn erase(err: &mut impl Write, s: &mut Screen) {
    if s.drawn > 0 {
        let _ = write!(err, "\r\x1b[{}A\x1b[0J", s.drawn);
        s.drawn = 0;
    }
}

/// Erases the status for good, from any thread: what a forced exit does
/// so that nothing of it is left on the screen.
pub(crate) fn abandon() {
    let mut s = screen();
    s.lines.clear();
    let mut err = std::io::stderr().lock();
    erase(&mut err, &mut s);
    let _ = err.flush();
}

/// Draws the status lines where the cursor is, with the terminal's line
/// wrap off so that each takes exactly one row (a long one is cut at the
/// right margin) and [`erase`] finds them all.
fn draw(err: &mut impl Write, s: &mut Screen) {
    let _ = write!(err, "\x1b[?7l");
    for l in &s.lines {
        let _ = writeln!(err, "\x1b[2K{l}");
    }
    let _ = write!(err, "\x1b[?7h");
    s.drawn = s.lines.len();
    let _ = err.flush();
}

/// Runs `print` (which writes a result or a notice) with the status
/// erased, then draws the status again under what it printed.
pub(crate) fn above<T>(print: impl FnOnce() -> T) -> T {
    let mut s = screen();
    if s.drawn == 0 {
        return print();
    }
    let mut err = std::io::stderr().lock();
    erase(&mut err, &mut s);
    let _ = err.flush();
    drop(err);
    let result = print();
    let _ = std::io::stdout().flush();
    draw(&mut std::io::stderr().lock(), &mut s);
    result
}

use hashrig::engine::{DeviceState, DeviceStats, Engine};
use hashrig::health::{Health, HealthWatch};

/// The running display.
pub(crate) struct Status {
    done: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Status {
    /// Starts the display; `total` is the range's size, when it is finite.
    pub fn start(engine: &Arc<Engine>, total: Option<u64>, health: Arc<HealthWatch>) -> Self {
        Self::with_lines(engine, total, health, Box::new(Vec::new))
    }

    /// Starts the display with `more` lines (pools) under the devices.
    pub fn with_lines(
        engine: &Arc<Engine>,
        total: Option<u64>,
        health: Arc<HealthWatch>,
        more: Box<dyn Fn() -> Vec<String> + Send>,
    ) -> Self {
        let done = Arc::new(AtomicBool::new(false));
        let thread = std::io::stderr().is_terminal().then(|| {
            let (engine, done) = (engine.clone(), done.clone());
            std::thread::spawn(move || {
                let mut next = Instant::now() + Duration::from_millis(500);
                while !done.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(25));
                    if Instant::now() < next {
                        continue;
                    }
                    next += Duration::from_millis(500);
                    let mut lines = status_lines(&engine.stats(), &health.latest(), total);
                    lines.extend(more());
                    let mut s = screen();
                    let mut err = std::io::stderr().lock();
                    erase(&mut err, &mut s);
                    s.lines = lines;
                    draw(&mut err, &mut s);
                }
                let mut s = screen();
                let mut err = std::io::stderr().lock();
                erase(&mut err, &mut s);
                s.lines.clear();
                let _ = err.flush();
            })
        });
        Status { done, thread }
    }

    /// Stops and erases the display.
    pub fn finish(mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One status line: a device's (or the total's) rates and counts.
struct Line<'a> {
    name: &'a str,
    /// The name column's width, the same on every line.
    width: usize,
    rate_5s: f64,
    rate_avg: f64,
    effective: f64,
    solutions: u64,
    stale: u64,
    hardware_errors: u64,
    state: &'a str,
    /// Temperature, power and fan, where known.
    health: String,
}

impl std::fmt::Display for Line<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:<width$} 5s {:>9.2}  avg {:>9.2}  eff {:>9.2} MH/s  found:{} stale:{} HW:{}  {} {}",
            fit(self.name, self.width),
            self.rate_5s / 1e6,
            self.rate_avg / 1e6,
            self.effective / 1e6,
            self.solutions,
            self.stale,
            self.hardware_errors,
            self.state,
            self.health,
            width = self.width
        )
    }
}

/// The widest name column: longer names are cut with an ellipsis.
pub(crate) const NAME_WIDTH_MAX: usize = 48;

/// `name` cut to `width` characters, an ellipsis marking the cut.
pub(crate) fn fit(name: &str, width: usize) -> String {
    if name.chars().count() <= width {
        return name.to_string();
    }
    let mut cut: String = name.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// The status lines: each device, then the total.
fn status_lines(stats: &[DeviceStats], health: &[Health], total: Option<u64>) -> Vec<String> {
    let width = stats
        .iter()
        .map(|d| d.name.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(5, NAME_WIDTH_MAX);
    let mut lines: Vec<String> = stats
        .iter()
        .enumerate()
        .map(|(i, d)| {
            Line {
                name: &d.name,
                width,
                rate_5s: d.rate_5s,
                rate_avg: d.rate_avg,
                effective: d.effective_rate,
                solutions: d.solutions,
                stale: d.stale,
                hardware_errors: d.hardware_errors,
                state: &match d.state {
                    DeviceState::Recovering(_) => {
                        format!("recovering ({})", d.recovery_attempts + 1)
                    }
                    _ => d.state.name().to_string(),
                },
                health: health.get(i).map(Health::brief).unwrap_or_default(),
            }
            .to_string()
        })
        .collect();
    let sum = |f: fn(&DeviceStats) -> f64| stats.iter().map(f).sum::<f64>();
    let count = |f: fn(&DeviceStats) -> u64| stats.iter().map(f).sum::<u64>();
    let hashes = count(|d| d.hashes);
    let done = total.map_or(String::new(), |t| {
        format!("{:.1}% done", 100.0 * hashes as f64 / t as f64)
    });
    lines.push(
        Line {
            name: "total",
            width,
            rate_5s: sum(|d| d.rate_5s),
            rate_avg: sum(|d| d.rate_avg),
            effective: sum(|d| d.effective_rate),
            solutions: count(|d| d.solutions),
            stale: count(|d| d.stale),
            hardware_errors: count(|d| d.hardware_errors),
            state: &done,
            health: String::new(),
        }
        .to_string(),
    );
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(name: &str, width: usize) -> String {
        Line {
            name,
            width,
            rate_5s: 40e6,
            rate_avg: 39e6,
            effective: 41e6,
            solutions: 1,
            stale: 0,
            hardware_errors: 0,
            state: "hashing",
            health: String::new(),
        }
        .to_string()
    }

    /// A long adapter name keeps the columns in line; a longer one than
    /// the widest column is cut with an ellipsis.
    #[test]
    fn columns_line_up_whatever_the_names() {
        let names = ["cpu", "llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan)", "total"];
        let width = names.iter().map(|n| n.chars().count()).max().unwrap();
        let at: Vec<usize> = names
            .iter()
            .map(|n| line(n, width).find(" 5s ").unwrap())
            .collect();
        assert!(at.iter().all(|&a| a == width), "{at:?}");
        let long = "x".repeat(60);
        let cut = fit(&long, NAME_WIDTH_MAX);
        assert_eq!(cut.chars().count(), NAME_WIDTH_MAX);
        assert!(cut.ends_with('…'));
        assert_eq!(fit("cpu", 10), "cpu");
    }
}
