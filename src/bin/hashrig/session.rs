//! What `mine`, `pow` and `bench` (and `mine --pool`) share around their
//! work: the monitors and the status display started over an engine, the
//! health events reported and the stop request watched while it runs, and
//! the same ending (the devices paused, the status erased, the monitors
//! stopped) before the command prints its summary.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use hashrig::engine::Engine;
use hashrig::pool::PoolMiner;

use crate::monitor::{self, Monitor, MonitorArgs};
use crate::report::Output;
use crate::status::Status;

/// A command running on an engine's devices.
pub(crate) struct Session {
    pub engine: Arc<Engine>,
    pub monitor: Monitor,
    pub out: Output,
    /// The devices' names, in the engine's order.
    pub names: Vec<String>,
    pub started: Instant,
    status: Status,
}

/// What the status display shows under the devices.
pub(crate) enum Lines {
    /// Nothing more; the total number of nonces when known.
    Devices(Option<u64>),
    /// A line per pool.
    Pools(Box<dyn Fn() -> Vec<String> + Send>),
}

impl Session {
    /// Starts the monitors (with `pools`' figures, when mining on pools)
    /// and the status display over `engine`.
    pub fn start(
        engine: Arc<Engine>,
        watch: &MonitorArgs,
        pools: Option<Arc<PoolMiner>>,
        lines: Lines,
        json: bool,
    ) -> Result<Session> {
        let monitor = Monitor::start(&engine, watch, pools)?;
        let names = engine.stats().iter().map(|d| d.name.clone()).collect();
        let health = monitor.health.clone();
        let status = match lines {
            Lines::Devices(total) => Status::start(&engine, total, health),
            Lines::Pools(more) => Status::with_lines(&engine, None, health, more),
        };
        let mut out = Output::new(json);
        out.record_to(monitor.rig.clone());
        Ok(Session {
            engine,
            monitor,
            out,
            names,
            started: Instant::now(),
            status,
        })
    }

    /// Reports the monitors' events; whether a stop was asked for (Ctrl-C,
    /// SIGTERM, `POST /control/stop`).
    pub fn tick(&mut self) -> Result<bool> {
        self.monitor.drain(&mut self.out)?;
        Ok(monitor::stop_requested())
    }

    /// Ends the run: the devices paused, the status display erased, the
    /// monitors' last events reported and the monitors stopped. What is
    /// left to print (the summary) goes to the returned output.
    pub fn finish(self) -> Result<Output> {
        let Session {
            engine,
            monitor,
            mut out,
            status,
            ..
        } = self;
        engine.pause();
        status.finish();
        monitor.drain(&mut out)?;
        monitor.stop();
        Ok(out)
    }
}
