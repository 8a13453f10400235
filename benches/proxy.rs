//! What `headroom proxy` costs without a toxic, beside a direct connection
//! to the same echo server on loopback: a new connection carrying one
//! 100-byte exchange (per-connection overhead: the proxy's accept, its
//! upstream connect and two pumps), and one exchange on a kept connection
//! (per-chunk overhead). `benches/proxy_ratio.sh` measures the throughput
//! ratio with real HTTP load.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};

use criterion::{criterion_group, criterion_main, Criterion};
use headroom::proxy::{ProxySpec, Server};

/// An echo server: every connection gets its bytes back.
fn echo() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || {
                let _ = s.set_nodelay(true);
                let mut buf = [0u8; 4096];
                let mut s = s;
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 || s.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

fn exchange(s: &mut TcpStream, msg: &[u8], back: &mut [u8]) {
    s.write_all(msg).unwrap();
    s.read_exact(back).unwrap();
}

fn proxy(c: &mut Criterion) {
    let upstream = echo();
    let server = Server::start(None).unwrap();
    let p = server
        .proxies
        .create(ProxySpec {
            name: Some("bench".into()),
            listen: Some("127.0.0.1:0".into()),
            upstream: Some(upstream.to_string()),
            enabled: None,
        })
        .unwrap();
    let via: SocketAddr = p.listen.parse().unwrap();
    let msg = [7u8; 100];
    let mut back = [0u8; 100];
    let mut g = c.benchmark_group("proxy");
    for (name, addr) in [("direct", upstream), ("proxied", via)] {
        g.bench_function(format!("connection/{name}"), |b| {
            b.iter(|| {
                let mut s = TcpStream::connect(addr).unwrap();
                let _ = s.set_nodelay(true);
                exchange(&mut s, &msg, &mut back);
            })
        });
        let mut kept = TcpStream::connect(addr).unwrap();
        let _ = kept.set_nodelay(true);
        g.bench_function(format!("exchange/{name}"), |b| {
            b.iter(|| exchange(&mut kept, &msg, &mut back))
        });
    }
    g.finish();
}

criterion_group!(benches, proxy);
criterion_main!(benches);
