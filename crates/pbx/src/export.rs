//! The fleet's SIP accounts, written for the PBX: Kamailio `subscriber`
//! rows (db_text or SQL), Asterisk `pjsip.conf` endpoint/auth/aor
//! sections, FreeSWITCH directory XML. Pure: accounts in, text out.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use phoneflip_config::Line;
use phoneflip_device::Mac;

/// The PBX to write for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pbx {
    /// db_text `subscriber` table (Kamailio 5.x: `subscriber` version 7).
    Kamailio,
    /// `INSERT INTO subscriber …` for Kamailio on MySQL/PostgreSQL.
    KamailioSql,
    Asterisk,
    Freeswitch,
}

impl std::str::FromStr for Pbx {
    type Err = String;
    fn from_str(s: &str) -> Result<Pbx, String> {
        match s.to_ascii_lowercase().as_str() {
            "kamailio" => Ok(Pbx::Kamailio),
            "kamailio-sql" => Ok(Pbx::KamailioSql),
            "asterisk" => Ok(Pbx::Asterisk),
            "freeswitch" => Ok(Pbx::Freeswitch),
            other => Err(format!(
                "unknown PBX {other:?}: use kamailio, kamailio-sql, asterisk or freeswitch"
            )),
        }
    }
}

/// One phone's lines and the domain (realm) they register in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneLines {
    pub mac: Mac,
    /// The registrar's domain for this phone: its `proxy1_address`.
    pub domain: Option<String>,
    pub lines: Vec<Line>,
}

/// One SIP account: what the registrar must know for a line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Account {
    /// `lineN_authname` (the name when empty): the digest username.
    pub username: String,
    /// `lineN_name`: the user part of the line's address.
    pub name: String,
    pub domain: String,
    pub password: String,
    pub displayname: Option<String>,
    /// Phones and line numbers sharing the account (a shared line).
    pub used_by: Vec<(Mac, u8)>,
}

/// A line left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[error("phone {mac} line {line}: {why}")]
pub struct Skipped {
    pub mac: Mac,
    pub line: u8,
    pub why: String,
}

/// What stops an export: nothing is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    #[error("phone {mac} line {line}: {field} {value:?} holds a control character or a character {pbx} cannot take ({bad:?}); change it in the inventory")]
    BadValue {
        mac: Mac,
        line: u8,
        field: &'static str,
        value: String,
        bad: char,
        pbx: &'static str,
    },
    #[error("account {username}@{domain} has two passwords: phone {first_mac} line {first_line} and phone {mac} line {line} differ; give a shared line one password")]
    Conflict {
        username: String,
        domain: String,
        first_mac: Mac,
        first_line: u8,
        mac: Mac,
        line: u8,
    },
    #[error("phone {0} has no proxy1_address (in its overrides or its template): its lines have no domain; set proxy1_address or pass --domain")]
    NoDomain(Mac),
}

/// Collects the accounts of `phones`: one per distinct username and
/// domain, in username order. Lines without a password are skipped and
/// reported (a registrar cannot challenge them); two lines sharing a
/// username with different passwords stop the export.
pub fn accounts(phones: &[PhoneLines]) -> Result<(Vec<Account>, Vec<Skipped>), ExportError> {
    let mut by_key: BTreeMap<(String, String), Account> = BTreeMap::new();
    let mut skipped = Vec::new();
    for p in phones {
        for l in &p.lines {
            let password = l.password.clone().unwrap_or_default();
            if l.name.trim().is_empty() {
                continue;
            }
            if password.is_empty() {
                skipped.push(Skipped {
                    mac: p.mac,
                    line: l.number,
                    why: format!(
                        "line {:?} has no password, so no registrar can authenticate it; set line{}_password",
                        l.name, l.number
                    ),
                });
                continue;
            }
            let domain = p.domain.clone().ok_or(ExportError::NoDomain(p.mac))?;
            let username = l
                .authname
                .clone()
                .filter(|a| !a.is_empty())
                .unwrap_or_else(|| l.name.clone());
            let key = (username.clone(), domain.clone());
            match by_key.get_mut(&key) {
                Some(a) if a.password != password => {
                    let (first_mac, first_line) = a.used_by[0];
                    return Err(ExportError::Conflict {
                        username,
                        domain,
                        first_mac,
                        first_line,
                        mac: p.mac,
                        line: l.number,
                    });
                }
                Some(a) => a.used_by.push((p.mac, l.number)),
                None => {
                    by_key.insert(
                        key,
                        Account {
                            username,
                            name: l.name.clone(),
                            domain,
                            password,
                            displayname: l.displayname.clone().filter(|d| !d.is_empty()),
                            used_by: vec![(p.mac, l.number)],
                        },
                    );
                }
            }
        }
    }
    Ok((by_key.into_values().collect(), skipped))
}

/// Refuses what `pbx` cannot hold: control characters everywhere, and
/// each format's own delimiters where they cannot be escaped.
fn check(a: &Account, pbx: Pbx) -> Result<(), ExportError> {
    let (name, forbidden): (&'static str, &[char]) = match pbx {
        // db_text and SQL escape everything but control characters.
        Pbx::Kamailio | Pbx::KamailioSql => ("Kamailio", &[]),
        // pjsip.conf: `[`/`]` end a section name, `;` starts a comment.
        Pbx::Asterisk => ("Asterisk", &['[', ']', ';']),
        Pbx::Freeswitch => ("FreeSWITCH", &[]),
    };
    let (mac, line) = a.used_by[0];
    let fields = [
        ("authname", &a.username),
        ("name", &a.name),
        ("domain", &a.domain),
        ("password", &a.password),
    ];
    let display = a.displayname.iter().map(|d| ("displayname", d));
    for (field, value) in fields.into_iter().chain(display) {
        if let Some(bad) = value
            .chars()
            .find(|c| c.is_control() || forbidden.contains(c))
        {
            return Err(ExportError::BadValue {
                mac,
                line,
                field,
                value: value.chars().take(80).collect(),
                bad,
                pbx: name,
            });
        }
    }
    Ok(())
}

/// Options of the written files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOptions {
    /// Asterisk: the dialplan context the endpoints' calls enter.
    pub context: String,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            context: "phones".into(),
        }
    }
}

/// The accounts as `pbx`'s file.
pub fn render(pbx: Pbx, accounts: &[Account], opts: &ExportOptions) -> Result<String, ExportError> {
    for a in accounts {
        check(a, pbx)?;
    }
    Ok(match pbx {
        Pbx::Kamailio => kamailio_dbtext(accounts),
        Pbx::KamailioSql => kamailio_sql(accounts),
        Pbx::Asterisk => asterisk(accounts, opts),
        Pbx::Freeswitch => freeswitch(accounts),
    })
}

/// The db_text header of Kamailio 5.x's `subscriber` table (version 7).
pub const KAMAILIO_SUBSCRIBER_HEADER: &str =
    "id(int,auto) username(string) domain(string) password(string) ha1(string) ha1b(string) ";

/// The `subscriber` table version auth_db checks.
pub const KAMAILIO_SUBSCRIBER_VERSION: u32 = 7;

/// db_text escapes (README of db_text): `\n`, `\r`, `\t`, `:`, `\\` and
/// NUL are written with a backslash.
fn dbtext_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            ':' => out.push_str("\\:"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out
}

/// `HA1b = MD5(username@domain:realm:password)`, the form Kamailio
/// checks when the digest username carries the domain.
fn ha1b(a: &Account) -> String {
    phoneflip_sip::auth::ha1(
        &format!("{}@{}", a.username, a.domain),
        &a.domain,
        &a.password,
    )
}

fn kamailio_dbtext(accounts: &[Account]) -> String {
    let mut out = String::from(KAMAILIO_SUBSCRIBER_HEADER);
    out.push('\n');
    for (i, a) in accounts.iter().enumerate() {
        let _ = writeln!(
            out,
            "{}:{}:{}:{}:{}:{}",
            i + 1,
            dbtext_escape(&a.username),
            dbtext_escape(&a.domain),
            dbtext_escape(&a.password),
            phoneflip_sip::auth::ha1(&a.username, &a.domain, &a.password),
            ha1b(a),
        );
    }
    out
}

fn sql_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn kamailio_sql(accounts: &[Account]) -> String {
    let mut out = String::from("-- Kamailio subscriber rows written by phoneflip pbx export\n");
    for a in accounts {
        let _ = writeln!(
            out,
            "INSERT INTO subscriber (username, domain, password, ha1, ha1b) VALUES ({}, {}, {}, {}, {});",
            sql_quote(&a.username),
            sql_quote(&a.domain),
            sql_quote(&a.password),
            sql_quote(&phoneflip_sip::auth::ha1(&a.username, &a.domain, &a.password)),
            sql_quote(&ha1b(a)),
        );
    }
    out
}

fn asterisk(accounts: &[Account], opts: &ExportOptions) -> String {
    let mut out = String::from(
        "; PJSIP accounts written by phoneflip pbx export: one endpoint, auth and aor per line\n",
    );
    for a in accounts {
        let who: Vec<String> = a
            .used_by
            .iter()
            .map(|(m, l)| format!("{m} line {l}"))
            .collect();
        let _ = write!(
            out,
            "\n; {}\n[{u}]\ntype=endpoint\ncontext={ctx}\ndisallow=all\nallow=ulaw\nallow=alaw\nauth={u}-auth\naors={u}\n",
            who.join(", "),
            u = a.username,
            ctx = opts.context,
        );
        if let Some(d) = &a.displayname {
            let _ = writeln!(out, "callerid=\"{}\" <{}>", d.replace('"', ""), a.name);
        }
        let _ = write!(
            out,
            "\n[{u}-auth]\ntype=auth\nauth_type=userpass\nusername={u}\npassword={p}\nrealm={d}\n\n[{u}]\ntype=aor\nmax_contacts={n}\nremove_existing=yes\n",
            u = a.username,
            p = a.password,
            d = a.domain,
            n = a.used_by.len(),
        );
    }
    out
}

fn xml_attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn freeswitch(accounts: &[Account]) -> String {
    let mut out = String::from(
        "<!-- FreeSWITCH directory users written by phoneflip pbx export; include from a domain -->\n<include>\n",
    );
    for a in accounts {
        let alias = if a.name != a.username {
            format!(" number-alias=\"{}\"", xml_attr(&a.name))
        } else {
            String::new()
        };
        let _ = writeln!(out, "  <user id=\"{}\"{alias}>", xml_attr(&a.username));
        let _ = writeln!(
            out,
            "    <params>\n      <param name=\"password\" value=\"{}\"/>\n    </params>\n    <variables>",
            xml_attr(&a.password)
        );
        if let Some(d) = &a.displayname {
            let _ = writeln!(
                out,
                "      <variable name=\"effective_caller_id_name\" value=\"{}\"/>",
                xml_attr(d)
            );
        }
        let _ = writeln!(
            out,
            "      <variable name=\"effective_caller_id_number\" value=\"{}\"/>\n    </variables>\n  </user>",
            xml_attr(&a.name)
        );
    }
    out.push_str("</include>\n");
    out
}
