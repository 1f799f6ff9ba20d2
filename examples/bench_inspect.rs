//! Throughput of the pickle reader, for scripts/bench: large pickles on one core (opcode scan,
//! analysis without and with the plain-data decision), and a directory of small pickles on
//! one core vs all cores. End-to-end figures (process start, I/O, peak RSS) come from
//! scripts/bench, which runs the binary.
//!   cargo run --release --example bench_inspect -- PAGES_DIR BIG.pickle...
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
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let no_plain = InspectOptions {
        check_plain: false,
        ..Default::default()
    };
    let full = InspectOptions::default();
    for big in &args[2..] {
        let data = std::fs::read(big).expect("pickle");
        let mb = data.len() as f64 / 1e6;
        let ops = pickle::scan(&data).unwrap();
        let scan = best_of(3, || {
            pickle::scan(&data).unwrap();
        });
        let bare = best_of(2, || {
            pickle::inspect_all_with(&data, &no_plain);
        });
        let with_plain = best_of(2, || {
            pickle::inspect_all_with(&data, &full);
        });
        let plain = pickle::inspect_all_with(&data, &full)
            .iter()
            .all(|r| matches!(r, Ok(s) if s.plain_data));
        println!(
            "{} {mb:.1} MB, {ops} opcodes, plain={plain}: in-process on one core: opcode scan {:.0} MB/s, \
             analysis {:.0} MB/s, analysis + plain-data decision {:.0} MB/s",
            std::path::Path::new(big).file_name().unwrap().to_string_lossy(),
            mb / scan,
            mb / bare,
            mb / with_plain
        );
    }

    let mut files: Vec<PathBuf> = std::fs::read_dir(&args[1])
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let total: u64 = files.iter().map(|f| std::fs::metadata(f).unwrap().len()).sum();
    let single = best_of(3, || {
        one.install(|| pickle::inspect_files(&files));
    });
    let all = best_of(3, || {
        pickle::inspect_files(&files);
    });
    let n = files.len() as f64;
    let mb = total as f64 / 1e6;
    println!(
        "{} files ({mb:.1} MB), in-process, files read from disk each run: 1 thread {:.0} files/s {:.0} MB/s; \
         {} threads {:.0} files/s {:.0} MB/s; speed-up {:.2}x",
        files.len(),
        n / single,
        mb / single,
        rayon::current_num_threads(),
        n / all,
        mb / all,
        single / all
    );
}
