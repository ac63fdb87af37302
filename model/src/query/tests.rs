use super::*;
use crate::provider::Provider;
use crate::runs::{ExportQuery, LogFormat, LogQuery, RunFilters, RunStatus};
use crate::sessions::{SessionFilters, StatusFilter};
use crate::shopper::SessionStatus;

#[test]
fn a_value_that_does_not_read_is_refused_by_name_and_blank_is_unset() {
    for (query, names) in [
        ("status=active&page=x", "page"),
        ("status=sleeping", "status"),
        ("limit=ten&model=qwen", "limit"),
    ] {
        let e = if names == "limit" {
            decode::<RunFilters>(query).unwrap_err()
        } else {
            decode::<SessionFilters>(query).unwrap_err()
        };
        assert_eq!(e.code, "invalid_input", "{query}");
        assert!(e.message.contains(names), "{query}: {}", e.message);
        assert!(e.hint.is_some());
    }
    let blank: RunFilters = decode("?status=&model=+&page=&limit=").unwrap();
    assert_eq!(blank, RunFilters::default());
    let runs: RunFilters =
        decode("status=failed&model=Qwen%2FQwen2.5-0.5B-Instruct&page=3").unwrap();
    assert_eq!(runs.status, Some(RunStatus::Failed));
    assert_eq!(runs.model.as_deref(), Some("Qwen/Qwen2.5-0.5B-Instruct"));
    assert_eq!(runs.window().unwrap(), (PAGE_ROWS, 2 * PAGE_ROWS));
    assert_eq!(decode::<RunFilters>(&runs.query_at(3)).unwrap(), runs);
    assert!(decode::<RunFilters>("limit=0").unwrap().window().is_err());
    assert!(decode::<RunFilters>("page=0").unwrap().window().is_err());
    let logs: LogQuery = decode("format=jsonl&after=10").unwrap();
    assert_eq!(
        (logs.format, logs.after),
        (Some(LogFormat::Jsonl), Some(10))
    );
    assert!(decode::<LogQuery>("format=xml").is_err());
    assert!(decode::<ExportQuery>("format=xlsx").is_err());
}

#[test]
fn filters_read_the_same_from_json_as_from_a_query() {
    let f = SessionFilters {
        status: Some(StatusFilter::Is(SessionStatus::Running)),
        provider: Some(Provider::TensorDock),
        page: Some(2),
    };
    let json = serde_json::to_string(&f).unwrap();
    assert_eq!(serde_json::from_str::<SessionFilters>(&json).unwrap(), f);
    assert_eq!(decode::<SessionFilters>(&encode(&f)).unwrap(), f);
}
