//! Errors as HTTP answers: a status and a JSON body `{"error": "..."}`
//! whose message names the field and the fix.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Internal(String),
    /// The database refuses writes for now (disk full, read-only).
    #[error("{0}")]
    Unavailable(String),
}

/// The body of every error answer.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What is wrong, where, and the fix.
    pub error: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        (
            status,
            Json(ErrorBody {
                error: self.to_string(),
            }),
        )
            .into_response()
    }
}

impl From<phoneflip_inventory::InventoryError> for ApiError {
    fn from(e: phoneflip_inventory::InventoryError) -> Self {
        use phoneflip_inventory::InventoryError as E;
        match e {
            E::NoSuchPhone(_) | E::NoSuchTemplate(_) => ApiError::NotFound(e.to_string()),
            E::TemplateInUse { .. } => ApiError::Conflict(e.to_string()),
            E::Unwritable(_) => ApiError::Unavailable(e.to_string()),
            E::Phone(_) | E::BadTemplateName(_) | E::BadSettingKey { .. } | E::Rejected(_) => {
                ApiError::BadRequest(e.to_string())
            }
            _ => ApiError::Internal(e.to_string()),
        }
    }
}
