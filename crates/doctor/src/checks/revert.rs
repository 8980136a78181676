//! "Revert Back to a Cisco CallManager SCCP Image", SIP Images 5.x,6.x to
//! SCCP Images 5.x/Later: gkdefault.cfg and its upgradecode line.

use phoneflip_config::filename::{GKDEFAULT_CFG, GKDEFAULT_TXT};
use phoneflip_config::{GkDefault, CFGFMT_COMMAND};
use phoneflip_firmware::{ImageFile, LoadName, Protocol, Release, Version};
use phoneflip_plan::{check_hop, reads_gkdefault, rule};

use crate::finding::{section, Check, Finding, Severity, Symptom};

use super::{proto, sip_of, Ctx, Named};

impl Ctx<'_> {
    pub(super) fn gkdefault(&mut self, os79: Option<&Named>, xml: &[Named], named: &[Named]) {
        let sccp_target = os79
            .and_then(|n| n.image.load())
            .filter(|l| l.protocol() == Protocol::Sccp && !l.is_universal_loader())
            .cloned()
            // XMLDefault.cnf.xml of a conversion root carries the SIP
            // load too: only an SCCP load there is a revert target.
            .or_else(|| {
                xml.iter()
                    .filter_map(|n| n.image.load())
                    .find(|l| l.application_protocol() == Some(Protocol::Sccp))
                    .cloned()
            })
            .or_else(|| {
                named
                    .iter()
                    .filter_map(|n| n.image.load())
                    .find(|l| l.protocol() == Protocol::Sccp && !l.is_universal_loader())
                    .cloned()
            });
        let Some(target) = sccp_target else { return };
        // The loads that read gkdefault.cfg: SIP 5.x and 6.x.
        let sip56 = |v: Version| reads_gkdefault(&Release::new(Protocol::Sip, v));
        let from = self
            .opts
            .from
            .iter()
            .find(|r| r.protocol == Protocol::Sip && sip56(r.version))
            .map(|r| format!("phones run SIP {}", r.version));
        let hint = if self.opts.from.is_empty() {
            named
                .iter()
                .find(|n| sip_of(&n.image).is_some_and(sip56))
                .and_then(|n| Some(format!("{} names SIP {}", n.file, sip_of(&n.image)?)))
                .or_else(|| {
                    self.root.files().iter().find_map(|f| {
                        let img = f.name.parse::<ImageFile>().ok()?;
                        (img.load.protocol() == Protocol::Sip && sip56(img.load.version())).then(
                            || {
                                format!(
                                    "the root holds the SIP {} image {}",
                                    img.load.version(),
                                    f.name
                                )
                            },
                        )
                    })
                })
        } else {
            None
        };
        let (severity, why) = match (from, hint) {
            (Some(w), _) => (Severity::Error, w),
            (None, Some(w)) => (Severity::Warning, w),
            _ => return,
        };
        if let Some(bytes) = self.root.get(GKDEFAULT_CFG).and_then(|f| f.bytes()) {
            self.gkdefault_upgradecode(bytes, &target, severity);
            return;
        }
        if !self.root.other_case(GKDEFAULT_CFG).is_empty() {
            return;
        }
        let txt = self.root.has(GKDEFAULT_TXT);
        self.push(
            Finding::new(Check::GkdefaultMissing, severity, section::SIP_5_6_TO_SCCP)
                .file(GKDEFAULT_CFG)
                .symptom(Symptom::KeepsCurrentLoad)
                .problem(format!(
                    "the root targets SCCP {target} and {why}, but there is no gkdefault.cfg: SIP 5.x/6.x phones reach SCCP only through gkdefault.cfg's upgradecode"
                ))
                .fix(if txt {
                    format!("edit gkdefault.txt's upgradecode to the SCCP image, then run `{CFGFMT_COMMAND}`")
                } else {
                    format!("take gkdefault.txt from the SIP load, point its upgradecode at the SCCP image, then run `{CFGFMT_COMMAND}`")
                }),
        );
    }

    /// A gkdefault.cfg in the `#txt` form must point its upgradecode at
    /// the SCCP image, and that image must be in the root. The binary form
    /// `cfgfmt` writes is not public, so it is taken on trust.
    pub(super) fn gkdefault_upgradecode(
        &mut self,
        bytes: &[u8],
        target: &LoadName,
        severity: Severity,
    ) {
        if !bytes.starts_with(b"#txt") {
            return;
        }
        let up = match GkDefault::parse(GKDEFAULT_CFG, bytes) {
            Ok(g) => g.upgrade().cloned(),
            Err(e) => {
                self.push(
                    Finding::new(
                        Check::GkdefaultWrongImage,
                        severity,
                        section::SIP_5_6_TO_SCCP,
                    )
                    .file(GKDEFAULT_CFG)
                    .line(e.line)
                    .symptom(Symptom::KeepsCurrentLoad)
                    .problem(format!("gkdefault.cfg cannot be read: {}", e.problem))
                    .fix(e.fix.clone()),
                );
                return;
            }
        };
        let Some(up) = up else {
            self.push(
                Finding::new(Check::GkdefaultWrongImage, severity, section::SIP_5_6_TO_SCCP)
                    .file(GKDEFAULT_CFG)
                    .symptom(Symptom::KeepsCurrentLoad)
                    .problem("gkdefault.cfg has no upgradecode line: the SIP 5.x/6.x phone is not told which SCCP image to load")
                    .fix(format!("add the upgradecode line naming the SCCP image, then run `{CFGFMT_COMMAND}`")),
            );
            return;
        };
        let image = up.image.as_str().to_string();
        let problem = if up.image.protocol != Protocol::Sccp {
            format!(
                "gkdefault.cfg's upgradecode still names the {} image {image}: it must name the SCCP file to load ({target})",
                proto(up.image.protocol)
            )
        } else if !self.root.has(&image) {
            format!("gkdefault.cfg's upgradecode names {image}, which is not in the TFTP root")
        } else {
            return;
        };
        let line = bytes
            .split(|&b| b == b'\n')
            .position(|l| l.trim_ascii_start().starts_with(b"upgradecode:"))
            .map_or(1, |i| i + 1);
        self.push(
            Finding::new(Check::GkdefaultWrongImage, severity, section::SIP_5_6_TO_SCCP)
                .file(GKDEFAULT_CFG)
                .line(line)
                .symptom(Symptom::KeepsCurrentLoad)
                .problem(problem)
                .fix(format!(
                    "in gkdefault.txt, replace the version code and image name with those of the SCCP image you downloaded, then run `{CFGFMT_COMMAND}`"
                )),
        );
    }
}

impl Ctx<'_> {
    /// OS79XX.TXT naming an SCCP load that the phones reading it may not
    /// go to directly (the planner's rule graph): SIP 4.x and earlier reach
    /// SCCP 6.x and later only through the 6.3 image, SIP 3.x and earlier
    /// SCCP 5.x and later only through the latest SCCP 4.x.
    pub(super) fn revert_path(&mut self, os79: Option<&Named>) {
        let Some(n) = os79 else { return };
        let Some(load) = n.image.load() else { return };
        if load.application_protocol() != Some(Protocol::Sccp) {
            return;
        }
        let to = Release::new(Protocol::Sccp, load.version());
        let refusal = |r: &Release| check_hop(r, &to).err().map(|e| rule(e.rule));
        let (severity, who, why) = if self.opts.from.is_empty() {
            // The readers of OS79XX.TXT that go to SCCP through it.
            let probe = [Version::new(4, 4), Version::new(3, 0)];
            let Some((v, r)) = probe
                .iter()
                .find_map(|v| refusal(&Release::new(Protocol::Sip, *v)).map(|r| (*v, r)))
            else {
                return;
            };
            let who = if v >= Version::new(4, 0) {
                "if any phone runs SIP 4.x or earlier"
            } else {
                "if any phone runs SIP 3.x or earlier"
            };
            (Severity::Warning, who.to_string(), r)
        } else {
            let Some((from, r)) = self
                .opts
                .from
                .iter()
                .filter(|r| r.protocol == Protocol::Sip)
                .find_map(|f| refusal(f).map(|r| (f, r)))
            else {
                return;
            };
            (
                Severity::Error,
                format!("phones run SIP {}", from.version),
                r,
            )
        };
        self.push(
            Finding::new(Check::RefusedHop, severity, why.section)
                .file(&n.file)
                .line(1)
                .symptom(Symptom::KeepsCurrentLoad)
                .problem(format!(
                    "OS79XX.TXT sends the phones straight to SCCP {} ({load}), {who}: {}",
                    load.version(),
                    why.text
                ))
                .fix(format!(
                    "go through the intermediate load first: `phoneflip plan --from sip:{} --to sccp:{}` lists the hops",
                    if who.contains("3.x") { "3.0" } else { "4.4" },
                    load.version()
                )),
        );
    }
}
