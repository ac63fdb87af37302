//! The flags' defaults and parsers.

use super::*;

#[test]
fn flags_read_into_typed_settings_once() {
    let s = Settings::defaults("127.0.0.1:8081");
    assert_eq!(s.calls.ready_timeout, Duration::from_secs(120));
    assert_eq!(s.calls.broker_patience, Duration::from_millis(800));
    assert_eq!(s.access.session_ttl, Duration::from_secs(12 * 3600));
    assert_eq!(s.runs.bench_concurrency, [1, 4]);
    let runner = s.runs.runner_config(true);
    assert_eq!((runner.max_concurrent, runner.max_rentals), (1, 3));
    assert_eq!(runner.destroy_patience, Duration::from_secs(600));
    assert!(runner.allow_private_hosts);
    assert_eq!(s.calls.breaker().open_for, Duration::from_secs(10));
    assert_eq!(
        s.poll(),
        PollIntervals::for_speed(10.0),
        "the simulator's speed"
    );
    for bad in ["0", "-3", "soon"] {
        assert!(seconds(bad).is_err(), "{bad}");
    }
    assert!(share("1.5").is_err() && share("0.2").is_ok());
    assert_eq!((s.calls.max_reply_mb, s.calls.max_pages), (32, 50));
    let limits = s.calls.limits();
    assert_eq!((limits.max_reply_bytes, limits.max_pages), (32 << 20, 50));
    assert_eq!(
        runner.reconcile.grace,
        Some(Duration::from_secs(600)),
        "--orphan-grace-minutes 10"
    );
    assert_eq!(runner.reconcile.every, Duration::from_secs(60));
    let mut never = s.runs.clone();
    never.orphan_grace_minutes = 0;
    assert_eq!(
        never.runner_config(false).reconcile.grace,
        None,
        "0: never on its own"
    );
    let doors = s.connections.limits();
    assert_eq!(doors.max, 4096);
    assert_eq!(doors.header_timeout, Duration::from_secs(10));
}
