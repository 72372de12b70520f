//! The five scenarios of issue 5, each returning its rows.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use wodle_config::COMMERCIAL_REGIONS;
use wodle_fault_proxy::{Fault, FaultProxy, FaultRule};
use wodle_replay_server::{Dataset, LogGroup, ReplayServer, message};
use wodle_testkit::{AwsFiles, CloudWatchSeeder, MotoServer, WazuhHome, now_millis};

use crate::BenchError;
use crate::measure::{ChildRun, Receiver, run_child};
use crate::report::{Row, Target};

/// Every event's message length (~200 B events, as the issue asks).
const MESSAGE_BYTES: usize = 200;
/// Quotas high enough that the client-side rate limit is never what is measured.
const HIGH_QUOTAS: &str = "GetLogEvents=10000,DescribeLogStreams=10000";
/// AWS's default quotas, set explicitly for the fan-out (per account and region).
const AWS_QUOTAS: &str = "GetLogEvents=10,DescribeLogStreams=25";
pub const QUOTAS_NOTE: &str = "scenarios 1, 2, 4, 5: --api-quotas GetLogEvents=10000,DescribeLogStreams=10000 (never the limit); scenario 3: --api-quotas GetLogEvents=10,DescribeLogStreams=25 (AWS's defaults, per region)";
/// Events are stamped from this long ago (5,000,000 events one ms apart span 83 minutes).
const HISTORY_MS: i64 = 3 * 3_600_000;
/// moto seeding calls in flight at once.
const SEED_CONCURRENCY: usize = 8;
const CONFIG: &str = "[default]\nregion = us-east-1\n";
const CREDENTIALS: &str =
    "[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n";

/// How big each scenario is.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub throughput_streams: usize,
    pub throughput_events_per_stream: u64,
    pub moto_events_per_stream: u64,
    pub many_streams: usize,
    pub many_events_per_stream: u64,
    pub fan_out_regions: usize,
    pub fan_out_latency: Duration,
    pub start_up_runs: usize,
    /// Runs of the throughput and backlog scenarios: the fastest is reported (the machine is
    /// shared and noisy), with the highest peak RSS of them all.
    pub repeats: usize,
    pub backlog_events: u64,
}

impl Sizes {
    pub const FULL: Sizes = Sizes {
        throughput_streams: 10,
        throughput_events_per_stream: 100_000,
        moto_events_per_stream: 100_000,
        many_streams: 1_000,
        many_events_per_stream: 100,
        fan_out_regions: COMMERCIAL_REGIONS.len(),
        fan_out_latency: Duration::from_millis(100),
        start_up_runs: 5,
        repeats: 2,
        backlog_events: 5_000_000,
    };
    pub const SMOKE: Sizes = Sizes {
        throughput_streams: 10,
        throughput_events_per_stream: 500,
        moto_events_per_stream: 100,
        many_streams: 60,
        many_events_per_stream: 5,
        fan_out_regions: 3,
        fan_out_latency: Duration::from_millis(10),
        start_up_runs: 1,
        repeats: 1,
        backlog_events: 20_000,
    };
}

pub struct Bench {
    pub binary: PathBuf,
    pub sizes: Sizes,
    pub runtime: Runtime,
}

type Scenario = fn(&Bench) -> Result<Vec<Row>, BenchError>;

pub const ALL: &[(&str, Scenario)] = &[
    ("1 throughput (replay)", throughput_replay),
    ("1 throughput (moto)", throughput_moto),
    ("2 many streams", many_streams),
    ("3 fan-out", fan_out),
    ("4 start-up", start_up),
    ("5 large backlog", large_backlog),
];

/// A Wazuh home with a counting analysisd, and `~/.aws` files with the test keys.
struct World {
    home: WazuhHome,
    aws: AwsFiles,
    receiver: Receiver,
}

impl World {
    fn new() -> Result<World, BenchError> {
        let home = WazuhHome::new();
        let receiver = Receiver::bind(&home.queue_socket_path())?;
        Ok(World {
            home,
            aws: AwsFiles::new(CONFIG, CREDENTIALS),
            receiver,
        })
    }

    /// The reference's one-shot command reading `group` in `regions` from `first`'s day.
    fn collector(
        &self,
        bench: &Bench,
        endpoint_url: &str,
        group: &str,
        regions: &str,
        first: i64,
        extra: &[&str],
    ) -> Command {
        let mut command = Command::new(&bench.binary);
        self.aws
            .child_env(endpoint_url)
            .set("WAZUH_HOME", self.home.path())
            .unset("WODLE_AWS_IDLE_STREAM_LAG")
            .unset("WODLE_AWS_API_QUOTAS")
            .unset("RUST_LOG")
            .apply(&mut command);
        command
            .args(["--service", "cloudwatchlogs", "-g", group, "-r", regions])
            .args(["--only_logs_after", &date_arg(first)])
            .args(extra);
        command
    }

    fn run(&self, command: Command) -> Result<ChildRun, BenchError> {
        run_child(command, self.home.path())
    }
}

/// `only_logs_after`'s format, `YYYY-MMM-DD`, for the UTC day holding `millis`.
fn date_arg(millis: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(millis.div_euclid(1000)) {
        Ok(instant) => {
            let date = instant.date();
            let month = date.month().to_string()[..3].to_ascii_uppercase();
            format!("{:04}-{month}-{:02}", date.year(), date.day())
        }
        Err(_) => "1970-JAN-01".to_owned(),
    }
}

fn megabytes(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn seconds(duration: Duration) -> f64 {
    duration.as_secs_f64()
}

/// Events per second, CPU per million events and peak RSS of a run delivering `events`.
fn delivery_rows(scenario: &str, run: &ChildRun, events: u64, targets: bool) -> Vec<Row> {
    let per_second = events as f64 / seconds(run.wall);
    let cpu_per_million = seconds(run.cpu()) / events as f64 * 1e6;
    vec![
        Row::new(scenario, "events delivered", events as f64, "", None),
        Row::new(scenario, "wall time", seconds(run.wall), "s", None),
        Row::new(
            scenario,
            "events/s",
            per_second.round(),
            "",
            targets.then_some(250_000.0).and_then(Target::at_least),
        ),
        Row::new(
            scenario,
            "CPU (user+sys) per million events",
            cpu_per_million,
            "s",
            targets.then_some(4.0).and_then(Target::at_most),
        ),
        Row::new(
            scenario,
            "peak RSS",
            megabytes(run.peak_rss_bytes),
            "MB",
            Some(64.0).and_then(Target::at_most),
        ),
    ]
}

/// Runs `once` `repeats` times: the fastest run's times, the highest peak RSS.
fn best_of(
    repeats: usize,
    mut once: impl FnMut() -> Result<ChildRun, BenchError>,
) -> Result<ChildRun, BenchError> {
    let mut best: Option<ChildRun> = None;
    for _ in 0..repeats.max(1) {
        best = Some(faster(best, once()?));
    }
    best.ok_or_else(|| BenchError::Failed("no run".to_owned()))
}

/// The faster of two runs, with the higher peak RSS of both.
fn faster(best: Option<ChildRun>, run: ChildRun) -> ChildRun {
    match best {
        None => run,
        Some(best) => {
            let peak_rss_bytes = best.peak_rss_bytes.max(run.peak_rss_bytes);
            let faster = if run.wall < best.wall { run } else { best };
            ChildRun {
                peak_rss_bytes,
                ..faster
            }
        }
    }
}

fn throughput_replay(bench: &Bench) -> Result<Vec<Row>, BenchError> {
    const SCENARIO: &str = "1 throughput (replay)";
    let sizes = bench.sizes;
    let first = now_millis() - HISTORY_MS;
    let dataset = Dataset::uniform(
        first,
        "bench-throughput",
        sizes.throughput_streams,
        sizes.throughput_events_per_stream,
        MESSAGE_BYTES,
    );
    let total = dataset.total_events();
    let server = ReplayServer::start(dataset);
    let run = best_replay_run(bench, &server, "bench-throughput", first, total)?;
    let mut rows = delivery_rows(SCENARIO, &run, total, true);
    rows[1].metric = format!("wall time (best of {})", sizes.repeats);
    rows.push(Row::new(
        SCENARIO,
        "GetLogEvents calls per run",
        (server.requests("GetLogEvents") / sizes.repeats.max(1)) as f64,
        "",
        None,
    ));
    Ok(rows)
}

/// The best of `bench.sizes.repeats` runs reading `group` of `server` to its end, each
/// with a fresh database (so every run reads everything), checking that analysisd got
/// all `total` events.
fn best_replay_run(
    bench: &Bench,
    server: &ReplayServer,
    group: &str,
    first: i64,
    total: u64,
) -> Result<ChildRun, BenchError> {
    best_of(bench.sizes.repeats, || {
        let world = World::new()?;
        let run = world.run(world.collector(
            bench,
            &server.endpoint_url(),
            group,
            "us-east-1",
            first,
            &["--api-quotas", HIGH_QUOTAS],
        ))?;
        world.receiver.expect_total(total)?;
        Ok(run)
    })
}

/// Creates `streams` in `group` (which exists) concurrently, each holding `events` generated
/// events from `first`.
async fn seed_streams(
    seeder: &CloudWatchSeeder,
    group: &str,
    streams: &[String],
    events: u64,
    first: i64,
) -> Result<(), BenchError> {
    let permits = Arc::new(Semaphore::new(SEED_CONCURRENCY));
    let mut tasks = JoinSet::new();
    for stream in streams {
        let (seeder, group, stream) = (seeder.clone(), group.to_owned(), stream.clone());
        let permits = Arc::clone(&permits);
        tasks.spawn(async move {
            let _permit = permits.acquire().await;
            seeder.create_log_stream(&group, &stream).await;
            let batch: Vec<(i64, String)> = (0..events)
                .map(|index| (first + index as i64, message(&stream, index, MESSAGE_BYTES)))
                .collect();
            if !batch.is_empty() {
                seeder.put_events(&group, &stream, &batch).await;
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.map_err(|e| BenchError::Failed(format!("seeding moto failed: {e}")))?;
    }
    Ok(())
}

/// User plus system CPU time of a running process, from `/proc/PID/stat` (in USER_HZ ticks,
/// 100 a second on Linux).
fn process_cpu(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis((user + system) * 10))
}

fn stream_names(count: usize) -> Vec<String> {
    (0..count)
        .map(|index| format!("stream-{index:04}"))
        .collect()
}

/// Pages through every stream as a plain SDK loop would (no delivery): the emulator's own
/// serving time. Returns the events seen.
async fn page_through(
    client: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    streams: &[String],
) -> Result<u64, BenchError> {
    let mut events = 0;
    for stream in streams {
        let mut token: Option<String> = None;
        loop {
            let page = client
                .get_log_events()
                .log_group_name(group)
                .log_stream_name(stream)
                .start_from_head(true)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| BenchError::Failed(format!("GetLogEvents {stream}: {e:?}")))?;
            events += page.events().len() as u64;
            let next = page.next_forward_token().map(str::to_owned);
            if next.is_none() || next == token {
                break;
            }
            token = next;
        }
    }
    Ok(events)
}

fn throughput_moto(bench: &Bench) -> Result<Vec<Row>, BenchError> {
    const SCENARIO: &str = "1 throughput (moto)";
    const GROUP: &str = "bench-throughput";
    let sizes = bench.sizes;
    let first = now_millis() - HISTORY_MS;
    let streams = stream_names(sizes.throughput_streams);
    let total = sizes.moto_events_per_stream * streams.len() as u64;
    let moto = MotoServer::start();
    let seeder = moto.seeder("us-east-1");
    let seeding = Instant::now();
    bench.runtime.block_on(async {
        seeder.create_log_group(GROUP).await;
        // One stream at a time: moto serialises the calls anyway.
        for stream in &streams {
            seed_streams(
                &seeder,
                GROUP,
                std::slice::from_ref(stream),
                sizes.moto_events_per_stream,
                first,
            )
            .await?;
        }
        Ok::<(), BenchError>(())
    })?;
    let seeded = seeding.elapsed();

    // Each measured alternately, the fastest of each kept.
    let mut serving = Duration::MAX;
    let mut best: Option<ChildRun> = None;
    // moto's own CPU time while serving each: whether it worked more for the collector or
    // the collector waited.
    let (mut moto_cpu_loop, mut moto_cpu_collector) = (Duration::MAX, Duration::MAX);
    let moto_cpu = || process_cpu(moto.pid()).unwrap_or_default();
    for _ in 0..sizes.repeats.max(1) {
        let cpu_before = moto_cpu();
        let started = Instant::now();
        let served = bench.runtime.block_on(page_through(
            &moto.logs_client("us-east-1"),
            GROUP,
            &streams,
        ))?;
        serving = serving.min(started.elapsed());
        moto_cpu_loop = moto_cpu_loop.min(moto_cpu().saturating_sub(cpu_before));
        if served != total {
            return Err(BenchError::Failed(format!(
                "moto served {served} events, {total} were put"
            )));
        }
        let cpu_before = moto_cpu();
        let world = World::new()?;
        let run = world.run(world.collector(
            bench,
            &moto.endpoint_url(),
            GROUP,
            "us-east-1",
            first,
            &["--api-quotas", HIGH_QUOTAS],
        ))?;
        world.receiver.expect_total(total)?;
        moto_cpu_collector = moto_cpu_collector.min(moto_cpu().saturating_sub(cpu_before));
        best = Some(faster(best, run));
    }
    let run = best.ok_or_else(|| BenchError::Failed("no run".to_owned()))?;
    Ok(vec![
        Row::new(SCENARIO, "events delivered", total as f64, "", None),
        Row::new(
            SCENARIO,
            "seeding moto (testkit seeder, PutLogEvents of <= 10,000 events / 1 MB)",
            seconds(seeded),
            "s",
            None,
        ),
        Row::new(
            SCENARIO,
            &format!(
                "moto's own serving time (SDK loop, no delivery; best of {})",
                sizes.repeats
            ),
            seconds(serving),
            "s",
            None,
        ),
        Row::new(
            SCENARIO,
            &format!("wodle-aws wall time (best of {})", sizes.repeats),
            seconds(run.wall),
            "s",
            None,
        ),
        Row::new(
            SCENARIO,
            "moto's CPU time serving the SDK loop",
            seconds(moto_cpu_loop),
            "s",
            None,
        ),
        Row::new(
            SCENARIO,
            "moto's CPU time serving wodle-aws",
            seconds(moto_cpu_collector),
            "s",
            None,
        ),
        Row::new(
            SCENARIO,
            "wodle-aws CPU time",
            seconds(run.cpu()),
            "s",
            None,
        ),
        Row::new(
            SCENARIO,
            "wodle-aws wall / moto serving",
            seconds(run.wall) / seconds(serving),
            "x",
            Target::at_most(1.2),
        ),
        Row::new(
            SCENARIO,
            "events/s",
            (total as f64 / seconds(run.wall)).round(),
            "",
            None,
        ),
        Row::new(
            SCENARIO,
            "peak RSS",
            megabytes(run.peak_rss_bytes),
            "MB",
            Target::at_most(64.0),
        ),
    ])
}

fn many_streams(bench: &Bench) -> Result<Vec<Row>, BenchError> {
    const SCENARIO: &str = "2 many streams (moto)";
    const GROUP: &str = "bench-many";
    let sizes = bench.sizes;
    let first = now_millis() - HISTORY_MS;
    let streams = stream_names(sizes.many_streams);
    let total = sizes.many_events_per_stream * streams.len() as u64;
    let moto = MotoServer::start();
    let seeder = moto.seeder("us-east-1");
    bench.runtime.block_on(async {
        seeder.create_log_group(GROUP).await;
        seed_streams(
            &seeder,
            GROUP,
            &streams,
            sizes.many_events_per_stream,
            first,
        )
        .await
    })?;
    // AWS's clock (the Date header) has whole seconds: a stream ingested within the second of
    // a read cannot be told idle from it. Idle streams on AWS are older than that.
    std::thread::sleep(Duration::from_millis(1_100));
    let proxy = FaultProxy::start(&moto.endpoint_url());
    let world = World::new()?;
    let args = ["--api-quotas", HIGH_QUOTAS, "--idle-stream-lag", "0"];
    let first_run = world.run(world.collector(
        bench,
        &proxy.endpoint_url(),
        GROUP,
        "us-east-1",
        first,
        &args,
    ))?;
    world.receiver.expect_total(total)?;
    let calls = |operation| proxy.requests(operation);
    let (events_before, streams_before) = (calls("GetLogEvents"), calls("DescribeLogStreams"));
    let rerun = world.run(world.collector(
        bench,
        &proxy.endpoint_url(),
        GROUP,
        "us-east-1",
        first,
        &args,
    ))?;
    world.receiver.expect_total(total)?;
    let listing_pages = streams.len().div_ceil(50) as f64;
    Ok(vec![
        Row::new(
            SCENARIO,
            &format!("streams ({} events each)", sizes.many_events_per_stream),
            streams.len() as f64,
            "",
            None,
        ),
        Row::new(
            SCENARIO,
            "first run wall time",
            seconds(first_run.wall),
            "s",
            None,
        ),
        Row::new(
            SCENARIO,
            "first run GetLogEvents calls",
            events_before as f64,
            "",
            None,
        ),
        Row::new(
            SCENARIO,
            "idle rerun wall time (--idle-stream-lag 0)",
            seconds(rerun.wall),
            "s",
            None,
        ),
        Row::new(
            SCENARIO,
            "idle rerun GetLogEvents calls",
            (calls("GetLogEvents") - events_before) as f64,
            "",
            Target::at_most(0.0),
        ),
        Row::new(
            SCENARIO,
            "idle rerun DescribeLogStreams calls",
            (calls("DescribeLogStreams") - streams_before) as f64,
            "",
            Target::at_most(listing_pages),
        ),
        Row::new(
            SCENARIO,
            "idle rerun peak RSS",
            megabytes(rerun.peak_rss_bytes),
            "MB",
            Target::at_most(64.0),
        ),
    ])
}

fn fan_out(bench: &Bench) -> Result<Vec<Row>, BenchError> {
    const SCENARIO: &str = "3 fan-out (moto + latency)";
    const GROUP: &str = "bench-fanout";
    const EVENTS: u64 = 10;
    let sizes = bench.sizes;
    let regions = &COMMERCIAL_REGIONS[..sizes.fan_out_regions.min(COMMERCIAL_REGIONS.len())];
    let first = now_millis() - HISTORY_MS;
    let moto = MotoServer::start();
    bench.runtime.block_on(async {
        for region in regions {
            let seeder = moto.seeder(region);
            seeder.create_log_group(GROUP).await;
            seed_streams(&seeder, GROUP, &["only".to_owned()], EVENTS, first).await?;
        }
        Ok::<(), BenchError>(())
    })?;
    let proxy = FaultProxy::start(&moto.endpoint_url());
    let world = World::new()?;
    let all = regions.join(",");
    let one = regions.first().copied().unwrap_or("us-east-1");
    let quotas = ["--api-quotas", AWS_QUOTAS];
    // Read everything once, without latency: the measured runs find nothing new.
    world.run(world.collector(bench, &proxy.endpoint_url(), GROUP, &all, first, &quotas))?;
    let total = EVENTS * regions.len() as u64;
    world.receiver.expect_total(total)?;
    proxy.add(FaultRule::any(Fault::Slow(sizes.fan_out_latency)).times(usize::MAX));
    let all_run =
        world.run(world.collector(bench, &proxy.endpoint_url(), GROUP, &all, first, &quotas))?;
    let one_run =
        world.run(world.collector(bench, &proxy.endpoint_url(), GROUP, one, first, &quotas))?;
    world.receiver.expect_total(total)?;
    let latency = format!("{} ms", sizes.fan_out_latency.as_millis());
    Ok(vec![
        Row::new(
            SCENARIO,
            &format!("regions (each call +{latency}, {AWS_QUOTAS})"),
            regions.len() as f64,
            "",
            None,
        ),
        Row::new(
            SCENARIO,
            "all regions, nothing new: wall time",
            seconds(all_run.wall),
            "s",
            None,
        ),
        Row::new(
            SCENARIO,
            &format!("one region ({one}), nothing new: wall time"),
            seconds(one_run.wall),
            "s",
            None,
        ),
        Row::new(
            SCENARIO,
            "all regions / one region",
            seconds(all_run.wall) / seconds(one_run.wall),
            "x",
            Target::at_most(3.0),
        ),
    ])
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn start_up(bench: &Bench) -> Result<Vec<Row>, BenchError> {
    const SCENARIO: &str = "4 start-up (replay, empty group)";
    const GROUP: &str = "bench-empty";
    let first = now_millis() - HISTORY_MS;
    let (mut walls, mut first_calls, mut rss) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..bench.sizes.start_up_runs.max(1) {
        let server = ReplayServer::start(Dataset {
            groups: vec![LogGroup {
                name: GROUP.to_owned(),
                streams: Vec::new(),
            }],
            ..Dataset::uniform(first, GROUP, 0, 0, 0)
        });
        let world = World::new()?;
        let run = world.run(world.collector(
            bench,
            &server.endpoint_url(),
            GROUP,
            "us-east-1",
            first,
            &["--api-quotas", HIGH_QUOTAS],
        ))?;
        world.receiver.expect_total(0)?;
        let first_request = server
            .first_request_at()
            .ok_or_else(|| BenchError::Failed("the binary made no request".to_owned()))?;
        walls.push(seconds(run.wall) * 1000.0);
        first_calls.push(seconds(first_request.saturating_duration_since(run.spawned_at)) * 1000.0);
        rss.push(megabytes(run.peak_rss_bytes));
    }
    let runs = walls.len();
    Ok(vec![
        Row::new(
            SCENARIO,
            &format!("wall time to exit (median of {runs})"),
            median(walls),
            "ms",
            None,
        ),
        Row::new(
            SCENARIO,
            &format!("spawn to first API call (median of {runs})"),
            median(first_calls),
            "ms",
            Target::at_most(50.0),
        ),
        Row::new(
            SCENARIO,
            "peak RSS",
            median(rss),
            "MB",
            Target::at_most(64.0),
        ),
    ])
}

fn large_backlog(bench: &Bench) -> Result<Vec<Row>, BenchError> {
    const SCENARIO: &str = "5 large backlog (replay, one stream)";
    let first = now_millis() - HISTORY_MS;
    // Pages are built per request: 5,000,000 events' bodies (~1.3 GB) are not kept.
    let dataset = Dataset {
        page_cache_bytes: 0,
        ..Dataset::uniform(
            first,
            "bench-backlog",
            1,
            bench.sizes.backlog_events,
            MESSAGE_BYTES,
        )
    };
    let total = dataset.total_events();
    let server = ReplayServer::start(dataset);
    let run = best_replay_run(bench, &server, "bench-backlog", first, total)?;
    let mut rows = delivery_rows(SCENARIO, &run, total, false);
    rows[1].metric = format!("wall time (best of {})", bench.sizes.repeats);
    Ok(rows)
}
