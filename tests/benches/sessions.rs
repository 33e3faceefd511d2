//! Many sessions in one process, per adapter, against the private Prosody:
//!
//! 1. sequential logins (connect until online, then close), each with the
//!    process's CPU time over `connect` alone: the first (which builds the
//!    process's TLS setup) apart from the others;
//! 2. `--sessions` (200) logins in flight at once, from one process, every
//!    one on its own account: logins per second until the last is online;
//! 3. those sessions idle and online (an application reading each one's
//!    events: a task per session on Tokio, a thread per session with the
//!    blocking adapter): resident memory per session (`VmRSS` delta over
//!    the sessions, from `/proc/self/status`), live Rust heap per session
//!    (a counting allocator; OpenSSL's own allocations are not in it), and
//!    the process's threads.
//!
//! Each adapter runs in a child process of its own (this binary again, with
//! `--child ADAPTER`), so that neither's memory is in the other's figures.
//! A third child (`--child compare`) alternates the two adapters' logins
//! in one process, so that their CPU times see the same machine load.
//! `scripts/bench-interop` starts Prosody, makes the accounts
//! (`scripts/prosody addusers load 200 load-pass`) and runs this after the
//! login and throughput benchmark; `scripts/bench-interop --sessions-only`
//! runs only this.

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::Command;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use xmpp_test_support::cli::Server;

/// Counts the bytes the Rust heap holds (allocations minus frees).
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; only a counter is
// updated besides.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is `System::alloc`'s.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as `alloc`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as `alloc`.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const PASSWORD: &str = "load-pass";

/// The account of session `i` (made by `scripts/prosody addusers load N`).
fn account(i: usize) -> String {
    format!("load{i:03}")
}

/// CPU time (user + system, every thread, living or ended) of this process.
fn process_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// A field of /proc/self/status (in kB for the memory ones).
fn status(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim_start_matches(':').trim().split(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Bytes in use in glibc's malloc, every arena (OpenSSL's allocations and
/// the Rust heap's, through `System`); the mmapped large blocks included.
fn malloc_in_use() -> isize {
    // SAFETY: mallinfo2 only reads the allocator's statistics.
    let info = unsafe { libc::mallinfo2() };
    (info.uordblks + info.hblkhd) as isize
}

fn live_heap() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// What one adapter's child measures.
struct Run {
    login_cpu: Vec<Duration>,
    login_wall: Vec<Duration>,
    sessions: usize,
    all_online: Duration,
    cpu_all: Duration,
    rss_before: u64,
    rss_idle: u64,
    heap_before: isize,
    heap_idle: isize,
    malloc_before: isize,
    malloc_idle: isize,
    threads_before: u64,
    threads_idle: u64,
    /// RSS per idle thread alone (KiB): threads blocked on a channel, as
    /// a reference for the blocking adapter's two threads per session.
    thread_alone: Option<f64>,
}

fn report(adapter: &str, r: &Run) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let rest_cpu = &r.login_cpu[1..];
    let mut sorted = rest_cpu.to_vec();
    sorted.sort();
    let mut wall = r.login_wall[1..].to_vec();
    wall.sort();
    println!("adapter {adapter}:");
    println!(
        "  sequential logins: first {:.2} ms CPU ({:.1} ms wall); next {}: median {:.2} ms CPU (min {:.2}, max {:.2}), median {:.1} ms wall",
        ms(r.login_cpu[0]),
        ms(r.login_wall[0]),
        rest_cpu.len(),
        ms(sorted[sorted.len() / 2]),
        ms(sorted[0]),
        ms(sorted[sorted.len() - 1]),
        ms(wall[wall.len() / 2]),
    );
    println!(
        "  {} logins in flight: all online in {:.2} s, {:.0} logins/s, {:.2} ms CPU per login",
        r.sessions,
        r.all_online.as_secs_f64(),
        r.sessions as f64 / r.all_online.as_secs_f64(),
        ms(r.cpu_all) / r.sessions as f64
    );
    let n = r.sessions as f64;
    println!(
        "  {} idle sessions: RSS {} -> {} KiB, {:.1} KiB per session; in use per session: Rust heap {:.1} KiB, all of malloc (C libraries too) {:.1} KiB; threads {} -> {}",
        r.sessions,
        r.rss_before,
        r.rss_idle,
        (r.rss_idle as f64 - r.rss_before as f64) / n,
        (r.heap_idle - r.heap_before) as f64 / 1024.0 / n,
        (r.malloc_idle - r.malloc_before) as f64 / 1024.0 / n,
        r.threads_before,
        r.threads_idle,
    );
    if let Some(kib) = r.thread_alone {
        println!(
            "  reference: an idle thread alone (blocked on a channel, default stack) {kib:.1} KiB RSS"
        );
    }
}

/// How long the sessions are left alone before the memory is read.
const SETTLE: Duration = Duration::from_secs(2);

mod tokio_run {
    use super::*;
    use xmpp_io_tokio::{connect, ConnectOptions};

    fn options(s: &Server, i: usize) -> ConnectOptions {
        let jid = format!("{}@{}", account(i), s.domain).parse().expect("jid");
        ConnectOptions::new(jid, PASSWORD)
            .server(s.host.clone(), s.c2s_port.parse().expect("port"))
            .ca_file(s.ca.clone())
            .resource("bench")
    }

    pub(super) fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    /// One login as `load000`: the CPU time and wall time of `connect`
    /// (then the session is closed).
    pub(super) async fn login(s: &Server) -> (Duration, Duration) {
        let (t, c) = (Instant::now(), process_cpu());
        let (handle, _events) = connect(options(s, 0)).await.expect("login");
        let measured = (process_cpu() - c, t.elapsed());
        handle.close().await;
        measured
    }

    pub(super) fn run(s: &Server, sessions: usize, sequential: usize) -> Run {
        runtime().block_on(async {
            let mut login_cpu = Vec::new();
            let mut login_wall = Vec::new();
            for _ in 0..sequential {
                let (cpu, wall) = login(s).await;
                login_cpu.push(cpu);
                login_wall.push(wall);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            let (rss_before, heap_before) = (status("VmRSS"), live_heap());
            let malloc_before = malloc_in_use();
            let threads_before = status("Threads");
            let (t, c) = (Instant::now(), process_cpu());
            let logins = (0..sessions).map(|i| tokio::spawn(connect(options(s, i))));
            let mut handles = Vec::new();
            for login in logins.collect::<Vec<_>>() {
                let (handle, mut events) = login.await.expect("task").expect("login");
                // The application reads each session's events.
                tokio::spawn(async move { while events.next().await.is_some() {} });
                handles.push(handle);
            }
            let (all_online, cpu_all) = (t.elapsed(), process_cpu() - c);
            tokio::time::sleep(SETTLE).await;
            let run = Run {
                login_cpu,
                login_wall,
                sessions,
                all_online,
                cpu_all,
                rss_before,
                rss_idle: status("VmRSS"),
                heap_before,
                heap_idle: live_heap(),
                malloc_before,
                malloc_idle: malloc_in_use(),
                threads_before,
                threads_idle: status("Threads"),
                thread_alone: None,
            };
            for handle in &handles {
                assert!(!handle.is_closed(), "every session is still online");
            }
            let closing = handles
                .into_iter()
                .map(|h| tokio::spawn(async move { h.close().await }));
            for close in closing.collect::<Vec<_>>() {
                close.await.expect("closed");
            }
            run
        })
    }
}

mod blocking_run {
    use super::*;
    use std::sync::mpsc;
    use xmpp_io_blocking::{connect, ConnectOptions, Event};

    fn options(s: &Server, i: usize) -> ConnectOptions {
        let jid = format!("{}@{}", account(i), s.domain).parse().expect("jid");
        ConnectOptions::new(jid, PASSWORD)
            .server(s.host.clone(), s.c2s_port.parse().expect("port"))
            .ca_file(s.ca.clone())
            .resource("bench")
    }

    /// RSS per thread (KiB) of `n` threads that wait on a channel.
    fn idle_threads(n: usize) -> f64 {
        let before = status("VmRSS");
        let (wake, threads): (Vec<mpsc::Sender<()>>, Vec<_>) = (0..n)
            .map(|_| {
                let (tx, rx) = mpsc::channel::<()>();
                (tx, std::thread::spawn(move || rx.recv().is_err()))
            })
            .unzip();
        std::thread::sleep(SETTLE);
        let per_thread = (status("VmRSS") as f64 - before as f64) / n as f64;
        drop(wake);
        for thread in threads {
            assert!(thread.join().expect("thread"), "woken by the drop");
        }
        per_thread
    }

    /// One login as `load000`: the CPU time and wall time of `connect`
    /// (then the session is closed).
    pub(super) fn login(s: &Server) -> (Duration, Duration) {
        let (t, c) = (Instant::now(), process_cpu());
        let mut client = connect(options(s, 0)).expect("login");
        let measured = (process_cpu() - c, t.elapsed());
        client.close();
        while !matches!(
            client.next_event(None),
            Ok(Some(Event::Disconnected { .. })) | Err(_)
        ) {}
        measured
    }

    pub(super) fn run(s: &Server, sessions: usize, sequential: usize) -> Run {
        let mut login_cpu = Vec::new();
        let mut login_wall = Vec::new();
        for _ in 0..sequential {
            let (cpu, wall) = login(s);
            login_cpu.push(cpu);
            login_wall.push(wall);
        }
        std::thread::sleep(Duration::from_millis(200));
        let thread_alone = idle_threads(sessions);
        let (rss_before, heap_before) = (status("VmRSS"), live_heap());
        let malloc_before = malloc_in_use();
        let threads_before = status("Threads");
        let (t, c) = (Instant::now(), process_cpu());
        let (tx, rx) = mpsc::channel();
        let mut loops = Vec::new();
        for i in 0..sessions {
            let (tx, options) = (tx.clone(), options(s, i));
            // The application's thread per session: log in, then run the
            // session (read its events) until it ends.
            loops.push(std::thread::spawn(move || {
                let client = connect(options).expect("login");
                let (mut reader, sender) = client.split();
                tx.send(sender).expect("main thread");
                for event in reader.iter() {
                    if matches!(event, Event::Disconnected { .. }) {
                        break;
                    }
                }
            }));
        }
        let senders: Vec<_> = rx.iter().take(sessions).collect();
        let (all_online, cpu_all) = (t.elapsed(), process_cpu() - c);
        std::thread::sleep(SETTLE);
        let run = Run {
            login_cpu,
            login_wall,
            sessions,
            all_online,
            cpu_all,
            rss_before,
            rss_idle: status("VmRSS"),
            heap_before,
            heap_idle: live_heap(),
            malloc_before,
            malloc_idle: malloc_in_use(),
            threads_before,
            threads_idle: status("Threads"),
            thread_alone: Some(thread_alone),
        };
        for sender in &senders {
            assert!(!sender.is_closed(), "every session is still online");
            sender.close();
        }
        for thread in loops {
            thread.join().expect("session thread");
        }
        run
    }
}

/// Logins of both adapters in one process, alternating (so that both see
/// the same machine load), `n` each: the CPU time of each `connect`.
fn compare(s: &Server, n: usize) {
    let rt = tokio_run::runtime();
    let (mut tokio, mut blocking) = (Vec::new(), Vec::new());
    for _ in 0..n {
        tokio.push(rt.block_on(tokio_run::login(s)).0);
        blocking.push(blocking_run::login(s).0);
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let median = |v: &[Duration]| {
        let mut v = v.to_vec();
        v.sort();
        v[v.len() / 2]
    };
    let (t, b) = (median(&tokio[1..]), median(&blocking[1..]));
    println!("alternating logins in one process, {n} of each adapter (CPU time of connect):");
    println!(
        "  first: tokio {:.2} ms, blocking {:.2} ms; the next {}: median tokio {:.2} ms, blocking {:.2} ms: blocking/tokio {:.2}",
        ms(tokio[0]),
        ms(blocking[0]),
        n - 1,
        ms(t),
        ms(b),
        b.as_secs_f64() / t.as_secs_f64()
    );
}

fn arg_value(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let sessions: usize = arg_value(&args, "--sessions")
        .map(|n| n.parse().expect("--sessions N"))
        .unwrap_or(if quick { 50 } else { 200 });
    let sequential: usize = arg_value(&args, "--logins")
        .map(|n| n.parse().expect("--logins N (at least 2)"))
        .unwrap_or(if quick { 4 } else { 21 })
        .max(2);
    if let Some(adapter) = arg_value(&args, "--child") {
        let server = Server::from_env();
        if adapter == "compare" {
            return compare(&server, sequential);
        }
        let run = match adapter.as_str() {
            "tokio" => tokio_run::run(&server, sessions, sequential),
            "blocking" => blocking_run::run(&server, sessions, sequential),
            other => panic!("unknown adapter {other}"),
        };
        report(&adapter, &run);
        return;
    }
    let exe = std::env::current_exe().expect("this binary");
    for adapter in ["tokio", "blocking", "compare"] {
        let status = Command::new(&exe)
            .args(["--child", adapter, "--sessions", &sessions.to_string()])
            .args(["--logins", &sequential.to_string()])
            .args(quick.then_some("--quick"))
            .status()
            .expect("child");
        assert!(status.success(), "the {adapter} run failed");
    }
}
