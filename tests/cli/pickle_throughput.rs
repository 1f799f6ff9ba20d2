//! Throughput on ~50 MB CPython pickles: a benchmark, not a check, so it is ignored. Run with
//! `cargo test --release --test cli -- --ignored --nocapture pickle_throughput::`.

use std::path::Path;
use std::time::Instant;

use picklecost::pickle::{InspectOptions, inspect_all_with, scan};

fn mbps(bytes: usize, runs: usize, f: impl Fn()) -> f64 {
    f(); // warm the page cache and allocator
    let t = Instant::now();
    for _ in 0..runs {
        f();
    }
    (bytes * runs) as f64 / t.elapsed().as_secs_f64() / 1e6
}

#[test]
#[ignore = "a benchmark: cargo test --release --test cli -- --ignored --nocapture pickle_throughput::"]
fn throughput() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("big");
    if !dir.join("big_strings.pkl").exists() {
        crate::util::run_python("gen_big.py", &[dir.to_str().unwrap()]);
    }
    let no_plain = InspectOptions {
        check_plain: false,
        ..Default::default()
    };
    let full = InspectOptions::default();
    for name in ["small_objects.pkl", "instances.pkl", "big_strings.pkl"] {
        let data = std::fs::read(dir.join(name)).unwrap();
        let ops = scan(&data).unwrap();
        let r = inspect_all_with(&data, &full);
        assert!(r.iter().all(|r| r.is_ok()));
        println!(
            "{name}: {:.1} MB, {ops} ops | scan {:.0} MB/s | inspect {:.0} MB/s | inspect+plain check {:.0} MB/s (plain={})",
            data.len() as f64 / 1e6,
            mbps(data.len(), 5, || {
                scan(&data).unwrap();
            }),
            mbps(data.len(), 3, || {
                inspect_all_with(&data, &no_plain);
            }),
            mbps(data.len(), 1, || {
                inspect_all_with(&data, &full);
            }),
            r[0].as_ref().unwrap().plain_data,
        );
    }
}
