//! Human output: findings grouped by phone, then the root-wide ones.
//! Pure: the binary prints what it returns.

use std::fmt::Write as _;

use crate::finding::{Finding, Severity};
use crate::fix::Applied;

fn one(o: &mut String, f: &Finding) {
    let place = match (&f.file, f.line) {
        (Some(file), Some(l)) => format!("{file}:{l}"),
        (Some(file), None) => file.clone(),
        _ => "-".into(),
    };
    let _ = writeln!(o, "  {:<7} {place}: {}", f.severity.to_string(), f.problem);
    if let Some(s) = f.symptom {
        let _ = writeln!(o, "          phone shows: {s}");
    }
    let _ = writeln!(o, "          reference:   {}", f.section);
    let auto = if f.auto_fix.is_some() {
        "  [--fix does this]"
    } else {
        ""
    };
    let _ = writeln!(o, "          fix:         {}{auto}", f.fix);
}

/// The report: one block per phone (by MAC, or by address for a log's
/// phone whose MAC it never revealed), then root-wide findings, then a
/// count. Expects findings sorted with [`sort`].
pub fn render(findings: &[Finding]) -> String {
    let mut o = String::new();
    let mut current = None;
    let mut root_header = false;
    for f in findings {
        let key = (f.phone, f.client);
        match key {
            (None, None) if !root_header => {
                root_header = true;
                let _ = writeln!(o, "TFTP root and network");
            }
            (None, None) => {}
            _ if current != Some(key) => {
                current = Some(key);
                let _ = match key {
                    (Some(m), Some(ip)) => writeln!(o, "Phone {m} ({ip})"),
                    (Some(m), None) => writeln!(o, "Phone {m}"),
                    (None, Some(ip)) => writeln!(o, "Phone at {ip}"),
                    (None, None) => Ok(()),
                };
            }
            _ => {}
        }
        one(&mut o, f);
    }
    let count = |s| findings.iter().filter(|f| f.severity == s).count();
    let fixable = findings.iter().filter(|f| f.auto_fix.is_some()).count();
    let _ = writeln!(
        o,
        "{} errors, {} warnings, {} notes; {fixable} can be fixed with --fix",
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info)
    );
    o
}

/// What `--fix` changed.
pub fn render_applied(a: &Applied) -> String {
    let mut o = String::new();
    if a.changes.is_empty() {
        o.push_str("--fix: nothing to change\n");
    }
    if let Some(b) = &a.backup {
        let _ = writeln!(o, "--fix: originals copied to {}", b.display());
    }
    for c in &a.changes {
        let _ = writeln!(o, "  changed: {c}");
    }
    for (c, why) in &a.skipped {
        let _ = writeln!(o, "  not done: {c}: {why}");
    }
    o
}

/// Phones first (by MAC, then address), then root-wide findings; worst
/// first within each.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        let key = |f: &Finding| {
            (
                f.phone.is_none() && f.client.is_none(),
                f.phone,
                f.client,
                f.severity,
            )
        };
        key(a).cmp(&key(b))
    });
}
