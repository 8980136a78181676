//! Server cost from /proc, measured the same way for every server.
//!
//! CPU is utime+stime+cutime+cstime of the server process: tftpd-hpa
//! forks a child per transfer and reaps it, so its children's time lands
//! in cutime/cstime. Memory is sampled as the resident set of the whole
//! process tree (tftpd-hpa's children are separate processes with their
//! own memory) plus the server process's own VmHWM, whichever is larger.

use std::time::Duration;

fn clock_ticks() -> f64 {
    // sysconf(_SC_CLK_TCK) is 100 on every Linux this runs on; reading
    // it would need libc for one constant.
    100.0
}

/// CPU seconds used by `pid` and its reaped children so far.
pub fn cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After ')': f[0] is field 3 (state); utime..cstime are fields 14..17.
    let ticks: u64 = f
        .get(11..15)?
        .iter()
        .map(|x| x.parse::<u64>().unwrap_or(0))
        .sum();
    Some(ticks as f64 / clock_ticks())
}

/// Total task-clock (seconds) in a `perf stat -I ... -x ,` log so far.
/// Lines are `time,count,msec,task-clock,...`; "<not counted>" intervals
/// (nothing ran) add nothing.
pub fn perf_task_clock_secs(log: &std::path::Path) -> f64 {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut f = l.split(',');
            let _time = f.next()?;
            let count: f64 = f.next()?.trim().parse().ok()?;
            (f.next()? == "msec").then_some(count / 1000.0)
        })
        .sum()
}

fn status_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// Peak resident set of `pid` since start or the last [`reset_peak`].
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmHWM:")
}

/// Resets VmHWM ("5" to clear_refs, Linux 4.0+), so each cell reports
/// its own peak. Allowed for our own children; ignored when refused.
pub fn reset_peak(pid: u32) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in tasks.flatten() {
            if let Ok(s) = std::fs::read_to_string(t.path().join("children")) {
                out.extend(s.split_whitespace().filter_map(|x| x.parse::<u32>().ok()));
            }
        }
    }
    out
}

/// Current resident set of `pid` and all its descendants.
pub fn tree_rss_kib(pid: u32) -> u64 {
    let mut total = 0;
    let mut stack = vec![pid];
    let mut seen = 0;
    while let Some(p) = stack.pop() {
        total += status_kib(p, "VmRSS:").unwrap_or(0);
        seen += 1;
        if seen < 100_000 {
            stack.extend(children(p));
        }
    }
    total
}

/// Samples the tree's resident set in a thread until dropped.
pub struct RssSampler {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handle: Option<std::thread::JoinHandle<u64>>,
}

impl RssSampler {
    pub fn start(pid: u32, every: Duration) -> RssSampler {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let s = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut peak = 0;
            while !s.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(tree_rss_kib(pid));
                std::thread::sleep(every);
            }
            peak.max(tree_rss_kib(pid))
        });
        RssSampler {
            stop,
            handle: Some(handle),
        }
    }

    /// The largest tree resident set seen (KiB).
    pub fn finish(mut self) -> u64 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.handle.take().and_then(|h| h.join().ok()).unwrap_or(0)
    }
}

impl Drop for RssSampler {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
