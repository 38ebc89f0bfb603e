#!/usr/bin/env bash
# Bounded fuzzing for CI (issue 8). On stable Rust: tests/fuzz_stable.rs drives every
# target body in fuzz/targets.rs with the committed seed corpus plus seeded mutations
# (LUMEN_FUZZ_ITERS per target, default 200,000 here: ~1.85 M executions, under three
# minutes in the debug test build on 2 cores). With a nightly toolchain and
# cargo-fuzz installed, it also runs each libFuzzer target for LUMEN_FUZZ_SECONDS (default 20) from the same corpus.
# Exit non-zero on any crash.
set -euo pipefail
cd "$(dirname "$0")/.."

export LUMEN_FUZZ_ITERS="${LUMEN_FUZZ_ITERS:-200000}"
echo "::group::stable mutation fuzzing (${LUMEN_FUZZ_ITERS} mutations per target)"
cargo test --locked --test fuzz_stable -- --nocapture
echo "::endgroup::"

if cargo +nightly --version >/dev/null 2>&1 && cargo +nightly fuzz --version >/dev/null 2>&1; then
    secs="${LUMEN_FUZZ_SECONDS:-20}"
    echo "::group::cargo-fuzz (${secs} s per target)"
    for t in $(cargo +nightly fuzz list --fuzz-dir fuzz); do
        # Copy the seeds: libFuzzer adds what it finds to the first corpus directory.
        work="$(mktemp -d)"
        cp -r "fuzz/corpus/$t/." "$work/"
        cargo +nightly fuzz run --fuzz-dir fuzz "$t" "$work" -- -max_total_time="$secs" -rss_limit_mb=2048
        rm -rf "$work"
    done
    echo "::endgroup::"
else
    echo "cargo-fuzz/nightly not available: libFuzzer targets skipped (the stable harness above ran the same bodies)"
fi
