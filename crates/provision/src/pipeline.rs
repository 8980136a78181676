//! The per-request pipeline, as the TFTP server's `FileSource`: identify
//! (classify the name once, [`AddressBook`]) → look up (inventory) →
//! update (plan the next hop) → route (render, deny or fall through).

use std::path::Path;
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use phoneflip_config::{render_one, FileName, GkDefault, RenderError, RenderLoad, Template};
use phoneflip_device::{Mac, Model};
use phoneflip_firmware::{LoadName, LoadNameError, Protocol};
use phoneflip_inventory::{now_millis, Inventory, InventoryError, Phone, RenderInputs};
use phoneflip_plan::{plan, Catalogue, Endpoint, PlanError};
use phoneflip_tftp::{Resolution, ResolveRequest};
use tracing::{info, warn};

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
}

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
    phones: Arc<AddressBook>,
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
            phones: Arc::new(AddressBook::new()),
        }
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
    ) -> Result<Option<RenderInputs>, ProvisionError> {
        match self.inventory.render_inputs(mac) {
            Ok(r) => Ok(Some(r)),
            Err(phoneflip_inventory::InventoryError::NoSuchPhone(_)) => {
                let own_file = requested.kind.mac() == Some(mac);
                match &self.auto {
                    Some(auto) if own_file => {
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

    /// The load the phone must run next: the first hop of its plan (with
    /// the gkdefault image when that hop goes through gkdefault), or the
    /// desired load itself when the phone's current load is unknown.
    fn next_target(
        &self,
        inputs: &RenderInputs,
        model: Model,
    ) -> Result<Option<Next>, ProvisionError> {
        let catalogue = self.catalogue.read().unwrap_or_else(|p| p.into_inner());
        let desired = match (&inputs.desired_load, inputs.desired_protocol) {
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
        };
        let Some(current) = inputs.observed_load.clone() else {
            return Ok(Some(Next {
                target: desired,
                current: None,
                gk_image: None,
            }));
        };
        let p = plan(
            Endpoint::Load(current.clone()),
            Endpoint::Load(desired.clone()),
            Some(model),
            &catalogue,
        )?;
        let Some(hop) = p.hops.first() else {
            return Ok(Some(Next {
                target: desired,
                current: Some(current),
                gk_image: None,
            }));
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
        Ok(Some(Next {
            target,
            current: Some(current),
            gk_image,
        }))
    }

    /// The whole pipeline for one request by `mac` (when known otherwise
    /// than from the name); pure apart from the inventory.
    pub fn decide(&self, requested: &str, mac: Option<Mac>) -> (Decision, Option<Bytes>) {
        self.decide_named(&FileName::classify(requested), mac)
    }

    fn decide_named(&self, name: &FileName, mac: Option<Mac>) -> (Decision, Option<Bytes>) {
        let Some(mac) = name.kind.mac().or(mac) else {
            return (Decision::Root, None);
        };
        if !name.kind.is_rendered() {
            return (Decision::Root, None);
        }
        let inputs = match self.lookup(mac, name) {
            Ok(Some(i)) => i,
            Ok(None) => return (Decision::UnknownPhone(mac), None),
            Err(reason) => return (Decision::Failed { mac, reason }, None),
        };
        let model = inputs.settings.model;
        let Next {
            target,
            current,
            gk_image,
        } = match self.next_target(&inputs, model) {
            Ok(Some(t)) => t,
            Ok(None) => return (Decision::NothingWanted(mac), None),
            Err(reason) => return (Decision::Failed { mac, reason }, None),
        };
        let template = inputs.template.clone().unwrap_or_else(|| Template {
            name: "default".into(),
            protocol: target.protocol(),
            settings: Default::default(),
        });
        let mut load = RenderLoad::new(current, target.clone());
        load.gk_image = gk_image;
        match render_one(&inputs.settings, &template, &load, &name.base) {
            Ok(Some(file)) => (
                Decision::Rendered { mac, target },
                Some(Bytes::from(file.bytes)),
            ),
            Ok(None) => (Decision::Rendered { mac, target }, None),
            Err(e) => (
                Decision::Failed {
                    mac,
                    reason: e.into(),
                },
                None,
            ),
        }
    }
}

impl phoneflip_tftp::FileSource for Provisioner {
    fn resolve(&self, req: &ResolveRequest<'_>) -> Resolution {
        let name = FileName::classify(req.filename);
        let mac = self.phones.identify(req.client.ip(), &name);
        let (decision, bytes) = self.decide_named(&name, mac);
        match (&decision, bytes) {
            (_, Some(b)) => Resolution::Virtual(b),
            // A managed phone's file that its target protocol does not use
            // (the reference: "remove any protocol configuration files that
            // are not used"): absent, with the only error the loader's hunt
            // tolerates.
            (Decision::Rendered { .. }, None) => Resolution::Deny {
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
