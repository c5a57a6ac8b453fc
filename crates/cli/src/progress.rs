//! Progress of long work on standard error: the events of `acquire` and `cleanup` ([`events`]), and
//! the blocks of `image` ([`Throttle`], used by the image command's own bar).
//!
//! How it is shown is chosen once per run ([`Style::of_run`]):
//! - `--quiet`: warnings only; the command prints errors and the result.
//! - standard error a terminal, without `-v`: an indicatif line per volume (its step, the snapshot
//!   it waits for with EC2's progress, the time since the instance started, an estimate of the time
//!   left), with the steps, warnings and removals printed above the lines.
//! - otherwise (a file, a pipe, or `-v`): plain lines, each after the UTC time; a snapshot waited for
//!   is printed when its state or progress changes, not at every poll (every poll with `-v`).
//!
//! Every value shown comes from the plan, the inventory or AWS: each line goes through
//! [`custody_plan::text`]'s escaping, so nothing in it can drive the terminal or pass for a line of
//! its own. [`Tracker`] decides what is printed and holds what the lines per volume show; it is pure
//! (the time is given), and tested as such.

use custody_acquire::{Event, Progress, StepOutline};
use custody_plan::text::{safe, safe_indented};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal as _;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// How progress is shown in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// Warnings only.
    Quiet,
    /// indicatif lines on a terminal.
    Bars,
    /// Plain lines after the UTC time; `verbose`: every poll and retry.
    Lines { verbose: bool },
}

impl Style {
    /// The style `--quiet`, `-v` and standard error ask for.
    pub(crate) fn of_run() -> Style {
        let globals = crate::globals::get();
        if globals.quiet {
            Style::Quiet
        } else if globals.verbose == 0 && std::io::stderr().is_terminal() {
            Style::Bars
        } else {
            Style::Lines { verbose: globals.verbose > 0 }
        }
    }
}

/// The UTC time that starts a plain line: `2026-12-05T02:14:03Z `.
pub(crate) fn stamp(now: chrono::DateTime<chrono::Utc>) -> String {
    now.format("%Y-%m-%dT%H:%M:%SZ ").to_string()
}

/// Prints a progress line that is not an event's (`collecting the inventory…`) on standard error:
/// nothing with `--quiet`, after the UTC time otherwise. `line` must be escaped already.
pub(crate) fn say(line: &str) {
    if crate::globals::get().quiet {
        return;
    }
    eprintln!("{}{line}", stamp(chrono::Utc::now()));
}

/// `d` as `3m12s`, `1h04m`, `45s`.
pub(crate) fn short_duration(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, _) => format!("{h}h{m:02}m"),
    }
}

/// An estimate: `~4m`, `~45s`, `~1h20m` (rounded up to the minute past a minute).
pub(crate) fn approx_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        return format!("~{s}s");
    }
    let minutes = s.div_ceil(60);
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("~{m}m"),
        (h, 0) => format!("~{h}h"),
        (h, m) => format!("~{h}h{m:02}m"),
    }
}

/// EC2's `Progress` (`42%`) as a number, when it is one.
pub(crate) fn percent(progress: &str) -> Option<f64> {
    let p: f64 = progress.trim().trim_end_matches('%').trim().parse().ok()?;
    (0.0..=100.0).contains(&p).then_some(p)
}

/// The time left of a snapshot, from the rate of its progress readings: none until two readings
/// differ, nor when progress went backwards.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Eta {
    /// The first reading: when, and the percentage.
    first: Option<(Duration, f64)>,
    /// The latest reading that differed from the first.
    latest: Option<(Duration, f64)>,
}

impl Eta {
    /// Notes that the snapshot was at `percent` at `at`.
    pub(crate) fn reading(&mut self, at: Duration, percent: f64) {
        match self.first {
            None => self.first = Some((at, percent)),
            Some((_, first)) if percent != first => self.latest = Some((at, percent)),
            Some(_) => {}
        }
    }

    /// The time left after the latest reading, at the rate since the first.
    pub(crate) fn remaining(&self) -> Option<Duration> {
        let ((t0, p0), (t1, p1)) = (self.first?, self.latest?);
        let elapsed = t1.checked_sub(t0)?.as_secs_f64();
        let rate = (p1 - p0) / elapsed;
        if !(rate.is_finite() && rate > 0.0) {
            return None;
        }
        Some(Duration::from_secs_f64(((100.0 - p1) / rate).max(0.0)))
    }

    /// The time left at `now`: [`Eta::remaining`] less the time since the latest reading.
    pub(crate) fn remaining_at(&self, now: Duration) -> Option<Duration> {
        let (at, _) = self.latest?;
        Some(self.remaining()?.saturating_sub(now.saturating_sub(at)))
    }
}

/// The snapshot a volume waits for.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Waited {
    pub id: String,
    pub state: String,
    pub progress: Option<String>,
    pub eta: Eta,
}

/// What one volume's line shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct VolumeView {
    pub instance: String,
    pub volume: String,
    /// The step under way (1-based; 0: none yet), of `steps` (the instance's steps and the volume's).
    pub step: usize,
    pub steps: usize,
    pub title: String,
    pub snapshot: Option<Waited>,
    /// When the instance's run started.
    pub started: Duration,
}

/// What is printed, and what each volume's line shows.
#[derive(Debug)]
pub(crate) struct Tracker {
    style: Style,
    /// Each instance's steps, in order.
    outlines: BTreeMap<String, Vec<StepOutline>>,
    /// The volumes, in the order their runs started.
    pub volumes: Vec<VolumeView>,
    /// What each snapshot was last printed as: state and progress.
    printed: BTreeMap<String, (String, Option<String>)>,
    /// The calls whose retrying was told (step, API).
    retried: BTreeSet<(String, String)>,
}

impl Tracker {
    pub(crate) fn new(style: Style) -> Self {
        Tracker {
            style,
            outlines: BTreeMap::new(),
            volumes: Vec::new(),
            printed: BTreeMap::new(),
            retried: BTreeSet::new(),
        }
    }

    /// Takes `event`, `at` the time since the run started: the lines to print (escaped, without the
    /// time).
    pub(crate) fn event(&mut self, event: &Event, at: Duration) -> Vec<String> {
        let verbose = self.style == Style::Lines { verbose: true };
        let quiet = self.style == Style::Quiet;
        let lines = self.style != Style::Bars;
        let line = match event {
            Event::Started { instance, volumes, steps } => {
                self.started(instance, volumes, steps, at);
                None
            }
            Event::Step { instance, step, title, volume } => {
                self.step(instance, step, title, volume.as_deref());
                Some(format!("[{instance}] {step}: {title}"))
            }
            Event::Reused { instance, step, how } => Some(format!("[{instance}] {step}: already done ({how})")),
            Event::Skipped { instance, step, why } => Some(format!("[{instance}] {step}: skipped: {why}")),
            Event::Waiting { step, volume, snapshot, state, progress } => {
                let eta = self.waiting(step, volume.as_deref(), snapshot, state, progress.as_deref(), at);
                let now = (state.clone(), progress.clone());
                let changed = self.printed.get(snapshot) != Some(&now);
                self.printed.insert(snapshot.clone(), now);
                let shown = match progress {
                    Some(p) => format!("{state} {p}"),
                    None => state.clone(),
                };
                let eta = eta.map(|d| format!(", ETA {}", approx_duration(d))).unwrap_or_default();
                (lines && (changed || verbose)).then(|| format!("  {step}: waiting for {snapshot} ({shown}{eta})"))
            }
            Event::Resolved { instance, placeholder, id } => {
                verbose.then(|| format!("[{instance}] {placeholder} is {id}"))
            }
            Event::Retrying { step, api, attempt, why } => {
                let first = self.retried.insert((step.clone(), api.clone()));
                (first || verbose).then(|| format!("  {step}: {api} retried (attempt {attempt}): {why}"))
            }
            Event::Removed { what } => Some(format!("  removed {what}")),
            Event::Warning { message } => return vec![safe_indented(&format!("warning: {message}"), "    ")],
        };
        match line {
            Some(line) if !quiet => vec![safe_indented(&line, "    ")],
            _ => Vec::new(),
        }
    }

    fn started(&mut self, instance: &str, volumes: &[String], steps: &[StepOutline], at: Duration) {
        self.outlines.insert(instance.to_string(), steps.to_vec());
        for volume in volumes {
            let count = steps.iter().filter(|s| s.volume.as_deref().is_none_or(|v| v == volume)).count();
            let view = VolumeView {
                instance: instance.to_string(),
                volume: volume.clone(),
                steps: count,
                started: at,
                ..VolumeView::default()
            };
            match self.volumes.iter_mut().find(|v| &v.volume == volume) {
                Some(existing) => *existing = view,
                None => self.volumes.push(view),
            }
        }
    }

    /// A step of `volume` starts, or, of none, a step of the instance (so of each of its volumes).
    fn step(&mut self, instance: &str, step: &str, title: &str, volume: Option<&str>) {
        let Some(outline) = self.outlines.get(instance) else { return };
        for view in self.volumes.iter_mut().filter(|v| v.instance == instance) {
            if volume.is_some_and(|v| v != view.volume) {
                continue;
            }
            let mine = outline.iter().filter(|s| s.volume.as_deref().is_none_or(|v| v == view.volume));
            if let Some(n) = mine.clone().position(|s| s.step == step) {
                view.step = n + 1;
            }
            view.title = title.to_string();
            view.snapshot = None;
        }
    }

    /// A poll of `snapshot`: the view of its volume updated. The time left, when known.
    fn waiting(
        &mut self,
        step: &str,
        volume: Option<&str>,
        snapshot: &str,
        state: &str,
        progress: Option<&str>,
        at: Duration,
    ) -> Option<Duration> {
        let view = match volume {
            Some(volume) => self.volumes.iter_mut().find(|v| v.volume == volume)?,
            None => {
                let outline = &self.outlines;
                self.volumes.iter_mut().find(|v| {
                    outline.get(&v.instance).is_some_and(|o| {
                        o.iter().any(|s| s.step == step && s.volume.as_deref().is_none_or(|x| x == v.volume))
                    }) && v.snapshot.as_ref().is_none_or(|s| s.id == snapshot)
                })?
            }
        };
        let waited = view.snapshot.get_or_insert_with(Waited::default);
        if waited.id != snapshot {
            *waited = Waited { id: snapshot.to_string(), ..Waited::default() };
        }
        waited.state = state.to_string();
        waited.progress = progress.map(str::to_string);
        if let Some(p) = progress.and_then(percent) {
            waited.eta.reading(at, p);
        }
        waited.eta.remaining_at(at)
    }
}

/// One volume's line: `vol-… step 3/9 <title> | snap-… 42% | elapsed 3m12s | ETA ~4m`, escaped, the
/// title shortened so that the line fits in `width` columns.
pub(crate) fn bar_line(view: &VolumeView, now: Duration, width: usize) -> String {
    let head = if view.step == 0 {
        format!("{} starting", safe(&view.volume))
    } else {
        format!("{} step {}/{}", safe(&view.volume), view.step, view.steps)
    };
    let mut tail = String::new();
    if let Some(s) = &view.snapshot {
        let shown = s.progress.as_deref().unwrap_or(&s.state);
        tail.push_str(&format!(" | {} {}", safe(&s.id), safe(shown)));
    }
    tail.push_str(&format!(" | elapsed {}", short_duration(now.saturating_sub(view.started))));
    if let Some(eta) = view.snapshot.as_ref().and_then(|s| s.eta.remaining_at(now)) {
        tail.push_str(&format!(" | ETA {}", approx_duration(eta)));
    }
    let title = safe(&view.title).into_owned();
    let room = width.saturating_sub(head.chars().count() + tail.chars().count() + 1).max(12);
    let title = if title.chars().count() > room {
        format!("{}…", title.chars().take(room - 1).collect::<String>())
    } else {
        title
    };
    if title.is_empty() {
        format!("{head}{tail}")
    } else {
        format!("{head} {title}{tail}")
    }
}

/// The events of a run, shown in this run's [`Style`] (none with `--json`, whose reader reads the
/// result). The lines per volume are cleared when the last copy of the answer is dropped (the
/// executor's end), before the result is printed.
pub(crate) fn events(json: bool) -> Progress {
    if json {
        return Progress::silent();
    }
    let style = Style::of_run();
    let view = Arc::new(View {
        tracker: Mutex::new(Tracker::new(style)),
        started: Instant::now(),
        bars: (style == Style::Bars).then(|| Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            lines: Mutex::new(BTreeMap::new()),
        }),
    });
    if view.bars.is_some() {
        tick(Arc::downgrade(&view));
    }
    Progress::new(move |event| view.show(event))
}

/// The view of one run's events.
struct View {
    tracker: Mutex<Tracker>,
    started: Instant,
    bars: Option<Bars>,
}

/// The indicatif lines, one per volume.
struct Bars {
    multi: MultiProgress,
    lines: Mutex<BTreeMap<String, ProgressBar>>,
}

impl View {
    fn show(&self, event: &Event) {
        let Ok(mut tracker) = self.tracker.lock() else { return };
        let lines = tracker.event(event, self.started.elapsed());
        let stamp = stamp(chrono::Utc::now());
        for line in lines {
            match &self.bars {
                Some(bars) if !bars.is_empty() => {
                    let _ = bars.multi.println(format!("{stamp}{line}"));
                }
                _ => eprintln!("{stamp}{line}"),
            }
        }
        self.draw(&tracker);
    }

    /// Each volume's line, as the tracker has it now.
    fn draw(&self, tracker: &Tracker) {
        let Some(bars) = &self.bars else { return };
        let Ok(mut lines) = bars.lines.lock() else { return };
        let width = bars.multi_width();
        let now = self.started.elapsed();
        for view in &tracker.volumes {
            let bar = lines.entry(view.volume.clone()).or_insert_with(|| {
                let style = ProgressStyle::with_template("{spinner} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner());
                bars.multi.add(ProgressBar::new_spinner().with_style(style))
            });
            bar.set_message(bar_line(view, now, width.saturating_sub(2)));
            bar.tick();
        }
    }
}

impl Bars {
    fn is_empty(&self) -> bool {
        self.lines.lock().map(|l| l.is_empty()).unwrap_or(true)
    }

    /// The terminal's width (80 when unknown).
    fn multi_width(&self) -> usize {
        terminal_width().unwrap_or(80)
    }
}

impl Drop for View {
    fn drop(&mut self) {
        if let Some(bars) = &self.bars {
            if let Ok(lines) = bars.lines.lock() {
                for bar in lines.values() {
                    bar.finish_and_clear();
                }
            }
            let _ = bars.multi.clear();
        }
    }
}

/// Redraws the lines every second (the elapsed time moves), until the view is dropped.
fn tick(view: Weak<View>) {
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_secs(1));
        let Some(view) = view.upgrade() else { return };
        let tracker = view.tracker.lock();
        if let Ok(tracker) = &tracker {
            view.draw(tracker);
        }
        drop(tracker);
    });
}

/// The width of the terminal standard error is.
fn terminal_width() -> Option<usize> {
    console::Term::stderr().size_checked().map(|(_, columns)| usize::from(columns))
}

/// When a plain line of a transfer is due: at most every `every`, or when another tenth is done.
#[derive(Debug, Clone)]
pub(crate) struct Throttle {
    every: Duration,
    last: Option<Duration>,
    tenth: u64,
}

impl Throttle {
    pub(crate) fn new(every: Duration) -> Self {
        Throttle { every, last: None, tenth: 0 }
    }

    /// Whether a line is due at `at` with `done` of `total`: the first, the last, one every `every`,
    /// and one for each tenth done.
    pub(crate) fn due(&mut self, at: Duration, done: u64, total: u64) -> bool {
        let tenth = done.saturating_mul(10).checked_div(total).unwrap_or(10);
        let due = match self.last {
            None => true,
            Some(last) => done >= total || tenth > self.tenth || at.saturating_sub(last) >= self.every,
        };
        if due {
            self.last = Some(at);
            self.tenth = tenth;
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn started(volumes: &[&str]) -> Event {
        let mut steps = vec![
            StepOutline { step: "assume".into(), volume: None },
            StepOutline { step: "create-snapshots".into(), volume: None },
        ];
        for v in volumes {
            steps.push(StepOutline { step: format!("copy:{v}"), volume: Some(v.to_string()) });
            steps.push(StepOutline { step: format!("delete:{v}"), volume: Some(v.to_string()) });
        }
        Event::Started { instance: "i-1".into(), volumes: volumes.iter().map(|v| v.to_string()).collect(), steps }
    }

    fn waiting(snapshot: &str, progress: &str) -> Event {
        Event::Waiting {
            step: "copy:vol-1".into(),
            volume: Some("vol-1".into()),
            snapshot: snapshot.into(),
            state: "pending".into(),
            progress: Some(progress.into()),
        }
    }

    fn step(step: &str, volume: Option<&str>, title: &str) -> Event {
        Event::Step { instance: "i-1".into(), step: step.into(), title: title.into(), volume: volume.map(String::from) }
    }

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn a_plain_line_starts_with_the_utc_time() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-05T03:14:03.123+01:00").map(|t| t.to_utc());
        assert_eq!(at.map(stamp).ok().as_deref(), Some("2026-12-05T02:14:03Z "));
    }

    #[test]
    fn a_waiting_snapshot_is_printed_when_its_state_or_progress_changes() {
        let mut t = Tracker::new(Style::Lines { verbose: false });
        t.event(&started(&["vol-1"]), S(0));
        assert_eq!(t.event(&waiting("snap-1", "10%"), S(0)), vec!["  copy:vol-1: waiting for snap-1 (pending 10%)"]);
        assert!(t.event(&waiting("snap-1", "10%"), S(30)).is_empty());
        assert!(t.event(&waiting("snap-1", "10%"), S(60)).is_empty());
        assert_eq!(
            t.event(&waiting("snap-1", "40%"), S(90)),
            vec!["  copy:vol-1: waiting for snap-1 (pending 40%, ETA ~3m)"]
        );
    }

    #[test]
    fn verbose_prints_every_poll_and_every_retry() {
        let mut t = Tracker::new(Style::Lines { verbose: true });
        t.event(&started(&["vol-1"]), S(0));
        assert_eq!(t.event(&waiting("snap-1", "10%"), S(0)).len(), 1);
        assert_eq!(t.event(&waiting("snap-1", "10%"), S(30)).len(), 1);
        let retry = |attempt| Event::Retrying {
            step: "copy:vol-1".into(),
            api: "ec2:CopySnapshot".into(),
            attempt,
            why: "throttled".into(),
        };
        assert_eq!(t.event(&retry(1), S(31)).len(), 1);
        assert_eq!(t.event(&retry(2), S(32)).len(), 1);
        let mut quieter = Tracker::new(Style::Lines { verbose: false });
        assert_eq!(quieter.event(&retry(1), S(31)).len(), 1);
        assert!(quieter.event(&retry(2), S(32)).is_empty());
    }

    #[test]
    fn quiet_prints_warnings_only() {
        let mut t = Tracker::new(Style::Quiet);
        assert!(t.event(&started(&["vol-1"]), S(0)).is_empty());
        assert!(t.event(&step("assume", None, "Assume the source role"), S(0)).is_empty());
        assert!(t.event(&waiting("snap-1", "10%"), S(0)).is_empty());
        assert!(t.event(&Event::Removed { what: "snapshot snap-1".into() }, S(1)).is_empty());
        assert_eq!(t.event(&Event::Warning { message: "left: snap-1".into() }, S(2)), vec!["warning: left: snap-1"]);
    }

    #[test]
    fn on_a_terminal_polls_go_to_the_volume_lines_and_steps_above_them() {
        let mut t = Tracker::new(Style::Bars);
        t.event(&started(&["vol-1", "vol-2"]), S(0));
        assert_eq!(
            t.event(&step("create-snapshots", None, "Snapshot i-1"), S(1)),
            vec!["[i-1] create-snapshots: Snapshot i-1"]
        );
        assert_eq!(t.volumes.iter().map(|v| (v.step, v.steps)).collect::<Vec<_>>(), vec![(2, 4), (2, 4)]);
        t.event(&step("copy:vol-1", Some("vol-1"), "Copy snap-0a to a new snapshot"), S(60));
        assert!(t.event(&waiting("snap-2", "42%"), S(72)).is_empty());
        assert_eq!(
            bar_line(&t.volumes[0], S(192), 200),
            "vol-1 step 3/4 Copy snap-0a to a new snapshot | snap-2 42% | elapsed 3m12s"
        );
        t.event(&waiting("snap-2", "50%"), S(192));
        assert_eq!(
            bar_line(&t.volumes[0], S(192), 200),
            "vol-1 step 3/4 Copy snap-0a to a new snapshot | snap-2 50% | elapsed 3m12s | ETA ~13m"
        );
        assert_eq!(bar_line(&t.volumes[1], S(192), 200), "vol-2 step 2/4 Snapshot i-1 | elapsed 3m12s");
        assert_eq!(
            bar_line(&t.volumes[0], S(192), 40),
            "vol-1 step 3/4 Copy snap-0… | snap-2 50% | elapsed 3m12s | ETA ~13m"
        );
    }

    #[test]
    fn a_snapshot_of_an_instance_step_goes_to_its_volume_line() {
        let mut t = Tracker::new(Style::Bars);
        t.event(&started(&["vol-1", "vol-2"]), S(0));
        t.event(&step("create-snapshots", None, "Snapshot i-1"), S(0));
        let poll = |volume: &str, snapshot: &str| Event::Waiting {
            step: "create-snapshots".into(),
            volume: Some(volume.into()),
            snapshot: snapshot.into(),
            state: "pending".into(),
            progress: Some("5%".into()),
        };
        t.event(&poll("vol-2", "snap-b"), S(1));
        t.event(&poll("vol-1", "snap-a"), S(1));
        let shown: Vec<_> = t.volumes.iter().map(|v| v.snapshot.as_ref().map(|s| s.id.as_str())).collect();
        assert_eq!(shown, vec![Some("snap-a"), Some("snap-b")]);
    }

    #[test]
    fn real_ids_are_shown_as_the_events_give_them_and_placeholders_only_with_verbose() {
        let resolved =
            Event::Resolved { instance: "i-1".into(), placeholder: "snap-temp-0a".into(), id: "snap-0123".into() };
        assert!(Tracker::new(Style::Lines { verbose: false }).event(&resolved, S(0)).is_empty());
        assert!(Tracker::new(Style::Bars).event(&resolved, S(0)).is_empty());
        assert_eq!(
            Tracker::new(Style::Lines { verbose: true }).event(&resolved, S(0)),
            vec!["[i-1] snap-temp-0a is snap-0123"]
        );
        // The executor's titles name real ids (custody_acquire::resolve::Resolved::substitute): the
        // line per volume shows the title of the step under way, and the snapshot each poll names.
        let mut t = Tracker::new(Style::Bars);
        t.event(&started(&["vol-1"]), S(0));
        t.event(&step("copy:vol-1", Some("vol-1"), "Copy snap-0a to a new snapshot"), S(0));
        t.event(&waiting("snap-0123", "1%"), S(0));
        assert!(!bar_line(&t.volumes[0], S(0), 200).contains("snap-temp"));
    }

    #[test]
    fn hostile_values_are_escaped_in_lines_and_volume_lines() {
        let mut t = Tracker::new(Style::Lines { verbose: false });
        t.event(&started(&["vol-1\u{1b}[2J"]), S(0));
        let lines = t.event(&step("copy:vol-1", Some("vol-1\u{1b}[2J"), "Copy\u{1b}]8;;http://x\u{7} a\nb"), S(0));
        assert_eq!(lines, vec!["[i-1] copy:vol-1: Copy\\u{1b}]8;;http://x\\u{7} a\n    b"]);
        let polled = Event::Waiting {
            step: "s".into(),
            volume: Some("vol-1\u{1b}[2J".into()),
            snapshot: "snap-1\u{202e}".into(),
            state: "pending\r".into(),
            progress: Some("9%\u{9b}1A".into()),
        };
        assert_eq!(t.event(&polled, S(1)), vec!["  s: waiting for snap-1\\u{202e} (pending\\r 9%\\u{9b}1A)"]);
        let line = bar_line(&t.volumes[0], S(2), 200);
        assert!(!line.chars().any(custody_plan::text::is_hazard), "{line:?}");
        assert!(line.starts_with("vol-1\\u{1b}[2J step 0/0") || line.starts_with("vol-1\\u{1b}[2J"), "{line}");
    }

    #[test]
    fn the_estimate_waits_for_two_readings_that_differ() {
        let mut eta = Eta::default();
        assert_eq!(eta.remaining(), None);
        eta.reading(S(0), 10.0);
        eta.reading(S(30), 10.0);
        assert_eq!(eta.remaining(), None);
        eta.reading(S(60), 40.0);
        // 30 points in 60 s: the 60 points left take 120 s.
        assert_eq!(eta.remaining(), Some(S(120)));
        assert_eq!(eta.remaining_at(S(90)), Some(S(90)));
        assert_eq!(eta.remaining_at(S(500)), Some(S(0)));
        let mut backwards = Eta::default();
        backwards.reading(S(0), 50.0);
        backwards.reading(S(10), 40.0);
        assert_eq!(backwards.remaining(), None);
    }

    #[test]
    fn durations_and_percentages_read_as_written() {
        assert_eq!(short_duration(S(45)), "45s");
        assert_eq!(short_duration(S(192)), "3m12s");
        assert_eq!(short_duration(S(3840)), "1h04m");
        assert_eq!(approx_duration(S(45)), "~45s");
        assert_eq!(approx_duration(S(200)), "~4m");
        assert_eq!(approx_duration(S(4800)), "~1h20m");
        assert_eq!(approx_duration(S(7200)), "~2h");
        assert_eq!(percent("42%"), Some(42.0));
        assert_eq!(percent("99.5%"), Some(99.5));
        assert_eq!(percent("n/a"), None);
        assert_eq!(percent("120%"), None);
    }

    #[test]
    fn a_transfer_line_is_due_every_ten_seconds_or_tenth() {
        let mut t = Throttle::new(S(10));
        assert!(t.due(S(0), 0, 100));
        assert!(!t.due(S(3), 5, 100));
        assert!(t.due(S(4), 10, 100));
        assert!(!t.due(S(9), 12, 100));
        assert!(t.due(S(14), 13, 100));
        assert!(!t.due(S(15), 14, 100));
        assert!(t.due(S(16), 100, 100));
    }
}
