//! The OpenAPI 3.1 document, generated from the handlers' `utoipa::path`
//! annotations and the types they take and return (`utoipa::ToSchema`),
//! collected by the same `routes!` calls that build the router: a route
//! cannot be served without being documented.
//!
//! Owns the document's frame (title, tags, the bearer scheme); the
//! operations belong to the handlers.

use std::sync::OnceLock;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi as Document;
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "phoneflip",
        description = "Converts Cisco 7940/7960 phones between SCCP and SIP: the inventory, \
            conversion plans, migration jobs and the TFTP log. Writes need \
            `Authorization: Bearer TOKEN` (serve --api-token)."
    ),
    modifiers(&Bearer),
    tags(
        (name = "phones", description = "The inventory and each phone's state and stage"),
        (name = "templates", description = "Shared per-protocol settings"),
        (name = "jobs", description = "Bulk migration jobs, their phones and the power-cycle list"),
        (name = "events", description = "TFTP requests as the server saw them, live by server-sent events"),
        (name = "plan", description = "Conversion plans"),
        (name = "meta", description = "Health, metrics, this document and the dashboard"),
    )
)]
pub struct ApiDoc;

/// The token scheme the write operations name.
struct Bearer;

impl Modify for Bearer {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document, built once from the routes.
pub fn document() -> &'static Document {
    static DOC: OnceLock<Document> = OnceLock::new();
    DOC.get_or_init(|| crate::routes::api().split_for_parts().1)
}
