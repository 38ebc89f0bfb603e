//! The console's run loop: terminal events and source messages in, `App::update`,
//! and a frame drawn only when something changed (capped at `fps`).

use std::time::Duration;

use chrono::Utc;
use crossterm::event::{Event as TermEvent, EventStream};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::app::{App, Event};
use crate::protocol::Msg;
use crate::runtime::tui::TerminalGuard;

/// Capacity of the sources → app channel. Sources batch, so this is plenty; a full
/// channel makes a source wait, never the UI.
pub const CHANNEL: usize = 1024;

/// Run the console until the user quits or a signal arrives. `start` spawns the
/// sources on the runtime (it gets the sender and a cancel token) and returns the
/// executor for the `Command`s that `App::update` returns.
pub async fn run<F, E>(mut app: App, start: F) -> anyhow::Result<()>
where
    F: FnOnce(mpsc::Sender<Msg>, CancellationToken) -> E,
    E: FnMut(crate::protocol::Command),
{
    let (tx, mut rx) = mpsc::channel::<Msg>(CHANNEL);
    let cancel = CancellationToken::new();
    let mut exec = start(tx, cancel.clone());

    // Signal handlers first: a SIGTERM that arrives once the screen is taken over must
    // end in a normal quit (terminal restored), never in the default kill.
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    // SIGHUP: the terminal went away (window closed, ssh dropped). Quit normally so
    // callers clean up (the demo removes its directory and its operator key).
    let mut sighup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut guard = TerminalGuard::enter()?;
    let size = guard.terminal.size()?;
    let mut commands = app.update(Event::Resize(size.width, size.height));
    commands.extend(app.update(Event::Tick(Utc::now())));
    for c in commands {
        run_command(&mut guard, &mut exec, c);
    }
    draw(&mut guard, &mut app)?;
    // Test hook (docs/RELIABILITY.md): `LUMEN_TEST_PANIC=after-first-frame` panics here
    // so a pseudo-terminal test can prove the panic hook restores the terminal. It can
    // do nothing but panic.
    if std::env::var_os("LUMEN_TEST_PANIC").is_some_and(|v| v == "after-first-frame") {
        panic!("LUMEN_TEST_PANIC=after-first-frame: deliberate panic after the first frame");
    }

    let mut events = EventStream::new();
    let fps = app.shell().fps.clamp(1, 120);
    let mut frame = tokio::time::interval(Duration::from_millis(1000 / u64::from(fps.max(1))));
    frame.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut house = tokio::time::interval(Duration::from_millis(250));
    house.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut batch: Vec<Msg> = Vec::with_capacity(256);
    let mut sources_open = true;

    let result = loop {
        let mut commands = Vec::new();
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(TermEvent::Key(k))) => commands = app.update(Event::Key(k)),
                Some(Ok(TermEvent::Mouse(m))) => commands = app.update(Event::Mouse(m)),
                Some(Ok(TermEvent::Resize(w, h))) => commands = app.update(Event::Resize(w, h)),
                Some(Ok(_)) => {}
                Some(Err(e)) => break Err(anyhow::anyhow!("terminal input failed: {e}")),
                None => break Ok(()),
            },
            n = rx.recv_many(&mut batch, 256), if sources_open => {
                if n == 0 {
                    // Every source has stopped; keep the UI up with what it has.
                    sources_open = false;
                }
                for m in batch.drain(..) {
                    commands.extend(app.update(Event::Msg(m)));
                }
            },
            _ = house.tick() => commands = app.update(Event::Tick(Utc::now())),
            _ = frame.tick() => {
                if app.shell().dirty {
                    app.advance_clock(Utc::now());
                    draw(&mut guard, &mut app)?;
                }
            },
            _ = sigterm.recv() => break Ok(()),
            _ = sigint.recv() => break Ok(()),
            _ = sighup.recv() => break Ok(()),
        }
        for c in commands {
            run_command(&mut guard, &mut exec, c);
        }
        if app.shell().should_quit {
            break Ok(());
        }
    };
    cancel.cancel();
    drop(guard);
    result
}

/// One command: a copy goes to the terminal here (an OSC 52 escape on the screen's
/// own output, between frames); everything else to the executor.
fn run_command<E: FnMut(crate::protocol::Command)>(
    guard: &mut TerminalGuard,
    exec: &mut E,
    c: crate::protocol::Command,
) {
    match c {
        crate::protocol::Command::CopyToClipboard { text } => {
            use std::io::Write as _;
            let out = guard.terminal.backend_mut();
            let seq = crate::runtime::clipboard::osc52(&text);
            if let Err(e) = out.write_all(seq.as_bytes()).and_then(|()| out.flush()) {
                tracing::warn!("copy (OSC 52) failed: {e}");
            }
        }
        c => exec(c),
    }
}

/// Draw a frame and hand its layout back to the app (mouse hits, page sizes).
fn draw(guard: &mut TerminalGuard, app: &mut App) -> std::io::Result<()> {
    let mut map = None;
    guard
        .terminal
        .draw(|f| map = Some(crate::ui::render(f, app)))?;
    if let Some(map) = map {
        app.remember_screen(map);
    }
    app.mark_drawn();
    Ok(())
}
