//! The create request as the broker binds and validates it: its messages, in its order.

use crate::simulator::SimError;
use gdl_model::shopper::{Provider, WORKLOAD_TYPES};
use serde_json::Value;

/// The fields of a create request the simulator reads.
pub(super) struct CreateRequest {
    pub consumer_id: String,
    pub offer_id: String,
    pub workload_type: String,
    pub reservation_hours: u32,
    pub auto_retry: bool,
    /// `None` when absent or ≤ 0 (the broker treats those as unset).
    pub disk_gb: Option<u32>,
    pub model_id: Option<String>,
    pub quantization: Option<String>,
    pub template_hash_id: Option<String>,
    /// `entrypoint`, or `ssh` for anything else.
    pub launch_mode: String,
    /// Clamped to 1–30 when given (> 0).
    pub ssh_timeout_minutes: Option<u32>,
}

impl CreateRequest {
    /// The arguments of the vLLM the provider starts for this request, if it starts one:
    /// only Vast.ai acts on `launch_mode: entrypoint`, and it runs vLLM for the `llm_vllm`
    /// workload with `VLLM_MODEL` and the `VLLM_ARGS` the broker builds (no tensor-parallel
    /// size, no API key; `vastai/types.go` `BuildVLLMEnvVars`).
    pub fn provider_vllm(&self, provider: &Provider) -> Option<Vec<String>> {
        if self.launch_mode != "entrypoint"
            || *provider != Provider::VastAi
            || self.workload_type != "llm_vllm"
        {
            return None;
        }
        let mut args = vec!["--model".to_owned(), self.model_id.clone()?];
        args.extend(["--gpu-memory-utilization".to_owned(), "0.90".to_owned()]);
        if let Some(q) = &self.quantization {
            args.extend(["--quantization".to_owned(), q.clone()]);
        }
        Some(args)
    }
}

/// Binds and validates a create body with the broker's messages and order.
pub(super) fn validate_create(body: &[u8]) -> Result<CreateRequest, SimError> {
    let Value::Object(map) = bind_json(body)? else {
        return Err(SimError::standard(
            400,
            "json: cannot unmarshal value into Go value of type api.CreateSessionRequest",
        ));
    };
    let text = |key: &str| -> Result<String, SimError> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(type_error(key, other, "string")),
        }
    };
    let int = |key: &str| -> Result<i64, SimError> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(0),
            Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64().unwrap_or(0)),
            Some(other) => Err(type_error(key, other, "int")),
        }
    };
    let consumer_id = text("consumer_id")?;
    let offer_id = text("offer_id")?;
    let workload_type = text("workload_type")?;
    let retry_scope = text("retry_scope")?;
    let hours = int("reservation_hours")?;
    let auto_retry = match map.get("auto_retry") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => return Err(type_error("auto_retry", other, "bool")),
    };
    let model_id = Some(text("model_id")?).filter(|m| !m.is_empty());
    let quantization = Some(text("quantization")?).filter(|q| !q.is_empty());
    let template_hash_id = Some(text("template_hash_id")?).filter(|t| !t.is_empty());
    let launch_mode = match text("launch_mode")?.as_str() {
        "entrypoint" => "entrypoint".to_owned(),
        _ => "ssh".to_owned(),
    };
    let disk_gb = u32::try_from(int("disk_gb")?).ok().filter(|d| *d > 0);
    let ssh_timeout_minutes = Some(int("ssh_timeout_minutes")?)
        .filter(|m| *m > 0)
        .map(|m| m.clamp(1, 30) as u32);
    let mut problems = Vec::new();
    for (key, value) in [
        ("consumer_id", &consumer_id),
        ("offer_id", &offer_id),
        ("workload_type", &workload_type),
    ] {
        if value.is_empty() {
            problems.push(format!("{key} is required"));
        }
    }
    match hours {
        0 => problems.push("reservation_hours is required".into()),
        h if h < 1 => problems.push("reservation_hours must be at least 1".into()),
        h if h > 12 => problems.push("reservation_hours must be at most 12".into()),
        _ => {}
    }
    if !problems.is_empty() {
        return Err(SimError::standard(400, problems.join("; ")));
    }
    if !WORKLOAD_TYPES.contains(&workload_type.as_str()) {
        return Err(SimError::standard(
            400,
            format!(
                "invalid workload_type: must be one of: {}",
                WORKLOAD_TYPES.join(", ")
            ),
        ));
    }
    if auto_retry
        && !retry_scope.is_empty()
        && !["same_gpu", "same_vram", "any"].contains(&retry_scope.as_str())
    {
        return Err(SimError::standard(
            400,
            "invalid retry_scope: must be one of: same_gpu, same_vram, any",
        ));
    }
    Ok(CreateRequest {
        consumer_id,
        offer_id,
        workload_type,
        reservation_hours: hours as u32,
        auto_retry,
        disk_gb,
        model_id,
        quantization,
        template_hash_id,
        launch_mode,
        ssh_timeout_minutes,
    })
}

/// A JSON body as the broker's binder reads it: `EOF` when empty, a decoder error when it
/// is not JSON.
pub(super) fn bind_json(body: &[u8]) -> Result<Value, SimError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(SimError::standard(400, "EOF"));
    }
    serde_json::from_slice(body)
        .map_err(|e| SimError::standard(400, format!("invalid character in request body: {e}")))
}

/// Go's decoder error for `value` in `CreateSessionRequest.field` of type `go_type`.
fn type_error(field: &str, value: &Value, go_type: &str) -> SimError {
    go_type_error(&format!("CreateSessionRequest.{field}"), value, go_type)
}

/// Go's decoder error for `value` in struct field `field` (`Type.name`) of type `go_type`.
pub(super) fn go_type_error(field: &str, value: &Value, go_type: &str) -> SimError {
    let json_kind = match value {
        Value::String(_) => "string".to_owned(),
        Value::Number(n) => format!("number {n}"),
        Value::Bool(_) => "bool".to_owned(),
        Value::Array(_) => "array".to_owned(),
        _ => "object".to_owned(),
    };
    SimError::standard(
        400,
        format!(
            "json: cannot unmarshal {json_kind} into Go struct field {field} of type {go_type}"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_validation_follows_the_broker() {
        let err =
            |body: &str| validate_create(body.as_bytes()).err().unwrap().body["error"].clone();
        assert_eq!(err(""), "EOF");
        assert_eq!(
            err("{}"),
            "consumer_id is required; offer_id is required; workload_type is required; reservation_hours is required"
        );
        assert_eq!(
            err(
                r#"{"consumer_id":"c","offer_id":"o","workload_type":"llm","reservation_hours":13}"#
            ),
            "reservation_hours must be at most 12"
        );
        assert!(err(
            r#"{"consumer_id":"c","offer_id":"o","workload_type":"x","reservation_hours":1}"#
        )
        .as_str()
        .unwrap()
        .starts_with("invalid workload_type"));
        assert!(err(r#"{"reservation_hours":"2"}"#)
            .as_str()
            .unwrap()
            .contains("reservation_hours of type int"));
        assert!(validate_create(
            br#"{"consumer_id":"c","offer_id":"o","workload_type":"llm","reservation_hours":2}"#
        )
        .is_ok());
    }
}
