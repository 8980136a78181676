//! The per-request pipeline, as the TFTP server's `FileSource`: identify
//! (classify the name once, [`AddressBook`]) → look up (inventory) →
//! update (plan the next hop) → route (render, deny or fall through).
//!
//! A phone whose current load is unknown is never sent a file that could
//! skip a documented hop: the control files its address asked for since
//! its boot began say which generations it can run (the planner's
//! [`boot_consistent`] over its [`REPRESENTATIVES`]), or the operator's
//! fleet default (`serve --assume-current`) stands in; the file is sent
//! only when the plans from every load that fits agree on it, and is
//! otherwise answered "File not found" with the reason kept per phone
//! ([`Provisioner::why`]).
//!
//! `gkdefault.cfg` and `gk<MAC>` are rendered as `gkdefault.txt` and
//! compiled with the tag table found in the root (`sip_ptag*.dat`,
//! [`Provisioner::tag_table_of`]) by [`phoneflip_config::cfgfmt`].

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;
use phoneflip_config::cfgfmt::{CfgfmtError, TagTable};
use phoneflip_config::{
    render_one, FileKind, FileName, GkDefault, RenderError, RenderLoad, Template,
};
use phoneflip_device::{Mac, Model};
use phoneflip_firmware::{LoadName, LoadNameError, Protocol, Release};
use phoneflip_inventory::{now_millis, Inventory, InventoryError, Phone, RenderInputs};
use phoneflip_plan::rules::REPRESENTATIVES;
use phoneflip_plan::{boot_consistent, plan, Catalogue, Endpoint, PlanError};
use phoneflip_tftp::{Resolution, ResolveRequest};
use tracing::{info, warn};

use crate::autoreg_limit::{AutoRegisterLimiter, AutoRegisterLimits};
use crate::identify::AddressBook;
use crate::record::Recorder;

/// Auto-registration, as the reference's "Auto Registration Phone
/// Protocol": an unknown MAC that asks for its own file is added to the
/// inventory with this protocol's template and served its files.
#[derive(Debug, Clone)]
pub struct AutoRegister {
    pub protocol: Protocol,
    /// Template the new phone follows (must exist in the inventory).
    pub template: Option<String>,
    pub model: Model,
}

/// Why a phone's file could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    #[error("auto-registration failed: {0}")]
    AutoRegister(#[source] InventoryError),
    #[error("no {0} load in the TFTP root to give the phone; import a firmware bundle")]
    NoLoadInRoot(Protocol),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    LoadName(#[from] LoadNameError),
    #[error("the next hop ({release}) needs a load that is not in the TFTP root: {}", files.join(", "))]
    HopNotInRoot { release: String, files: Vec<String> },
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error("the TFTP root has no tag table (sip_ptag.dat, from the SIP firmware package) to compile gkdefault.cfg with; import the SIP bundle or copy sip_ptag.dat into the root")]
    NoTagTable,
    #[error("compiling gkdefault.cfg: {0}")]
    Cfgfmt(#[from] CfgfmtError),
    #[error("reading the tag table {file}: {source}")]
    TagTableRead {
        file: String,
        #[source]
        source: std::io::Error,
    },
}

/// Why a request got what it got; logged and returned for tests.
#[derive(Debug)]
pub enum Decision {
    /// No MAC known for the request, or a file the inventory doesn't
    /// render (images, rings): served from the root.
    Root,
    /// The phone is not in the inventory (and auto-registration is off).
    UnknownPhone(Mac),
    /// The phone has no desired load: its files come from the root.
    NothingWanted(Mac),
    /// Rendered for the phone, aiming at this load.
    Rendered { mac: Mac, target: LoadName },
    /// Rendering or planning failed; the root's file (if any) is served
    /// and the reason is logged.
    Failed { mac: Mac, reason: ProvisionError },
    /// The phone's load is unknown and the loads its requests fit do not
    /// agree on this file: answered "File not found" (the phone keeps its
    /// load), with the reason.
    Held { mac: Mac, reason: String },
    /// A firmware file asked for by its DOS 8.3 alias, which the root does
    /// not hold: answered from this file of the root, the load the alias
    /// stands for (the reference's rename for SIP 2.1 and earlier, without
    /// a copy in the root).
    Alias { file: String },
}

/// A new boot: the first control file each generation asks for, or a
/// pause longer than a boot takes.
const BOOT_GAP_MS: i64 = 120_000;

/// Beyond this many addresses or phones the memories start over.
const MAX_REMEMBERED: usize = 1_000_000;

/// A control file's name as the planner's boot table spells it.
fn boot_name(kind: &FileKind) -> Option<&'static str> {
    Some(match kind {
        FileKind::Os79xx => "OS79XX.TXT",
        FileKind::GkDefaultCfg | FileKind::GkMac(_) => "gkdefault.cfg",
        FileKind::SipDefault => "SIPDefault.cnf",
        FileKind::SipMac(_) => "SIP<MAC>.cnf",
        FileKind::SepMac(_) => "SEP<MAC>.cnf.xml",
        FileKind::XmlDefault => "XMLDefault.cnf.xml",
        FileKind::MgcMac(_) => "MGC<MAC>.cnf",
        _ => return None,
    })
}

/// The control files one address asked for since its boot began.
#[derive(Debug, Default, Clone)]
struct BootSeen {
    at_ms: i64,
    seen: Vec<&'static str>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A rendered file (`None`: not one the hop uses) and the load it aims at.
type Rendered = (Option<Vec<u8>>, LoadName);

/// Where a phone goes next.
struct Next {
    target: LoadName,
    current: Option<LoadName>,
    gk_image: Option<phoneflip_firmware::GkImage>,
}

/// Renders per-phone files from the inventory for the TFTP server.
pub struct Provisioner {
    inventory: Arc<dyn Inventory>,
    catalogue: RwLock<Catalogue>,
    auto: Option<AutoRegister>,
    /// How many phones `auto` may add, per source and in all.
    auto_limit: AutoRegisterLimiter,
    phones: Arc<AddressBook>,
    /// The fleet default for phones whose load is unknown.
    assume_current: Option<LoadName>,
    tag_table: RwLock<Option<TagTable>>,
    boots: Mutex<HashMap<IpAddr, BootSeen>>,
    /// Per phone, the first control files of its last boot that told
    /// generations apart (two or more), for the boots that tell less.
    learnt: Mutex<HashMap<Mac, Vec<&'static str>>>,
    why: Mutex<HashMap<Mac, String>>,
}

impl Provisioner {
    pub fn new(
        inventory: Arc<dyn Inventory>,
        catalogue: Catalogue,
        auto: Option<AutoRegister>,
    ) -> Self {
        Provisioner {
            inventory,
            catalogue: RwLock::new(catalogue),
            auto,
            auto_limit: AutoRegisterLimiter::new(AutoRegisterLimits::default()),
            phones: Arc::new(AddressBook::new()),
            assume_current: None,
            tag_table: RwLock::new(None),
            boots: Mutex::new(HashMap::new()),
            learnt: Mutex::new(HashMap::new()),
            why: Mutex::new(HashMap::new()),
        }
    }

    /// The load phones whose load is unknown are taken to run, as long as
    /// their requests fit it (`serve --assume-current`).
    pub fn with_assumed_current(mut self, load: Option<LoadName>) -> Self {
        self.assume_current = load;
        self
    }

    /// How many phones auto-registration may add (default:
    /// [`AutoRegisterLimits::default`]).
    pub fn with_auto_register_limits(mut self, limits: AutoRegisterLimits) -> Self {
        self.auto_limit = AutoRegisterLimiter::new(limits);
        self
    }

    /// The tag table `gkdefault.cfg` is compiled with.
    pub fn set_tag_table(&self, table: Option<TagTable>) {
        *self.tag_table.write().unwrap_or_else(|p| p.into_inner()) = table;
    }

    /// The tag table in `root`: the `sip_ptag*.dat` that ships with the SIP
    /// firmware (phoneflip ships no Cisco data); `None` when there is none.
    pub fn tag_table_of(root: &Path) -> Result<Option<TagTable>, ProvisionError> {
        let read = |file: &str, e| ProvisionError::TagTableRead {
            file: file.to_string(),
            source: e,
        };
        let mut names: Vec<String> = std::fs::read_dir(root)
            .map_err(|e| read(&root.display().to_string(), e))?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| {
                let l = n.to_ascii_lowercase();
                l.starts_with("sip_ptag") && l.ends_with(".dat")
            })
            .collect();
        // sip_ptag.dat before model-specific ones, for a stable choice.
        names.sort_by_key(|n| (n.len(), n.clone()));
        let Some(name) = names.first() else {
            return Ok(None);
        };
        let bytes = std::fs::read(root.join(name)).map_err(|e| read(name, e))?;
        Ok(Some(TagTable::parse(name, &bytes)?))
    }

    /// Why the last request of a phone whose load is unknown got what it
    /// got (the loads its requests fit, and whether their plans agreed).
    pub fn why(&self, mac: Mac) -> Option<String> {
        lock(&self.why).get(&mac).cloned()
    }

    fn set_why(&self, mac: Mac, reason: String) {
        let mut why = lock(&self.why);
        if why.get(&mac) != Some(&reason) {
            info!(%mac, "{reason}");
            if why.len() >= MAX_REMEMBERED {
                why.clear();
            }
            why.insert(mac, reason);
        }
    }

    /// Records a request from `ip` and returns the control files asked
    /// for since that address's boot began.
    fn note_request(&self, ip: IpAddr, mac: Option<Mac>, kind: &FileKind) -> Vec<&'static str> {
        let now = now_millis();
        let mut boots = lock(&self.boots);
        if boots.len() >= MAX_REMEMBERED && !boots.contains_key(&ip) {
            boots.clear();
        }
        let b = boots.entry(ip).or_default();
        let starts =
            matches!(kind, FileKind::Os79xx | FileKind::CtlSep(_)) || now - b.at_ms > BOOT_GAP_MS;
        if starts {
            b.seen.clear();
        }
        b.at_ms = now;
        if let Some(n) = boot_name(kind) {
            if b.seen.last() != Some(&n) && b.seen.len() < 8 {
                b.seen.push(n);
            }
        }
        let seen = b.seen.clone();
        drop(boots);
        if let (Some(m), true) = (mac, seen.len() >= 2) {
            let mut learnt = lock(&self.learnt);
            if learnt.len() >= MAX_REMEMBERED {
                learnt.clear();
            }
            learnt.insert(m, seen[..2].to_vec());
        }
        seen
    }

    /// The loads a phone of unknown load may run, given what it asked for.
    fn candidates(&self, mac: Mac, seen: &[&'static str]) -> (Vec<LoadName>, String) {
        let fits =
            |load: &LoadName| boot_consistent(&Release::new(load.protocol(), load.version()), seen);
        if let Some(a) = &self.assume_current {
            if fits(a) {
                return (
                    vec![a.clone()],
                    format!("assumed to run {a} (serve --assume-current)"),
                );
            }
        }
        let learnt = if seen.len() < 2 {
            lock(&self.learnt).get(&mac).cloned().unwrap_or_default()
        } else {
            Vec::new()
        };
        let loads: Vec<LoadName> = REPRESENTATIVES
            .iter()
            .filter_map(|r| r.parse::<Release>().ok())
            .filter(|r| boot_consistent(r, seen) && boot_consistent(r, &learnt))
            .filter_map(|r| LoadName::try_canonical(r.protocol, r.version).ok())
            .collect();
        let asked = if seen.is_empty() && learnt.is_empty() {
            "nothing yet".to_string()
        } else {
            seen.iter()
                .chain(learnt.iter())
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        };
        let assumed = match &self.assume_current {
            Some(a) => format!(" (the assumed {a} does not fit)"),
            None => String::new(),
        };
        (
            loads,
            format!("current load unknown; its requests ({asked}) fit{assumed}"),
        )
    }

    /// The address→MAC memory requests are identified with.
    pub fn phones(&self) -> Arc<AddressBook> {
        self.phones.clone()
    }

    /// The TFTP server's event sink for this pipeline: records into the
    /// same inventory, identifying phones with the same memory.
    pub fn recorder(&self) -> Recorder {
        Recorder::new(self.inventory.clone(), self.phones.clone())
    }

    /// A catalogue of the releases whose files are in `root`, so plans use
    /// the loads really there.
    pub fn catalogue_of(root: &Path) -> std::io::Result<Catalogue> {
        let names: Vec<String> = std::fs::read_dir(root)?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        Ok(Catalogue::from_file_names(names))
    }

    /// Re-reads the root after firmware was imported.
    pub fn set_catalogue(&self, catalogue: Catalogue) {
        *self.catalogue.write().unwrap_or_else(|p| p.into_inner()) = catalogue;
    }

    fn lookup(
        &self,
        mac: Mac,
        requested: &FileName,
        client: Option<IpAddr>,
    ) -> Result<Option<RenderInputs>, ProvisionError> {
        match self.inventory.render_inputs(mac) {
            Ok(r) => Ok(Some(r)),
            Err(phoneflip_inventory::InventoryError::NoSuchPhone(_)) => {
                let own_file = requested.kind.mac() == Some(mac);
                match &self.auto {
                    Some(auto) if own_file => {
                        if let Err(r) = self.auto_limit.admit(client) {
                            if r.log {
                                warn!(%mac, "not auto-registered: {} (this source or limit is logged once per window; the phone gets the root's files until then)", r.reason);
                            }
                            return Ok(None);
                        }
                        let mut phone = Phone::new(mac, auto.model);
                        phone.auto_registered = true;
                        phone.desired_protocol = Some(auto.protocol);
                        phone.template = auto.template.clone();
                        phone.description = format!("auto-registered {}", now_millis());
                        match self.inventory.insert_phone_if_absent(&phone) {
                            Ok(_) => {
                                info!(%mac, protocol = %auto.protocol, "auto-registered a new phone")
                            }
                            Err(e) => return Err(ProvisionError::AutoRegister(e)),
                        }
                        Ok(Some(self.inventory.render_inputs(mac)?))
                    }
                    _ => Ok(None),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The root's file that `base` (`alias` plus the image's extension)
    /// stands for: the first image of a load in the root whose 8.3 alias
    /// is `alias`, with the same extension. `None` when the root holds
    /// `base` itself (an operator's copy wins) or no load has that alias.
    fn alias_target(&self, alias: &str, base: &str) -> Option<String> {
        let catalogue = self.catalogue.read().unwrap_or_else(|p| p.into_inner());
        if catalogue.has_file(base) != Some(false) {
            return None;
        }
        let ext = base.rsplit_once('.').map(|(_, e)| e)?;
        catalogue
            .entries()
            .iter()
            .filter(|e| phoneflip_config::image_ref::alias_of(alias, &e.load))
            .map(|e| format!("{}.{ext}", phoneflip_plan::first_image(&e.load)))
            .find(|f| catalogue.has_file(f) == Some(true))
    }

    /// The load the phone must end on: its desired load, or the latest
    /// load of its desired protocol in the root.
    fn desired(&self, inputs: &RenderInputs) -> Result<Option<LoadName>, ProvisionError> {
        let catalogue = self.catalogue.read().unwrap_or_else(|p| p.into_inner());
        Ok(Some(
            match (&inputs.desired_load, inputs.desired_protocol) {
                (Some(l), _) => l.clone(),
                (None, Some(p)) => match catalogue
                    .entries()
                    .iter()
                    .filter(|e| e.release.protocol == p && (e.in_root || !catalogue.is_root()))
                    .max_by_key(|e| e.release.version)
                {
                    Some(e) => e.load.clone(),
                    None => return Err(ProvisionError::NoLoadInRoot(p)),
                },
                (None, None) => return Ok(None),
            },
        ))
    }

    /// The load a phone running `current` must run next on its way to
    /// `desired`: the first hop of its plan (with the gkdefault image when
    /// that hop goes through gkdefault); `desired` itself when the current
    /// load is unknown (offline rendering, [`Provisioner::decide`]).
    fn next_from(
        &self,
        current: Option<LoadName>,
        desired: LoadName,
        model: Model,
    ) -> Result<Next, ProvisionError> {
        let catalogue = self.catalogue.read().unwrap_or_else(|p| p.into_inner());
        let Some(current) = current else {
            return Ok(Next {
                target: desired,
                current: None,
                gk_image: None,
            });
        };
        let p = plan(
            Endpoint::Load(current.clone()),
            Endpoint::Load(desired.clone()),
            Some(model),
            &catalogue,
        )?;
        let Some(hop) = p.hops.first() else {
            return Ok(Next {
                target: desired,
                current: Some(current),
                gk_image: None,
            });
        };
        let target = match &hop.to.load {
            Some(l) => l.parse()?,
            None => {
                return Err(ProvisionError::HopNotInRoot {
                    release: hop.to.release.clone(),
                    files: hop.files.clone(),
                })
            }
        };
        let gk_image = hop
            .control_files
            .iter()
            .find(|c| c.file == "gkdefault.txt")
            .and_then(|c| GkDefault::parse("gkdefault.txt", c.content.as_bytes()).ok())
            .and_then(|g| g.upgrade().map(|u| u.image.clone()));
        Ok(Next {
            target,
            current: Some(current),
            gk_image,
        })
    }

    /// The file `name` for the phone on its way to `next`; `gkdefault.cfg`
    /// and `gk<MAC>` are its `gkdefault.txt` compiled with the root's tag
    /// table.
    fn render_for(
        &self,
        inputs: &RenderInputs,
        next: &Next,
        name: &FileName,
    ) -> Result<Option<Vec<u8>>, ProvisionError> {
        let template = inputs.template.clone().unwrap_or_else(|| Template {
            name: "default".into(),
            protocol: next.target.protocol(),
            settings: Default::default(),
        });
        let mut load = RenderLoad::new(next.current.clone(), next.target.clone());
        load.gk_image = next.gk_image.clone();
        let gk = matches!(name.kind, FileKind::GkDefaultCfg | FileKind::GkMac(_));
        let base = if gk {
            "gkdefault.txt"
        } else {
            name.base.as_str()
        };
        let Some(file) = render_one(&inputs.settings, &template, &load, base)? else {
            return Ok(None);
        };
        if !gk {
            return Ok(Some(file.bytes));
        }
        let table = self.tag_table.read().unwrap_or_else(|p| p.into_inner());
        let table = table.as_ref().ok_or(ProvisionError::NoTagTable)?;
        Ok(Some(phoneflip_config::cfgfmt::compile_file(
            "gkdefault.txt",
            &file.bytes,
            table,
        )?))
    }

    /// The whole pipeline for one request by `mac` (when known otherwise
    /// than from the name), with no request context: a phone of unknown
    /// load is rendered for its desired load, or planned from the assumed
    /// one (offline rendering); pure apart from the inventory.
    pub fn decide(&self, requested: &str, mac: Option<Mac>) -> (Decision, Option<Bytes>) {
        self.decide_named(&FileName::classify(requested), mac, None, None)
    }

    /// [`Provisioner::decide`] for a request from `ip`, as the TFTP server
    /// makes it: what the address asked for since its boot counts.
    pub fn decide_from(&self, requested: &str, ip: IpAddr) -> (Decision, Option<Bytes>) {
        let name = FileName::classify(requested);
        let mac = self.phones.identify(ip, &name);
        let seen = self.note_request(ip, mac, &name.kind);
        self.decide_named(&name, mac, Some(seen), Some(ip))
    }

    fn decide_named(
        &self,
        name: &FileName,
        mac: Option<Mac>,
        seen: Option<Vec<&'static str>>,
        client: Option<IpAddr>,
    ) -> (Decision, Option<Bytes>) {
        if let FileKind::AliasImage(alias, _) = &name.kind {
            if let Some(file) = self.alias_target(alias, &name.base) {
                return (Decision::Alias { file }, None);
            }
        }
        let Some(mac) = name.kind.mac().or(mac) else {
            return (Decision::Root, None);
        };
        let gk = matches!(name.kind, FileKind::GkDefaultCfg | FileKind::GkMac(_));
        if !name.kind.is_rendered() && !gk {
            return (Decision::Root, None);
        }
        let inputs = match self.lookup(mac, name, client) {
            Ok(Some(i)) => i,
            Ok(None) => return (Decision::UnknownPhone(mac), None),
            Err(reason) => return (Decision::Failed { mac, reason }, None),
        };
        let model = inputs.settings.model;
        let desired = match self.desired(&inputs) {
            Ok(Some(d)) => d,
            Ok(None) => return (Decision::NothingWanted(mac), None),
            Err(reason) => return (Decision::Failed { mac, reason }, None),
        };
        let known = inputs.observed_load.clone();
        let (currents, context) = match (known, seen) {
            (Some(c), _) => (vec![Some(c)], None),
            (None, None) => match &self.assume_current {
                Some(a) => (vec![Some(a.clone())], None),
                None => (vec![None], None),
            },
            (None, Some(seen)) => {
                let (loads, context) = self.candidates(mac, &seen);
                (loads.into_iter().map(Some).collect(), Some(context))
            }
        };
        let Some(context) = context else {
            let current = currents.into_iter().next().flatten();
            let result = self
                .next_from(current, desired, model)
                .and_then(|next| Ok((self.render_for(&inputs, &next, name)?, next.target)));
            return match result {
                Ok((bytes, target)) => (Decision::Rendered { mac, target }, bytes.map(Bytes::from)),
                Err(reason) => (Decision::Failed { mac, reason }, None),
            };
        };
        // Unknown load: every load the requests fit must give the same file.
        let mut answers: Vec<(LoadName, Result<Rendered, ProvisionError>)> = Vec::new();
        for current in currents.into_iter().flatten() {
            let r = self
                .next_from(Some(current.clone()), desired.clone(), model)
                .and_then(|next| Ok((self.render_for(&inputs, &next, name)?, next.target)));
            answers.push((current, r));
        }
        let loads = answers
            .iter()
            .map(|(l, _)| l.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let first_ok = answers.first().and_then(|(_, r)| r.as_ref().ok()).cloned();
        let agree = !answers.is_empty()
            && answers.iter().all(|(_, r)| match (r, &first_ok) {
                (Ok((b, _)), Some((b0, _))) => b == b0,
                _ => false,
            });
        match first_ok {
            Some((bytes, target)) if agree => {
                self.set_why(
                    mac,
                    format!(
                        "{context} {loads}; their plans agree on {}: {}",
                        name.base,
                        if bytes.is_some() {
                            "sent"
                        } else {
                            "not used, answered File not found"
                        }
                    ),
                );
                (Decision::Rendered { mac, target }, bytes.map(Bytes::from))
            }
            _ => {
                let differ = answers
                    .iter()
                    .filter_map(|(l, r)| r.as_ref().err().map(|e| format!("{l}: {e}")))
                    .collect::<Vec<_>>();
                let reason = format!(
                    "{context} {}; their plans differ on {}{}: not sent, so no documented hop is skipped; \
                     set its load (phones import current_load, phones set --current-load) or serve --assume-current LOAD",
                    if loads.is_empty() { "no known load" } else { loads.as_str() },
                    name.base,
                    if differ.is_empty() { String::new() } else { format!(" ({})", differ.join("; ")) }
                );
                self.set_why(mac, reason.clone());
                (Decision::Held { mac, reason }, None)
            }
        }
    }
}

impl phoneflip_tftp::FileSource for Provisioner {
    fn resolve(&self, req: &ResolveRequest<'_>) -> Resolution {
        let (decision, bytes) = self.decide_from(req.filename, req.client.ip());
        match (&decision, bytes) {
            (_, Some(b)) => Resolution::Virtual(b),
            (Decision::Alias { file }, None) => Resolution::RootFile(file.clone()),
            // A managed phone's file that its target protocol does not use
            // (the reference: "remove any protocol configuration files that
            // are not used"): absent, with the only error the loader's hunt
            // tolerates.
            (Decision::Rendered { .. } | Decision::Held { .. }, None) => Resolution::Deny {
                code: phoneflip_tftp::ErrorCode::FileNotFound,
                message: "File not found".into(),
            },
            (Decision::Failed { mac, reason }, None) => {
                warn!(%mac, file = req.filename, %reason, "could not render the phone's file; serving the root's copy if there is one");
                Resolution::NotHere
            }
            _ => Resolution::NotHere,
        }
    }
}
