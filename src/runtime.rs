//! The event loop: one `select!` over the terminal's events, the worker's events, a
//! tick (only while something animates) and the signals that must restore the
//! terminal. It draws only when the state says it changed, so an idle screen costs
//! no CPU and writes nothing.

mod ansi16;
mod term;

use std::io::{Stdout, stdout};
use std::time::{Duration, Instant};

use color_eyre::eyre::{Result, WrapErr};
use futures_util::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{Event as TermEvent, EventStream};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;

use crate::api::{Client, ClientConfig};
use crate::app::{self, Command, Event, Msg, State};
use crate::{ui, worker};
pub use term::{osc52, restore};

type Term = Terminal<CrosstermBackend<ansi16::Ansi16<Stdout>>>;

fn enter(mouse: bool) -> Result<Term> {
    // The settings folded NO_COLOR into the theme already (mono unless --theme): crossterm
    // must not drop the colours a chosen theme asks for on its own reading of it.
    ratatui::crossterm::style::force_color_output(true);
    term::take(mouse)?;
    Terminal::new(CrosstermBackend::new(ansi16::Ansi16::new(stdout())))
        .wrap_err("cannot start drawing")
}

/// Restore the terminal before the panic report is printed (color-eyre's hook, installed
/// earlier, then prints it on a sane screen).
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // The log first: the report below goes to a terminal that may be gone.
        tracing::error!(%info, "panic");
        restore();
        previous(info);
    }));
}

/// What the browser runs against.
pub struct Session {
    pub endpoint: String,
    pub workspaces: Vec<String>,
    pub concurrency: usize,
    /// The transfer queue is saved for a resume. Off for the demo: its server and data
    /// live only as long as this process, so unfinished transfers are cancelled on quit
    /// and a hang-up ends it instead of finishing them without a screen.
    pub persist_queue: bool,
    /// The demo's throwaway session key, shown so the CLI can be pointed at its server.
    /// Never a real key: those are not shown.
    pub demo_key: Option<String>,
    /// Theme, time zone, keys, mouse, download folder: from the config's layers.
    pub prefs: crate::config::Prefs,
}

/// How the browser ended: the process's exit status follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// `q` (answered `y` when transfers ran).
    Quit,
    /// Ctrl-C (as SIGINT) or a signal: exit 128 + the signal's number.
    Signal(i32),
}

/// How long quitting waits for the cancelled transfers to stop (and remove their partial
/// files) before it lets the runtime drop what is left.
const STOP_WITHIN: Duration = Duration::from_millis(400);

/// Run the TUI until the user quits or a signal ends it. The HTTP client is built from
/// `cfg` only after the first frame (see [`Worker`]). The terminal is restored before
/// the worker is stopped, so the user's shell is back while transfers wind down.
pub async fn run(cfg: ClientConfig, session: Session) -> Result<Ended> {
    // Listening before the terminal is taken: a signal in between would otherwise end
    // the process with the terminal raw.
    let mut signals = Signals {
        term: signal(SignalKind::terminate())?,
        hup: signal(SignalKind::hangup())?,
        int: signal(SignalKind::interrupt())?,
    };
    let mut terminal = enter(session.prefs.mouse)?;
    let persist_queue = session.persist_queue;
    let (result, worker) = run_loop(&mut terminal, cfg, session, &mut signals).await;
    // A hang-up restored it then, as far as a dead terminal allows, and it is left alone
    // since (a second "leave the alternate screen" would move a live one's cursor).
    if !matches!(result, Ok(Ended::Signal(libc::SIGHUP))) {
        restore();
    }
    if let Some(worker) = worker {
        // A kept queue keeps the transfers' partial files for the resume: they are only
        // dropped. Without one they are cancelled, which removes them.
        let at = Instant::now();
        worker.stop(!persist_queue, STOP_WITHIN).await;
        tracing::debug!(ms = at.elapsed().as_millis(), "the worker stopped");
    }
    result
}

fn active_transfers(state: &State) -> usize {
    state.transfers.iter().filter(|t| t.is_active()).count()
}

/// The worker, once it has its HTTP client. Building one reads the system's CA
/// certificates (~150 files): that takes longer than drawing the first frame, so it is
/// done on a blocking thread after it, and the commands of the meantime wait here, in
/// order.
struct Worker {
    starting: Option<JoinHandle<Result<Channels, String>>>,
    commands: Option<UnboundedSender<Command>>,
    events: Option<UnboundedReceiver<Event>>,
    waiting: Vec<Command>,
}

type Channels = (UnboundedSender<Command>, UnboundedReceiver<Event>);

impl Worker {
    fn start(cfg: ClientConfig, concurrency: usize, queue: worker::Queue) -> Self {
        let starting = tokio::spawn(async move {
            let client = tokio::task::spawn_blocking(move || Client::new(cfg))
                .await
                .map_err(|e| format!("setting up the HTTP client stopped: {e}"))?
                .map_err(|e| format!("cannot set up the HTTP client: {e}"))?;
            Ok(worker::spawn(client, concurrency, queue))
        });
        Worker {
            starting: Some(starting),
            commands: None,
            events: None,
            waiting: Vec::new(),
        }
    }

    fn send(&mut self, cmd: Command) -> Result<()> {
        match &self.commands {
            Some(tx) => tx.send(cmd).wrap_err("the worker has stopped"),
            None => {
                self.waiting.push(cmd);
                Ok(())
            }
        }
    }

    /// The worker's next event; an error if it could not start. Once it has stopped
    /// (only after this loop drops its commands, or on a panic), never. Cancel-safe:
    /// `select!` may drop it at any await.
    async fn recv(&mut self) -> Result<Event> {
        if let Some(starting) = &mut self.starting {
            let started = starting.await;
            self.starting = None;
            let (tx, rx) = match started {
                Ok(Ok(channels)) => channels,
                Ok(Err(why)) => return Err(color_eyre::eyre::eyre!(why)),
                Err(e) => return Err(color_eyre::eyre::eyre!("the worker did not start: {e}")),
            };
            for cmd in self.waiting.drain(..) {
                tx.send(cmd).wrap_err("the worker has stopped")?;
            }
            self.commands = Some(tx);
            self.events = Some(rx);
        }
        if let Some(rx) = &mut self.events {
            match rx.recv().await {
                Some(ev) => return Ok(ev),
                None => self.events = None,
            }
        }
        std::future::pending().await
    }

    /// An event already waiting, without waiting for one.
    fn try_recv(&mut self) -> Option<Event> {
        self.events.as_mut()?.try_recv().ok()
    }

    /// Stop the worker. With `cancel`, every transfer is cancelled (partial downloads
    /// removed) and this waits at most `within` for the worker's tasks to end (its event
    /// channel closes when the last one does); without, nothing is waited for. What is
    /// left is dropped with the runtime. Nothing is retried meanwhile: the cancelled
    /// requests end, and a server run by this process is stopped only after.
    async fn stop(mut self, cancel: bool, within: Duration) {
        let Some(tx) = self.commands.take() else {
            // Not started yet: nothing runs that could be waited for.
            return;
        };
        if !cancel {
            // The transfers stop when the runtime drops them, their partial files kept.
            return;
        }
        let _ = tx.send(Command::CancelAll);
        drop(tx);
        let Some(mut rx) = self.events.take() else {
            return;
        };
        let drained = async { while rx.recv().await.is_some() {} };
        if tokio::time::timeout(within, drained).await.is_err() {
            tracing::info!(
                ?within,
                "the worker's tasks did not all stop in time; dropping them"
            );
        }
    }
}

/// The signals that end the browser (SIGHUP only with nothing left to finish).
struct Signals {
    term: Signal,
    hup: Signal,
    int: Signal,
}

/// The loop, and the worker to stop once the terminal is restored (none if it never
/// started).
async fn run_loop(
    terminal: &mut Term,
    cfg: ClientConfig,
    session: Session,
    signals: &mut Signals,
) -> (Result<Ended>, Option<Worker>) {
    let size = match terminal.size() {
        Ok(size) => size,
        Err(e) => return (Err(e.into()), None),
    };
    let mut state = State::new(
        &session.endpoint,
        &session.workspaces,
        size.width,
        size.height,
    );
    state.concurrency = session.concurrency;
    state.limit_rate = cfg.limit_rate;
    state.look.theme = session.prefs.theme;
    state.look.mouse = session.prefs.mouse;
    state.preview.cap = session.prefs.preview_cap;
    state.look.in_tmux = std::env::var_os("TMUX").is_some_and(|v| !v.is_empty());
    state.queue_kept = session.persist_queue;
    state.set_keys(&session.prefs.keys);
    // The download prompt starts in the folder filedeck was started in, written whole so
    // the user sees where files will land (a relative "." says nothing over SSH).
    if let Some(dir) = session
        .prefs
        .download_dir
        .as_deref()
        .and_then(|d| d.to_str())
    {
        state.download_dir = dir.to_string();
    } else if let Ok(dir) = std::env::current_dir()
        && let Some(dir) = dir.to_str()
    {
        state.download_dir = dir.to_string();
    }
    state.demo = session.demo_key.map(|key| app::state::Demo {
        url: session.endpoint.clone(),
        key,
    });
    // The first frame goes out before anything else happens.
    if let Err(e) = terminal.draw(|f| ui::draw(f, &state)) {
        return (Err(e.into()), None);
    }
    // Only now: finding the local zone walks the whole zoneinfo directory (~1 ms, more on
    // a cold disk), and the first frame shows no time.
    state.look.zone = app::look::Zone::load(session.prefs.time);
    // The transfer queue of this endpoint, saved for a resume and locked against a second
    // filedeck working it.
    let persist_queue = session.persist_queue;
    // The demo's server and data live only as long as this process: nothing to resume.
    let state_dir = if persist_queue {
        crate::config::state_dir()
    } else {
        None
    };
    let queue = match state_dir {
        Some(dir) => worker::Queue::At {
            dir,
            endpoint: session.endpoint.clone(),
        },
        None => worker::Queue::Off,
    };
    let mut worker = Worker::start(cfg, state.concurrency, queue);
    let ended = drive(terminal, &mut state, &mut worker, signals, persist_queue).await;
    (ended, Some(worker))
}

async fn drive(
    terminal: &mut Term,
    state: &mut State,
    worker: &mut Worker,
    signals: &mut Signals,
    persist_queue: bool,
) -> Result<Ended> {
    for cmd in app::init(state) {
        worker.send(cmd)?;
    }
    let mut term_events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut inbox: Vec<Msg> = Vec::new();
    // After SIGHUP (or the terminal vanishing) with transfers under way, filedeck carries
    // on without a screen until the queue is done, logging to its file.
    let mut headless = false;
    // When the oldest key not yet on screen arrived: its latency goes to the log at trace
    // level (`FILEDECK_LOG=filedeck::keys=trace`), which the benchmarks read.
    let mut key_at: Option<Instant> = None;
    // What the user did is drawn at once; what the worker reports (a thousand small
    // transfers finishing, listing pages) at most once per MIN_FRAME, so bursts of events
    // do not turn into hundreds of frames a second on cores the transfers need.
    let mut last_draw = Instant::now();
    let mut user_input = false;
    // The mouse's clock for double clicks, and the capture the terminal has now.
    let started = Instant::now();
    let mut mouse_on = state.look.mouse;
    let mut last_settle = Instant::now();
    loop {
        let mut hung_up = false;
        if !headless && state.dirty && (user_input || last_draw.elapsed() >= MIN_FRAME) {
            state.dirty = false;
            user_input = false;
            match terminal.draw(|f| ui::draw(f, state)) {
                Ok(_) => {
                    last_draw = Instant::now();
                    if let Some(at) = key_at.take() {
                        tracing::trace!(target: "filedeck::keys", micros = at.elapsed().as_micros(), "key drawn");
                    }
                }
                // A closed terminal fails the frame before its SIGHUP is read: the same
                // hang-up, not an error to print on the terminal that is gone.
                Err(e) if terminal_gone(&e) => hung_up = true,
                Err(e) => return Err(e.into()),
            }
        }
        let frame_due = (!headless && state.dirty).then(|| last_draw + MIN_FRAME);
        if !hung_up {
            tokio::select! {
            ev = term_events.next(), if !headless => match ev {
                Some(Ok(ev)) => {
                    if matches!(ev, TermEvent::Key(_)) {
                        key_at.get_or_insert_with(Instant::now);
                    }
                    user_input = true;
                    let at_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                    inbox.extend(term::to_msg(ev, at_ms));
                }
                Some(Err(_)) | None => hung_up = true,
            },
            () = frame_wait(frame_due) => {}
            ev = worker.recv() => inbox.push(Msg::Worker(ev?)),
            _ = tick.tick(), if state.animating() && !headless => inbox.push(Msg::Tick),
            () = std::future::ready(()), if state.stepping() => inbox.push(Msg::Continue),
            _ = signals.term.recv() => return Ok(Ended::Signal(libc::SIGTERM)),
            _ = signals.hup.recv() => hung_up = true,
            _ = signals.int.recv() => return Ok(Ended::Signal(libc::SIGINT)),
            }
        }
        if hung_up && !headless {
            // Best effort: on a dead terminal the writes fail at once (EIO); on a live one
            // (a stray `kill -HUP`) the user gets their shell back.
            restore();
            detach_stdio();
            let active = active_transfers(state);
            // Without a kept queue (the demo) nobody could see or resume what a headless
            // run finished: it ends with the terminal, its server and data with it.
            if active == 0 || !persist_queue {
                return Ok(Ended::Signal(libc::SIGHUP));
            }
            tracing::warn!(
                active,
                "the terminal hung up; finishing the transfers without a screen"
            );
            headless = true;
        }
        // A burst of worker events (pages, progress) becomes one frame.
        while let Some(ev) = worker.try_recv() {
            inbox.push(Msg::Worker(ev));
        }
        for msg in inbox.drain(..) {
            for cmd in app::update(state, msg) {
                worker.send(cmd)?;
            }
        }
        if state.filter.as_ref().is_none_or(|f| f.done()) || last_settle.elapsed() >= SETTLE_EVERY {
            app::settle(state);
            last_settle = Instant::now();
        }
        if let Some(text) = state.look.clipboard.take()
            && !headless
        {
            term::copy(&text)?;
        }
        if state.look.mouse != mouse_on && !headless {
            mouse_on = state.look.mouse;
            term::set_mouse(mouse_on)?;
        }
        if !state.dirty {
            // A key that changed nothing is not waiting for a frame.
            key_at = None;
            user_input = false;
        }
        if headless {
            skip_unanswered_conflicts(state, worker)?;
        }
        if headless && active_transfers(state) == 0 {
            tracing::info!("all transfers finished after the hang-up; exiting");
            return Ok(Ended::Signal(libc::SIGHUP));
        }
        if state.quit {
            return Ok(if state.interrupted {
                Ended::Signal(libc::SIGINT)
            } else {
                Ended::Quit
            });
        }
        if std::mem::take(&mut state.suspend) {
            suspend(terminal, mouse_on)?;
            state.dirty = true;
        }
    }
}

/// The shortest time between two rebuilds of the rows from partial filter results.
const SETTLE_EVERY: Duration = Duration::from_millis(50);
/// The shortest time between two frames that only the worker's events asked for.
const MIN_FRAME: Duration = Duration::from_millis(10);

/// Until the deferred frame is due (never, when none is).
async fn frame_wait(due: Option<Instant>) {
    match due {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// Nobody is left to answer a conflict (the one on screen at the hang-up, or one that
/// comes later): those files are skipped, never overwritten unasked, and the log says so.
fn skip_unanswered_conflicts(state: &mut State, worker: &mut Worker) -> Result<()> {
    let waiting = std::mem::take(&mut state.waiting);
    for dialog in state.dialog.take().into_iter().chain(waiting) {
        if let app::state::Dialog::Conflicts {
            batch,
            items,
            mut choices,
        } = dialog
        {
            tracing::warn!(
                count = items.len().saturating_sub(choices.len()),
                "no terminal to ask about a conflict; skipping those files"
            );
            choices.resize(items.len(), app::msg::Choice::Skip);
            worker.send(Command::Resolve { batch, choices })?;
        }
    }
    Ok(())
}

/// The terminal is gone (closed, the SSH session dropped): its writes fail so.
fn terminal_gone(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::BrokenPipe
        || matches!(
            e.raw_os_error(),
            Some(libc::EIO | libc::ENXIO | libc::EBADF | libc::ENOTTY)
        )
}

/// After a hang-up the terminal is gone and every write to it fails (EIO). Rust's print
/// macros panic on a failed write, and ratatui's terminal, when dropped, shows the cursor
/// and reports the failure on stderr: a panic in a destructor, which aborted the process
/// before the demo's data dir was removed. Standard output and error go to /dev/null
/// from here on (the log file has everything).
fn detach_stdio() {
    match std::fs::OpenOptions::new().write(true).open("/dev/null") {
        Ok(null) => {
            if let Err(e) = crate::sys::redirect_stdio(&null) {
                tracing::warn!(error = %e, "cannot point stdout and stderr at /dev/null");
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot open /dev/null after the hang-up"),
    }
}

/// Ctrl-Z: hand the terminal back, stop, and on `fg` take it again and redraw it whole.
fn suspend(terminal: &mut Term, mouse: bool) -> Result<()> {
    restore();
    // The whole process group stops, as Ctrl-Z stops it in a shell: a script (or `cargo
    // run`) that started filedeck stops with it, so the shell sees the job stopped and
    // gives its prompt back (stopping only this process left the screen blank, the
    // parent waiting on it).
    // Signalling our own group does not fail in practice; if it does, carry on unstopped.
    if let Err(e) = crate::sys::stop_process_group() {
        tracing::warn!(error = %e, "cannot stop for Ctrl-Z");
    }
    term::take(mouse)?;
    terminal.clear()?;
    Ok(())
}
