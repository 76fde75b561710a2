//! Process start to ready of a Lambda binary under a Runtime API emulator
//! (`cargo lambda watch --only-lambda-apis`, which serves the Runtime API and
//! the Invoke API but starts no function), and its peak memory.
//!
//! Method, per run: an invocation is posted to the emulator first (it holds
//! it until a runtime asks for work), then the binary is spawned with the
//! environment Lambda gives a function; the time from the spawn to the answer
//! of that invocation bounds start to ready from above. With an event the
//! function rejects before any AWS call (a type it does not serve), the
//! answer follows the first `GET /runtime/invocation/next` by one local HTTP
//! round trip, which is measured on its own afterwards (a second invocation of
//! the warm process). With a valid event, the answer also includes the first
//! DynamoDB requests (a new connection, a conditional put and a query).
//! Peak memory is the process's `VmHWM` after its invocations.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use flight_core::{Clock, SystemClock};
use serde_json::json;

use crate::Results;

/// How long one invocation may take before the run is abandoned.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(20);

/// The emulator's address (`host:port`) from `http://host:port[/...]`.
fn host_port(url: &str) -> Result<String> {
    let rest = url
        .strip_prefix("http://")
        .with_context(|| format!("{url}: expected http://host:port"))?;
    Ok(rest.split('/').next().unwrap_or(rest).to_string())
}

/// Posts `body` to the emulator's Invoke API; `sent` is signalled once the
/// request is written. Returns when the answer is read, and the answer.
fn invoke(address: &str, body: &str, sent: Option<mpsc::Sender<()>>) -> Result<(Instant, String)> {
    let mut stream = TcpStream::connect(address).with_context(|| format!("connect {address}"))?;
    stream.set_read_timeout(Some(INVOKE_TIMEOUT))?;
    stream.set_nodelay(true)?;
    let request = format!(
        "POST /2015-03-31/functions/_/invocations HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes())?;
    stream.flush()?;
    if let Some(sent) = sent {
        let _ = sent.send(());
    }
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = find(&buffer, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            if let Some(length) = length {
                if buffer.len() >= end + 4 + length {
                    let answered = Instant::now();
                    let text = String::from_utf8_lossy(&buffer[end + 4..end + 4 + length]);
                    return Ok((answered, text.into_owned()));
                }
            }
        }
        let read = stream
            .read(&mut chunk)
            .context("no answer from the emulator in time")?;
        if read == 0 {
            let answered = Instant::now();
            let text = match find(&buffer, b"\r\n\r\n") {
                Some(end) => String::from_utf8_lossy(&buffer[end + 4..]).into_owned(),
                None => bail!("the emulator closed the connection without an answer"),
            };
            return Ok((answered, text));
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `VmHWM` (peak resident memory) of a process, in KiB.
fn peak_rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmHWM in /proc/PID/status")
}

fn event(event_type: &str, event_id: &str) -> String {
    json!({
        "version": "0",
        "id": format!("eb-{event_id}"),
        "detail-type": event_type,
        "source": "flight-controller.bench",
        "account": "000000000000",
        "time": flight_core::envelope::format_time(SystemClock.now()),
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "event_id": event_id,
            "event_type": event_type,
            "aggregate_id": format!("arn:aws:s3:::ready-{event_id}"),
            "aggregate_type": "Resource",
            "time": flight_core::envelope::format_time(SystemClock.now()),
            "payload": { "guardrail_id": "s3-bucket-public-read" }
        }
    })
    .to_string()
}

struct Run {
    start_to_answer: Duration,
    warm_round_trip: Duration,
    peak_rss_kib: u64,
}

/// One run: post `body`, spawn the binary, time the answer; then a second,
/// warm invocation of `warm_body`; then the peak memory; then stop the process.
fn run_once(
    binary: &Path,
    emulator: &str,
    table: &str,
    body: &str,
    warm_body: &str,
) -> Result<Run> {
    let address = host_port(emulator)?;
    let (sent_tx, sent_rx) = mpsc::channel();
    let invoke_address = address.clone();
    let owned = body.to_string();
    let waiter = std::thread::spawn(move || invoke(&invoke_address, &owned, Some(sent_tx)));
    sent_rx
        .recv_timeout(Duration::from_secs(5))
        .context("the invocation could not be posted")?;
    // Let the emulator queue it before the function exists.
    std::thread::sleep(Duration::from_millis(50));
    let runtime_api = format!("{}/.rt", emulator.trim_end_matches('/'));
    let pass = |name: &str| std::env::var(name).unwrap_or_default();
    let spawned = Instant::now();
    let mut child = Command::new(binary)
        .env_clear()
        // What Lambda sets for a function (provided.al2023, 128 MB).
        .env("AWS_LAMBDA_RUNTIME_API", &runtime_api)
        .env(
            "AWS_LAMBDA_FUNCTION_NAME",
            "flight-controller-bench-ingest-guardrail-activated",
        )
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_SESSION_TOKEN", "test")
        .env("LAMBDA_TASK_ROOT", "/var/task")
        .env("TZ", ":UTC")
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        // The function's own configuration, as Terraform sets it.
        .env("TABLE_NAME", table)
        .env("EVENT_TYPE", "GuardrailActivated")
        .env("ENVIRONMENT", "bench")
        .env("LATENESS_WINDOW_SECONDS", "300")
        .env("FC_DYNAMODB_ENDPOINT", pass("FC_DYNAMODB_ENDPOINT"))
        .env("FC_AWS_ENDPOINT", pass("FC_AWS_ENDPOINT"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    let pid = child.id();
    let outcome = (|| -> Result<Run> {
        let (answered, answer) = waiter
            .join()
            .map_err(|_| anyhow::anyhow!("the invoking thread panicked"))??;
        let start_to_answer = answered.duration_since(spawned);
        if answer.is_empty() {
            bail!("empty answer");
        }
        let warm_sent = Instant::now();
        let (warm_answered, _) = invoke(&address, warm_body, None)?;
        Ok(Run {
            start_to_answer,
            warm_round_trip: warm_answered.duration_since(warm_sent),
            peak_rss_kib: peak_rss_kib(pid)?,
        })
    })();
    let _ = child.kill();
    let _ = child.wait();
    outcome
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

fn max(values: &[f64]) -> f64 {
    values.iter().copied().fold(0.0, f64::max)
}

/// Runs the binary `runs` times with a rejected first event and `runs` times
/// with a valid one (stored in `table`), and records the figures.
pub fn measure(
    binary: &Path,
    emulator: &str,
    table: &str,
    runs: usize,
    results: &mut Results,
) -> Result<()> {
    // Warm the page cache (the first exec of a fresh build reads it from disk).
    let _ = run_once(
        binary,
        emulator,
        table,
        &event("ProjectRequested", "warm-up"),
        &event("ProjectRequested", "warm-up"),
    );
    for kind in ["rejected", "stored"] {
        let mut starts = Vec::with_capacity(runs);
        let mut trips = Vec::with_capacity(runs);
        let mut peaks = Vec::with_capacity(runs);
        for i in 0..runs {
            let id = format!("ready-{}-{kind}-{i}", SystemClock.now());
            let (first, warm) = match kind {
                "rejected" => (
                    event("ProjectRequested", &id),
                    event("ProjectRequested", &id),
                ),
                _ => (
                    event("GuardrailActivated", &id),
                    event("GuardrailActivated", &format!("{id}-warm")),
                ),
            };
            let run = run_once(binary, emulator, table, &first, &warm)
                .with_context(|| format!("run {} ({kind} first event)", i + 1))?;
            starts.push(run.start_to_answer.as_secs_f64() * 1e3);
            trips.push(run.warm_round_trip.as_secs_f64() * 1e3);
            peaks.push(run.peak_rss_kib as f64);
        }
        results.add(&format!("ready.{kind}.runs"), runs as f64);
        results.add(&format!("ready.{kind}.median_ms"), median(starts.clone()));
        results.add(&format!("ready.{kind}.max_ms"), max(&starts));
        results.add(&format!("ready.{kind}.warm_round_trip_ms"), median(trips));
        results.add(&format!("ready.{kind}.peak_rss_kib"), max(&peaks));
    }
    Ok(())
}
