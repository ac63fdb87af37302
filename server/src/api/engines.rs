//! The engine catalogue: which engines and versions a run may choose, and what each needs.

use axum::Json;
use gdl_model::engines::EngineInfo;

/// The engines and versions a run may deploy.
///
/// Every supported version of each engine (vLLM, SGLang), defaults first: its image (docker
/// mode) and pip requirement, the lowest CUDA version the host's driver must support, the GPU
/// architectures it has kernels for (`sm_75` ... `sm_120`), the least architecture each
/// quantization needs, and the flags a run may add as `settings.extra_flags`. A run names one
/// with `engine` and `engine_version`; offers it cannot run on are never rented.
#[utoipa::path(get, path = "/api/engines", tag = "runs",
    responses((status = 200, body = Vec<EngineInfo>)))]
pub async fn list() -> Json<Vec<EngineInfo>> {
    Json(gdl_model::engines::listing())
}
