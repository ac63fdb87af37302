//! The create request as the broker binds and validates it: its messages, in its order.

use crate::simulator::SimError;
use gdl_model::shopper::WORKLOAD_TYPES;
use serde_json::Value;

/// The fields of a create request the simulator reads.
pub(super) struct CreateRequest {
    pub consumer_id: String,
    pub offer_id: String,
    pub workload_type: String,
    pub reservation_hours: u32,
    pub auto_retry: bool,
}

/// Binds and validates a create body with the broker's messages and order.
pub(super) fn validate_create(body: &[u8]) -> Result<CreateRequest, SimError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(SimError::standard(400, "EOF"));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| SimError::standard(400, format!("invalid character in request body: {e}")))?;
    let Value::Object(map) = value else {
        return Err(SimError::standard(
            400,
            "json: cannot unmarshal value into Go value of type api.CreateSessionRequest",
        ));
    };
    let text = |key: &str| -> Result<String, SimError> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(type_error(key, "string")),
        }
    };
    let consumer_id = text("consumer_id")?;
    let offer_id = text("offer_id")?;
    let workload_type = text("workload_type")?;
    let retry_scope = text("retry_scope")?;
    let hours = match map.get("reservation_hours") {
        None | Some(Value::Null) => 0,
        Some(Value::Number(n)) if n.is_i64() => n.as_i64().unwrap_or(0),
        Some(_) => return Err(type_error("reservation_hours", "int")),
    };
    let auto_retry = matches!(map.get("auto_retry"), Some(Value::Bool(true)));
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
    })
}

fn type_error(field: &str, go_type: &str) -> SimError {
    SimError::standard(
        400,
        format!("json: cannot unmarshal value into Go struct field CreateSessionRequest.{field} of type {go_type}"),
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
