//! What `mine`, `pow` and `bench` share for watching a rig: the HTTP API
//! (`--api`), the cgminer API (`--cgminer-api`), the health watch with its
//! temperature limits, and the stop request (Ctrl-C, SIGTERM or `POST
//! /control/stop`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use anyhow::{Context, Result};
use clap::Args;
use hashrig::api::{ApiServer, CgminerServer, Rig};
use hashrig::engine::Engine;
use hashrig::health::{HealthEvent, HealthOptions, HealthWatch};
use hashrig::stratum::PoolMiner;
use serde::Serialize;

use crate::report::{Output, Report};

/// Monitoring, protection and service options.
#[derive(Args, Clone, Default)]
pub(crate) struct MonitorArgs {
    // The file is read before the command line is parsed (config::expand);
    // clap only accepts the flag here.
    /// A TOML file of options (pools, devices, APIs, temperature limits);
    /// flags on the command line override it. See `hashrig config --example`.
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    /// Serve the dashboard (GET /), GET /metrics (Prometheus), GET
    /// /summary, /history and /mmpos (JSON) and POST /control/{pause,resume,stop}
    /// on ADDR:PORT (a bare port means 127.0.0.1).
    #[arg(long, value_name = "ADDR:PORT", value_parser = parse_listen)]
    pub api: Option<SocketAddr>,
    /// Another rig's API (http://HOST:PORT) for the dashboard to show
    /// beside this one; that rig must allow this one's origin. Repeat.
    #[arg(long, value_name = "URL", value_parser = parse_origin, requires = "api")]
    pub api_peer: Vec<String>,
    /// A dashboard origin (http://HOST:PORT) that may read this rig's
    /// /summary and /history from the browser (CORS). Repeat.
    #[arg(long, value_name = "ORIGIN", value_parser = parse_origin, requires = "api")]
    pub api_allow_origin: Vec<String>,
    /// A host name the API answers to (beside IP addresses and localhost,
    /// always answered), as browsers reach it: `rig1.lan`. Requests for any
    /// other name get 421, so that a web page cannot read the rig through
    /// DNS rebinding. Repeat.
    #[arg(long, value_name = "NAME", value_parser = parse_host, requires = "api")]
    pub api_host: Vec<String>,
    /// Seconds between the points of the dashboard's history (an hour of
    /// them is kept; default 5).
    #[arg(long, value_name = "SECONDS", value_parser = parse_history, requires = "api")]
    pub api_history_s: Option<f64>,
    /// The bearer token POST /control/… needs; without one, control is refused.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "HASHRIG_API_TOKEN",
        hide_env_values = true
    )]
    pub api_token: Option<String>,
    /// Serve the cgminer-compatible API (version, summary, devs, pools,
    /// stats, devdetails, config, coin; joined as summary+devs in JSON) on
    /// ADDR:PORT (a bare port means 127.0.0.1).
    #[arg(long, value_name = "ADDR:PORT", value_parser = parse_listen)]
    pub cgminer_api: Option<SocketAddr>,
    /// Hold a device out of the work at or over this temperature (°C).
    #[arg(long, value_name = "C", value_parser = parse_temperature)]
    pub temp_limit: Option<f64>,
    /// Put a held device back to work under this temperature (°C; default
    /// 5 under the limit).
    #[arg(long, value_name = "C", value_parser = parse_temperature, requires = "temp_limit")]
    pub temp_resume: Option<f64>,
}

fn parse_history(text: &str) -> Result<f64, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|s| (0.1..=3600.0).contains(s))
        .ok_or_else(|| format!("{text:?} is not a number of seconds from 0.1 to 3600"))
}

/// `http://HOST:PORT` or `https://HOST:PORT`, as browsers write origins
/// (no path, no trailing slash).
fn parse_origin(text: &str) -> Result<String, String> {
    let t = text.trim().trim_end_matches('/');
    let rest = t
        .strip_prefix("http://")
        .or_else(|| t.strip_prefix("https://"))
        .ok_or_else(|| format!("{text:?} is not http://HOST:PORT"))?;
    let ok = !rest.is_empty()
        && rest.len() <= 260
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c));
    if !ok {
        return Err(format!(
            "{text:?} is not http://HOST:PORT (no path, no spaces)"
        ));
    }
    Ok(t.to_string())
}

/// A host name for `--api-host`: letters, digits, '-' and '.', no port.
fn parse_host(text: &str) -> Result<String, String> {
    let t = text.trim().trim_end_matches('.');
    let ok = !t.is_empty()
        && t.len() <= 253
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if ok {
        Ok(t.to_ascii_lowercase())
    } else {
        Err(format!(
            "{text:?} is not a host name (such as rig1.lan; no port)"
        ))
    }
}

/// `ADDR:PORT`, `[v6]:PORT` or a bare port (on 127.0.0.1).
pub(crate) fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    let t = text.trim();
    if let Ok(port) = t.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    t.parse::<SocketAddr>()
        .map_err(|_| format!("{text:?} is not ADDR:PORT or a port (for example 127.0.0.1:9100)"))
}

fn parse_temperature(text: &str) -> Result<f64, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|t| t.is_finite() && (0.0..=150.0).contains(t))
        .ok_or_else(|| format!("{text:?} is not a temperature between 0 and 150 °C"))
}

/// The process-wide stop request: set by Ctrl-C, SIGTERM and the API.
fn stop_flag() -> &'static Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

/// How many stop signals came.
static SIGNALS: AtomicUsize = AtomicUsize::new(0);

/// Catches SIGINT and SIGTERM. The first asks the command to stop and
/// print its summary; a second (which often comes with the first: GNU
/// `timeout` and supervisors signal the process and then its group) also
/// skips the wait for the pool's answers to shares in flight, the summary
/// still printed; a third ends the process at once, exit 130, the status
/// erased.
pub(crate) fn catch_signals() -> Result<()> {
    let flag = stop_flag().clone();
    ctrlc::set_handler(move || {
        flag.store(true, Ordering::Relaxed);
        if SIGNALS.fetch_add(1, Ordering::Relaxed) >= 2 {
            crate::status::abandon();
            eprintln!("hashrig: stopped at once (a third signal)");
            std::process::exit(130);
        }
    })
    .context("cannot catch SIGINT and SIGTERM")
}

/// Whether the stop was forced (a second signal): nothing more is waited
/// for.
pub(crate) fn stop_forced() -> bool {
    SIGNALS.load(Ordering::Relaxed) >= 2
}

/// Whether a stop was asked for.
pub(crate) fn stop_requested() -> bool {
    stop_flag().load(Ordering::Relaxed)
}

/// A temperature event, for the output.
#[derive(Serialize)]
struct HealthLine {
    device: usize,
    name: String,
    /// `hot` (held out of the work) or `cooled` (back to work).
    event: &'static str,
    temperature_c: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit_c: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resume_c: Option<f64>,
}

impl Report for HealthLine {
    const TYPE: &'static str = "health";
    fn text(&self) -> String {
        match (self.limit_c, self.resume_c) {
            (Some(limit), _) => format!(
                "hashrig: {} is too hot ({:.0} °C, limit {limit:.0} °C): held out of the work",
                self.name, self.temperature_c
            ),
            (_, resume) => format!(
                "hashrig: {} cooled to {:.0} °C (under {:.0} °C): back to work",
                self.name,
                self.temperature_c,
                resume.unwrap_or(0.0)
            ),
        }
    }
    fn text_on_stderr(&self) -> bool {
        true
    }
}

/// The health watch's options, checked (by `config --check` too).
/// The listeners `args` ask for, checked against each other: the API and
/// the cgminer API on one port cannot both listen (what `config --check`
/// says too, before anything starts).
pub(crate) fn check_listeners(args: &MonitorArgs) -> Result<()> {
    if let (Some(api), Some(cg)) = (args.api, args.cgminer_api) {
        let overlap = api.ip() == cg.ip() || api.ip().is_unspecified() || cg.ip().is_unspecified();
        if api.port() != 0 && api.port() == cg.port() && overlap {
            anyhow::bail!(
                "cgminer-api: {cg} is the API's own address ({api}): give the two different ports"
            );
        }
    }
    Ok(())
}

pub(crate) fn health_options(args: &MonitorArgs) -> Result<HealthOptions> {
    let options = HealthOptions {
        temp_limit: args.temp_limit,
        temp_resume: args.temp_resume,
        ..Default::default()
    };
    options.limits()?;
    Ok(options)
}

/// The running monitors of one command.
pub(crate) struct Monitor {
    pub health: Arc<HealthWatch>,
    /// What the APIs show; the command's lines are kept as its events.
    pub rig: Arc<Rig>,
    api: Option<ApiServer>,
    cgminer: Option<CgminerServer>,
}

impl Monitor {
    /// Starts the health watch and whichever APIs `args` ask for.
    pub fn start(
        engine: &Arc<Engine>,
        args: &MonitorArgs,
        pools: Option<Arc<PoolMiner>>,
    ) -> Result<Monitor> {
        check_listeners(args)?;
        let health = Arc::new(HealthWatch::start(engine, health_options(args)?)?);
        // A limit with nothing to read it from protects nothing: say so.
        if let Some(limit) = args.temp_limit {
            if health.latest().iter().all(|h| h.temperature_c.is_none()) {
                crate::status::above(|| {
                    eprintln!(
                        "hashrig: warning: --temp-limit {limit}: no device here has a temperature sensor hashrig can read, so the limit protects nothing"
                    )
                });
            }
        }
        let mut rig = Rig::new(engine.clone()).with_health(health.clone());
        if let Some(miner) = pools {
            rig = rig.with_pools(miner);
        }
        let flag = stop_flag().clone();
        let rig = Arc::new(
            rig.on_stop(move || flag.store(true, Ordering::Relaxed))
                .with_peers(args.api_peer.clone())
                .with_allowed_origins(args.api_allow_origin.clone())
                .with_allowed_hosts(args.api_host.clone())
                .with_history_interval(std::time::Duration::from_secs_f64(
                    args.api_history_s.unwrap_or(5.0),
                )),
        );
        let token = args.api_token.clone().filter(|t| !t.is_empty());
        let api = match args.api {
            Some(addr) => {
                if !addr.ip().is_loopback() && token.is_none() {
                    eprintln!(
                        "hashrig: warning: the API on {addr} is reachable beyond this machine and has no --api-token (control stays off)"
                    );
                }
                let server = ApiServer::start(rig.clone(), addr, token)?;
                eprintln!("hashrig: API on http://{}", server.local_addr());
                Some(server)
            }
            None => None,
        };
        let cgminer = match args.cgminer_api {
            Some(addr) => {
                let server = CgminerServer::start(rig.clone(), addr)?;
                eprintln!("hashrig: cgminer API on {}", server.local_addr());
                Some(server)
            }
            None => None,
        };
        Ok(Monitor {
            health,
            rig,
            api,
            cgminer,
        })
    }

    /// Reports the health watch's events.
    pub fn drain(&self, out: &mut Output) -> Result<()> {
        while let Some(event) = self.health.try_recv() {
            let line = match event {
                HealthEvent::Hot {
                    device,
                    name,
                    temperature,
                    limit,
                } => HealthLine {
                    device,
                    name,
                    event: "hot",
                    temperature_c: temperature,
                    limit_c: Some(limit),
                    resume_c: None,
                },
                HealthEvent::Cooled {
                    device,
                    name,
                    temperature,
                    resume,
                } => HealthLine {
                    device,
                    name,
                    event: "cooled",
                    temperature_c: temperature,
                    limit_c: None,
                    resume_c: Some(resume),
                },
            };
            out.emit(&line)?;
        }
        Ok(())
    }

    /// Stops the APIs and the watch.
    pub fn stop(self) {
        if let Some(a) = &self.api {
            a.stop();
        }
        if let Some(c) = &self.cgminer {
            c.stop();
        }
        self.health.stop();
    }
}
