//! How fast a timed-out hook is cut: `run_hook` with a 200 ms timeout on a shell that
//! forks `sleep 30`. The whole process group is killed and the pipes close, so a run
//! takes the timeout plus the kill (tests/actions_hook.rs proves the kill itself).

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use lumen::operator::hook::run_hook;

fn bench(c: &mut Criterion) {
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => panic!("runtime: {e}"),
    };
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("tempdir: {e}"),
    };
    let argv: Vec<String> = ["sh", "-c", "sleep 30; echo late"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut g = c.benchmark_group("hook");
    g.sample_size(10);
    g.bench_function("timeout_200ms_kills_the_group", |b| {
        b.iter(|| {
            let r = rt.block_on(run_hook(&argv, Duration::from_millis(200), dir.path()));
            assert!(r.timed_out && !r.stdout.contains("not waited for"), "{r:?}");
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
