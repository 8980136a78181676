//! "W210 TFTP Error : buffer full" Error: SIP 2.x and earlier cannot
//! download a SIPDefault.cnf over the planner's limit.

use phoneflip_config::filename::SIP_DEFAULT;
use phoneflip_config::SipCnf;
use phoneflip_firmware::{Protocol, Release};
use phoneflip_plan::{w210_applies, w210_buffer_full, W210_LIMIT};

use crate::finding::{section, Check, Finding, Fix, Severity, Symptom};

use super::{sip_of, Ctx, Named};

impl Ctx<'_> {
    /// The W210-prone load in play, and why it is: one the phones run, or
    /// one SIPDefault.cnf or OS79XX.TXT sends them to.
    pub(super) fn w210_load_in_play(
        &self,
        default_image: Option<&Named>,
        os79: Option<&Named>,
    ) -> Option<(Release, String)> {
        if let Some(r) = self.opts.from.iter().find(|r| w210_applies(r)) {
            return Some((*r, format!("phones run SIP {}", r.version)));
        }
        [default_image, os79].into_iter().flatten().find_map(|n| {
            let r = Release::new(Protocol::Sip, sip_of(&n.image)?);
            w210_applies(&r).then(|| (r, format!("{} names SIP {}", n.file, r.version)))
        })
    }

    pub(super) fn w210(&mut self, default_image: Option<&Named>, os79: Option<&Named>) {
        let Some(file) = self.root.get(SIP_DEFAULT) else {
            return;
        };
        let Some((release, why)) = self.w210_load_in_play(default_image, os79) else {
            return;
        };
        if !w210_buffer_full(&release, file.size) {
            return;
        }
        let name = default_image.map(|n| n.image.clone()).or_else(|| {
            os79.map(|n| n.image.clone())
                .filter(|i| sip_of(i).is_some())
        });
        let minimal = name.as_ref().and_then(|n| {
            let c = SipCnf::from_pairs([("image_version", n.as_str())]).ok()?;
            String::from_utf8(c.to_bytes()).ok()
        });
        self.push(
            Finding::new(Check::W210, Severity::Error, section::W210)
                .file(SIP_DEFAULT)
                .symptom(Symptom::W210BufferFull)
                .problem(format!(
                    "SIPDefault.cnf is {} bytes and {why}: SIP 2.x and earlier cannot download a SIPDefault.cnf over {W210_LIMIT} bytes",
                    file.size
                ))
                .fix(match &name {
                    Some(n) => format!("make SIPDefault.cnf hold only `image_version: {n}` until the phones have converted, then put your configuration back (--fix keeps the original in the backup)"),
                    None => "make SIPDefault.cnf hold only `image_version: NAME` (the image without .bin) until the phones have converted".into(),
                })
                .auto(minimal.map(|contents| Fix::Rewrite {
                    file: SIP_DEFAULT.into(),
                    contents,
                })),
        );
    }
}
