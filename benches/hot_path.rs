//! Per-request costs on the generator's hot path: recording a response,
//! computing the next arrival, building a request from its template, and
//! the once-a-second merge of shard snapshots.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use headroom::load::{Schedule, Template};
use headroom::metrics::{Aggregator, Recorder};
use headroom::scenario::{Arrivals, BaseUrl, Profile, RequestSpec};

fn recording(c: &mut Criterion) {
    let mut g = c.benchmark_group("record");
    g.throughput(Throughput::Elements(1));
    let mut rec = Recorder::new(1, 1);
    let mut i = 0u64;
    g.bench_function("sent+ok", |b| {
        b.iter(|| {
            i = i.wrapping_add(7919);
            let lat = Duration::from_micros(500 + i % 20_000);
            rec.sent(0, Duration::from_micros(i % 300));
            rec.ok(0, black_box(lat), lat, 3);
        })
    });
    g.finish();
}

fn scheduling(c: &mut Criterion) {
    let mut g = c.benchmark_group("schedule");
    let n = 100_000u64;
    g.throughput(Throughput::Elements(n));
    let profile = Profile::constant(10_000.0, Duration::from_secs(10));
    for (name, arrivals) in [
        ("uniform", Arrivals::Uniform),
        ("poisson", Arrivals::Poisson),
    ] {
        let s = Schedule::new(&profile, arrivals, Some(n), 1);
        g.bench_function(name, |b| b.iter(|| s.shard(0, 1).map(|a| a.at).max()));
    }
    g.finish();
}

/// Values as a flow run would give them.
struct Run(u64);
impl headroom::scenario::template::Values for Run {
    fn data(&self, _: usize, _: usize) -> &str {
        "user-0042"
    }
    fn extracted(&self, _: usize) -> &str {
        "tok-7f3a9c1e"
    }
    fn counter(&self) -> u64 {
        self.0
    }
    fn random_u128(&mut self) -> u128 {
        u128::from(self.0) << 64 | 0x1234
    }
    fn random_int(&mut self, lo: i64, _: i64) -> i64 {
        lo
    }
}

fn templating(c: &mut Criterion) {
    let base = BaseUrl::parse("http://127.0.0.1:8080").unwrap();
    let t = Template::new(&RequestSpec::get("home", "/index.html?x=1"), &base).unwrap();
    let mut run = Run(1);
    c.bench_function("template/build", |b| {
        b.iter(|| black_box(t.build(false, &mut run)))
    });
    // A flow step with a templated path, an extracted bearer token and a body.
    let plan = headroom::scenario::parse(
        std::path::Path::new("bench.toml"),
        r#"
        target = { url = "http://127.0.0.1:8080" }
        load = { rate = 10, duration = "1s" }
        [[flow]]
        name = "shop"
        [[flow.step]]
        name = "login"
        method = "POST"
        path = "/login"
        extract = { token = { json = "/token" } }
        [[flow.step]]
        name = "cart"
        method = "POST"
        path = "/api/cart/{{ counter }}?item={{ random_int(1, 500) }}"
        headers = { authorization = "Bearer {{ token }}" }
        body = '{"id":"{{ uuid }}"}'
        "#,
    )
    .unwrap();
    let t = Template::new(&plan.requests[1], &base).unwrap();
    c.bench_function("template/build_rendered", |b| {
        b.iter(|| {
            run.0 += 1;
            black_box(t.build(false, &mut run))
        })
    });
}

fn merging(c: &mut Criterion) {
    // One second of two shards with 5 000 responses each.
    let snaps = || {
        (0..2)
            .map(|_| {
                let mut r = Recorder::new(1, 1);
                for i in 0..5_000u64 {
                    r.sent(0, Duration::from_micros(i % 200));
                    r.ok(
                        0,
                        Duration::from_micros(1_000 + i * 3),
                        Duration::from_micros(900 + i * 3),
                        10,
                    );
                }
                r.take()
            })
            .collect::<Vec<_>>()
    };
    c.bench_function("aggregate/interval-2-shards", |b| {
        b.iter_batched(
            snaps,
            |s| {
                let mut agg = Aggregator::new(2, 1);
                s.iter().map(|x| agg.add(x).len()).sum::<usize>()
            },
            criterion::BatchSize::LargeInput,
        )
    });
}

criterion_group!(benches, recording, scheduling, templating, merging);
criterion_main!(benches);
