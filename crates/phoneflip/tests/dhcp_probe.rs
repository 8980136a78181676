//! `phoneflip dhcp probe` against a real dnsmasq, in two network namespaces
//! made by the test (no traffic leaves them): one runs dnsmasq, the other
//! the probe, joined by a veth pair.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Netns {
    names: Vec<String>,
    server: Option<Child>,
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Some(mut c) = self.server.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        for n in &self.names {
            let _ = Command::new("ip").args(["netns", "del", n]).status();
        }
    }
}

fn sh(args: &[&str]) -> bool {
    Command::new(args[0])
        .args(&args[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn dnsmasq() -> Option<&'static str> {
    ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
}

/// Sets up `srv` and `cli` namespaces joined by veth, starts dnsmasq in
/// `srv` with `options`, and runs the probe in `cli`. None = skipped.
fn probe_with(tag: &str, options: &[&str]) -> Option<(bool, String)> {
    let Some(dnsmasq) = dnsmasq() else {
        eprintln!("SKIPPED: dnsmasq is not installed (apt-get install dnsmasq-base)");
        return None;
    };
    let pid = std::process::id();
    let srv = format!("pfs{tag}{pid}");
    let cli = format!("pfc{tag}{pid}");
    let mut ns = Netns {
        names: vec![],
        server: None,
    };
    for n in [&srv, &cli] {
        if !sh(&["ip", "netns", "add", n]) {
            eprintln!("SKIPPED: cannot create network namespaces here (needs root and iproute2)");
            return None;
        }
        ns.names.push(n.clone());
    }
    let (va, vb) = (
        format!("pfa{tag}{}", pid % 10000),
        format!("pfb{tag}{}", pid % 10000),
    );
    let ok = sh(&[
        "ip", "link", "add", &va, "netns", &srv, "type", "veth", "peer", "name", &vb, "netns", &cli,
    ]) && sh(&["ip", "-n", &srv, "addr", "add", "192.0.2.1/24", "dev", &va])
        && sh(&["ip", "-n", &srv, "link", "set", &va, "up"])
        && sh(&["ip", "-n", &srv, "link", "set", "lo", "up"])
        && sh(&["ip", "-n", &cli, "link", "set", &vb, "up"])
        && sh(&["ip", "-n", &cli, "link", "set", "lo", "up"]);
    assert!(
        ok,
        "could not wire the veth pair between the test namespaces"
    );
    let lease = std::env::temp_dir().join(format!("{srv}.leases"));
    let mut cmd = Command::new("ip");
    cmd.args([
        "netns",
        "exec",
        &srv,
        dnsmasq,
        "--no-daemon",
        "--conf-file=/dev/null",
        "--port=0",
    ])
    .arg(format!("--interface={va}"))
    .arg("--bind-interfaces")
    .arg("--dhcp-range=192.0.2.50,192.0.2.60,255.255.255.0,1h")
    .arg(format!("--dhcp-leasefile={}", lease.display()))
    .arg("--pid-file=")
    .args(options)
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    ns.server = Some(cmd.spawn().expect("start dnsmasq"));
    std::thread::sleep(Duration::from_millis(500));
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            &cli,
            env!("CARGO_BIN_EXE_phoneflip"),
            "dhcp",
            "probe",
            "--interface",
            &vb,
            "--json",
            "--wait",
            "8",
        ])
        .output()
        .expect("run phoneflip");
    let _ = std::fs::remove_file(lease);
    Some((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    ))
}

#[test]
fn probe_sees_both_options() {
    let Some((ok, out)) = probe_with(
        "b",
        &["--dhcp-option=66,192.0.2.1", "--dhcp-option=150,192.0.2.1"],
    ) else {
        return;
    };
    assert!(ok, "{out}");
    let v: serde_json::Value = serde_json::from_str(
        out.lines()
            .take_while(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("\n")
            .as_str(),
    )
    .unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v["option_66"], "192.0.2.1");
    assert_eq!(v["option_150"][0], "192.0.2.1");
    assert_eq!(v["sip_phones_find_tftp"], true);
}

#[test]
fn probe_flags_option_150_without_66() {
    let Some((ok, out)) = probe_with("o", &["--dhcp-option=150,192.0.2.1"]) else {
        return;
    };
    assert!(!ok, "a site without option 66 must fail the probe: {out}");
    assert!(out.contains("option 150 without option 66"), "{out}");
}
