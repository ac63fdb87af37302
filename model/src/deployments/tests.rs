use super::*;
use chrono::TimeZone;

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 10, minute, 0).unwrap()
}

fn serving(guards: Guards) -> Deployment {
    let mut d = Deployment::new(
        "dep-1".into(),
        "run-1".into(),
        "qwen2.5-0.5b".into(),
        "vLLM 0.31.0".into(),
        guards,
        at(0),
    );
    d.status = DeploymentStatus::Serving;
    d.serving_since = Some(at(2));
    d.price_per_hour = Some(0.60);
    d
}

#[test]
fn idle_counts_from_the_last_request() {
    let mut d = serving(Guards::default());
    assert_eq!(d.deadline(at(3)).unwrap().at, at(32));
    d.meter.last_request_at = Some(at(10));
    let first = d.deadline(at(11)).unwrap();
    assert_eq!((first.reason, first.at), (StopReason::Idle, at(40)));
}

#[test]
fn lifetime_and_the_brokers_maximum_count_when_first() {
    let mut d = serving(Guards {
        max_lifetime_hours: Some(0.25),
        ..Guards::default()
    });
    assert_eq!(d.deadline(at(3)).unwrap().reason, StopReason::Lifetime);
    d.hard_end_at = Some(at(5));
    assert_eq!(d.deadline(at(3)).unwrap().reason, StopReason::BrokerMaximum);
}

#[test]
fn spend_projects_what_is_left_at_the_price() {
    let mut d = serving(Guards {
        max_spend_usd: Some(0.10),
        ..Guards::default()
    });
    d.spend_usd = 0.05;
    // $0.05 left at $0.60/h: 5 minutes.
    let first = d.deadline(at(20)).unwrap();
    assert_eq!((first.reason, first.at), (StopReason::Spend, at(25)));
    d.spend_usd = 0.2;
    assert_eq!(d.deadline(at(20)).unwrap().at, at(20), "already over: now");
}

#[test]
fn a_finished_deployment_has_no_deadline() {
    let mut d = serving(Guards::default());
    d.status = DeploymentStatus::Stopped;
    assert_eq!(d.deadline(at(3)), None);
}

#[test]
fn served_cost_per_million_is_spend_over_output_tokens() {
    let mut d = serving(Guards::default());
    assert_eq!(d.served_usd_per_mtok(), None);
    d.spend_usd = 0.5;
    d.meter.output_tokens = 250_000;
    assert!((d.served_usd_per_mtok().unwrap() - 2.0).abs() < 1e-9);
}

#[test]
fn guards_refuse_what_is_out_of_bounds() {
    for bad in [
        r#"{"idle_minutes":-1}"#,
        r#"{"idle_minutes":20000}"#,
        r#"{"max_spend_usd":0}"#,
        r#"{"max_lifetime_hours":1000}"#,
    ] {
        let g: Guards = serde_json::from_str(bad).unwrap();
        assert!(g.check().is_err(), "{bad}");
    }
    assert!(serde_json::from_str::<Guards>(r#"{"idle":3}"#).is_err());
    let g: Guards = serde_json::from_str(r#"{"idle_minutes":0.05}"#).unwrap();
    assert!(g.check().is_ok(), "fractions of a minute");
}

#[test]
fn the_base_path_names_the_deployment() {
    assert_eq!(base_path(&"dep-7".into()), "/serve/dep-7/v1");
}
