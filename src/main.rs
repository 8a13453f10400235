use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use headroom::cli::{Cli, Command};
use headroom::load::StopFlag;
use headroom::{app, exit};

fn main() -> ExitCode {
    keep_large_allocations_in_mmap();
    raise_open_file_limit();
    let cli = Cli::parse();
    if matches!(
        cli.command,
        Command::Usl(_)
            | Command::Forecast(_)
            | Command::Plan(_)
            | Command::Slo(_)
            | Command::Compare(_)
            | Command::K8s(_)
            | Command::Completions(_)
            | Command::Man
    ) {
        // These print and touch no socket, where SIGPIPE must stay ignored.
        die_quietly_on_closed_pipe();
    }
    // Commands that send load read the stop flag; the others only compute
    // and read files, and nothing in them would.
    let sends = matches!(
        cli.command,
        Command::Run(_)
            | Command::Find(_)
            | Command::Sweep(_)
            | Command::Stress(_)
            | Command::Target(_)
            | Command::Proxy(_)
            | Command::Demo(_)
            | Command::Ab(_)
    );
    let stop = StopFlag::default();
    let on_signal = stop.clone();
    let _ = ctrlc::set_handler(move || {
        if sends {
            // Ctrl-C or SIGTERM: stop sending, keep and write what was measured.
            on_signal.stop();
        } else {
            // Every file is written whole or not at all (written, then
            // renamed): what is there is complete, the rest never started.
            eprintln!("error: interrupted");
            std::process::exit(exit::Code::Inconclusive as i32);
        }
    });
    let result = match &cli.command {
        Command::Run(args) => app::run(args, &stop),
        Command::Find(args) => app::find(args, &stop),
        Command::Sweep(args) => app::sweep(args, &stop),
        Command::Stress(args) => app::stress::stress(args, &stop),
        Command::Target(args) => app::serve_target(args, &stop),
        Command::Proxy(args) => app::serve_proxy(args, &stop),
        Command::Demo(args) => app::demo(args, &stop),
        Command::Compare(args) => app::compare(args),
        Command::Ab(args) => app::ab::ab(args, &stop),
        Command::Report(args) => app::report(args),
        Command::Merge(args) => app::merge::merge(args),
        Command::K8s(args) => app::k8s::manifests(args),
        Command::Usl(args) => app::model::usl(args),
        Command::Forecast(args) => app::model::forecast(args),
        Command::Plan(args) => app::model::plan(args),
        Command::Slo(args) => app::slo::slo(args),
        Command::Completions(args) => {
            let mut cmd = Cli::command();
            clap_complete::generate(args.shell, &mut cmd, "headroom", &mut std::io::stdout());
            Ok(exit::Code::Ok)
        }
        Command::Man => clap_mangen::Man::new(Cli::command())
            .render(&mut std::io::stdout())
            .map(|()| exit::Code::Ok)
            .map_err(Into::into),
    };
    match result {
        Ok(code) => code.into(),
        Err(err) => {
            eprintln!("error: {err:#}");
            exit::of_error(&err).into()
        }
    }
}

/// `headroom forecast … | head`: end like other Unix tools when the reader
/// goes away, instead of panicking in `println!` on EPIPE.
fn die_quietly_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: restores the default disposition of one signal, before any
    // other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Every connection is a file descriptor, and the usual soft limit (1,024)
/// is far below what a load test opens: raise it to the hard limit, as
/// wrk and oha do. What is still short shows as `local_resources` errors.
fn raise_open_file_limit() {
    #[cfg(unix)]
    // SAFETY: reads and sets this process's own limit from plain data.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// glibc raises its mmap threshold once a large block is freed, after which
/// the compressor state the interval log allocates and frees every second
/// (hundreds of KiB) lands in the heap and fragments it: a long run's RSS
/// crept up ~1.5 KiB/s. A fixed 128 KiB threshold keeps such blocks in
/// mmap, returned to the system on free.
fn keep_large_allocations_in_mmap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called once, before
    // any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}
