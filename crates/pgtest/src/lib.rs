//! A real PostgreSQL for tests, started by the test itself: Debian's
//! `postgresql` binaries (`/usr/lib/postgresql/*/bin`), a cluster in a
//! temporary directory, listening on 127.0.0.1 on a free port (its Unix
//! socket in the same directory), one cluster per test binary and one
//! fresh database per test ([`database`]).
//!
//! As root (CI, the developers' machines) the server runs as `nobody`:
//! `initdb` and `postgres` refuse to run as root. The cluster is stopped
//! when the test binary exits (an `atexit` hook, and the kernel's
//! parent-death signal if the binary is killed).
//!
//! Without PostgreSQL installed [`database`] prints a loud SKIPPED line and
//! returns `None`, so the suites still pass on SQLite alone.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A database of its own for one test, in the binary's shared cluster.
pub struct TestDb {
    /// `postgres://postgres@127.0.0.1:PORT/t_...`
    pub url: String,
    pub name: String,
}

struct Cluster {
    port: u16,
    dir: PathBuf,
}

/// The running server, stopped at exit.
static SERVER: Mutex<Option<(Child, PathBuf, Option<tempfile::TempDir>)>> = Mutex::new(None);
static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();

/// The directory of Debian's server binaries, newest version first.
pub fn bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin"))
        .filter(|b| ["initdb", "postgres"].iter().all(|x| b.join(x).exists()))
        .collect();
    dirs.sort_by_key(|d| {
        d.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    dirs.pop()
}

/// A fresh, empty database for one test; `None` (after a SKIPPED line)
/// when PostgreSQL is not installed. Panics when it is installed but will
/// not start: that is a broken machine, not a missing package.
pub fn database(test: &str) -> Option<TestDb> {
    let Some(bin) = bin_dir() else {
        eprintln!(
            "SKIPPED {test}: PostgreSQL not installed (apt-get install postgresql); only the SQLite backend was tested"
        );
        return None;
    };
    let cluster = match CLUSTER.get_or_init(|| start(&bin)) {
        Ok(c) => c,
        Err(e) => panic!("starting PostgreSQL from {}: {e}", bin.display()),
    };
    static N: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        "t_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    );
    let mut admin = postgres::Client::connect(&cluster.url("postgres"), postgres::NoTls)
        .unwrap_or_else(|e| panic!("connecting to the test cluster: {e}"));
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
    let _ = &cluster.dir;
    Some(TestDb {
        url: cluster.url(&name),
        name,
    })
}

impl Cluster {
    fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("finding a free port: {e}"))?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

/// `nobody`'s uid and gid when running as root (the server must not).
fn run_as() -> Option<(u32, u32)> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    // SAFETY: getpwnam takes a NUL-terminated name; the result is read at once.
    unsafe {
        let pw = libc::getpwnam(c"nobody".as_ptr());
        if pw.is_null() {
            Some((65534, 65534))
        } else {
            Some(((*pw).pw_uid, (*pw).pw_gid))
        }
    }
}

fn command(bin: &Path, prog: &str, user: Option<(u32, u32)>) -> Command {
    let mut c = Command::new(bin.join(prog));
    if let Some((uid, gid)) = user {
        // std drops root's supplementary groups when it changes the uid.
        c.uid(uid).gid(gid);
    }
    c.env("LC_ALL", "C").env_remove("PGDATA");
    c
}

fn start(bin: &Path) -> Result<Cluster, String> {
    let tmp = tempfile::Builder::new()
        .prefix("phoneflip-pg-")
        .tempdir()
        .map_err(|e| format!("creating a temporary directory: {e}"))?;
    let dir = tmp.path().to_path_buf();
    let data = dir.join("data");
    let user = run_as();
    std::fs::create_dir(&data).map_err(|e| e.to_string())?;
    if let Some((uid, gid)) = user {
        for p in [&dir, &data] {
            std::os::unix::fs::chown(p, Some(uid), Some(gid))
                .map_err(|e| format!("chown {} to nobody: {e}", p.display()))?;
        }
    }
    let out = command(bin, "initdb", user)
        .args(["-D"])
        .arg(&data)
        .args([
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ])
        .current_dir(&dir)
        .output()
        .map_err(|e| format!("running initdb: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "initdb failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let port = free_port()?;
    let log = std::fs::File::create(dir.join("server.log")).map_err(|e| e.to_string())?;
    let mut cmd = command(bin, "postgres", user);
    cmd.arg("-D")
        .arg(&data)
        .arg("-k")
        .arg(&dir)
        .args(["-p", &port.to_string()])
        // A throwaway cluster: durability is not wanted, speed is.
        .args(["-c", "listen_addresses=127.0.0.1"])
        .args(["-c", "fsync=off"])
        .args(["-c", "synchronous_commit=off"])
        .args(["-c", "full_page_writes=off"])
        .args(["-c", "max_connections=300"])
        .args(["-c", "shared_buffers=32MB"])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log);
    // SAFETY: prctl is async-signal-safe. The server dies with the test
    // binary even when the binary is killed.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    // The parent-death signal follows the spawning *thread*: spawn from a
    // thread that lives as long as the process.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(cmd.spawn());
        loop {
            std::thread::park();
        }
    });
    let child = rx
        .recv()
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("starting postgres: {e}"))?;
    *SERVER.lock().unwrap_or_else(|e| e.into_inner()) = Some((child, dir.clone(), Some(tmp)));
    // SAFETY: registering a plain extern "C" function.
    unsafe {
        libc::atexit(stop_at_exit);
    }
    let cluster = Cluster { port, dir };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match postgres::Client::connect(&cluster.url("postgres"), postgres::NoTls) {
            Ok(_) => return Ok(cluster),
            Err(e) if Instant::now() > deadline => {
                let log =
                    std::fs::read_to_string(cluster.dir.join("server.log")).unwrap_or_default();
                return Err(format!(
                    "the server did not accept connections in 30 s ({e}); its log:\n{log}"
                ));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Immediate shutdown (SIGQUIT), then the directory goes.
extern "C" fn stop_at_exit() {
    let taken = SERVER.lock().ok().and_then(|mut g| g.take());
    if let Some((mut child, _dir, tmp)) = taken {
        // SAFETY: signalling our own child.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGQUIT);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        drop(tmp);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn two_databases_in_one_cluster_are_separate() {
        let Some(a) = super::database("pgtest") else {
            return;
        };
        let b = super::database("pgtest").unwrap();
        assert_ne!(a.url, b.url);
        let mut ca = postgres::Client::connect(&a.url, postgres::NoTls).unwrap();
        ca.batch_execute("CREATE TABLE x (v INT); INSERT INTO x VALUES (7)")
            .unwrap();
        let v: i32 = ca.query_one("SELECT v FROM x", &[]).unwrap().get(0);
        assert_eq!(v, 7);
        let mut cb = postgres::Client::connect(&b.url, postgres::NoTls).unwrap();
        assert!(cb.query("SELECT v FROM x", &[]).is_err());
    }
}
