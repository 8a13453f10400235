//! Time to render the full demo report (run, search, sweep and plan: eight
//! charts and the page) from the result files in `tests/fixtures/report/`.
//! Target: under 3 s on the 2-core CI machine.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};

fn full_demo_report(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report");
    for part in ["run", "find", "sweep", "plan"] {
        std::fs::create_dir_all(dir.path().join(part)).unwrap();
        for e in std::fs::read_dir(src.join(part)).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), dir.path().join(part).join(e.file_name())).unwrap();
        }
    }
    let mut g = c.benchmark_group("report");
    g.sample_size(10);
    g.bench_function("full demo page", |b| {
        b.iter(|| headroom::report::page::render(dir.path()).unwrap())
    });
    g.finish();
}

criterion_group!(benches, full_demo_report);
criterion_main!(benches);
