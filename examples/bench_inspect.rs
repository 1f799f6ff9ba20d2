//! Throughput of the pickle reader, for scripts/bench: one large pickle on one core, and many
//! page payload files on one core vs all cores.
//!   cargo run --release --example bench_inspect -- SITE.pickle PAGES_DIR
use picklecost::pickle::{self, InspectOptions};
use std::path::PathBuf;
use std::time::Instant;

fn best_of<F: FnMut()>(runs: usize, mut f: F) -> f64 {
    f();
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let site = std::fs::read(&args[1]).expect("site pickle");
    let mb = site.len() as f64 / 1e6;
    let scan = best_of(5, || {
        pickle::scan(&site).unwrap();
    });
    let options = InspectOptions {
        check_plain: false,
        ..Default::default()
    };
    let inspect = best_of(3, || {
        pickle::inspect_all_with(&site, &options);
    });
    println!(
        "site pickle {mb:.1} MB: opcode scan {:.0} MB/s, full inspect {:.0} MB/s (one core)",
        mb / scan,
        mb / inspect
    );

    // Further arguments: pickles whose opcode mix is harder than a Site's long strings.
    for extra in &args[3..] {
        let data = std::fs::read(extra).expect("pickle");
        let mb = data.len() as f64 / 1e6;
        let ops = pickle::scan(&data).unwrap();
        let scan = best_of(3, || {
            pickle::scan(&data).unwrap();
        });
        let inspect = best_of(2, || {
            pickle::inspect_all_with(&data, &options);
        });
        println!(
            "{} {mb:.1} MB, {ops} opcodes: opcode scan {:.0} MB/s, full inspect {:.0} MB/s (one core)",
            std::path::Path::new(extra).file_name().unwrap().to_string_lossy(),
            mb / scan,
            mb / inspect
        );
    }

    let mut files: Vec<PathBuf> = std::fs::read_dir(&args[2])
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let total: u64 = files.iter().map(|f| std::fs::metadata(f).unwrap().len()).sum();
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let single = best_of(3, || {
        one.install(|| pickle::inspect_files(&files));
    });
    let all = best_of(3, || {
        pickle::inspect_files(&files);
    });
    println!(
        "{} page payload files ({:.1} MB): {:.3} s on one core, {:.3} s on {} cores, speed-up {:.2}x",
        files.len(),
        total as f64 / 1e6,
        single,
        all,
        rayon::current_num_threads(),
        single / all
    );
}
