//! docs/PERF.md bar: a 100 k-series exposition (~10 MB) parsed under 150 ms in release.
//! `cargo bench --bench exposition`; numbers recorded in docs/exposition.md.
//! The `prometheus-parse` row is the crate the brief named, for comparison only.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group};

/// 100 k series shaped like an HQ exporter's: four labels, some escapes, a timestamp
/// on every tenth line, HELP/TYPE per family of 1,000.
pub fn body(series: usize) -> String {
    let mut s = String::with_capacity(series * 110);
    for i in 0..series {
        let fam = i / 1000;
        if i % 1000 == 0 {
            s.push_str(&format!(
                "# HELP hq_branch_latency_seconds_{fam} Latency per branch.\n# TYPE hq_branch_latency_seconds_{fam} gauge\n"
            ));
        }
        s.push_str(&format!(
            "hq_branch_latency_seconds_{fam}{{branch=\"branch-{i:06}\",tier=\"standard\",region=\"ap-northeast-2\",note=\"a,b=c \\\"q\\\"\"}} {}.{:03}",
            i % 7,
            i % 1000
        ));
        if i % 10 == 0 {
            s.push_str(" 1700000000000");
        }
        s.push('\n');
    }
    s
}

fn bench(c: &mut Criterion) {
    let text = body(100_000);
    let mut g = c.benchmark_group("exposition_100k");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(8));
    g.bench_function("lumen::parse", |b| {
        b.iter(|| {
            let p = lumen::domain::exposition::parse(black_box(text.as_bytes()));
            assert_eq!(p.samples.len(), 100_000);
            p
        })
    });
    g.bench_function("prometheus_parse", |b| {
        b.iter(|| {
            let lines = black_box(&text).lines().map(|l| Ok(l.to_owned()));
            prometheus_parse::Scrape::parse(lines)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);

/// `LUMEN_BENCH_ITERS=N` runs the parse N times without criterion, for CPU-time
/// figures on a shared machine: `perf stat -e task-clock` with N=0 and N=20, the
/// difference divided by 20 is CPU time per parse, whatever else is running.
fn main() {
    if let Some(n) = std::env::var("LUMEN_BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        let text = body(100_000);
        let start = std::time::Instant::now();
        for _ in 0..n {
            let p = lumen::domain::exposition::parse(black_box(text.as_bytes()));
            assert_eq!(p.samples.len(), 100_000);
        }
        if n > 0 {
            println!(
                "{} bytes, {n} parses, {:.1} ms wall per parse",
                text.len(),
                start.elapsed().as_secs_f64() * 1000.0 / n as f64
            );
        }
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
