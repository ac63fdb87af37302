use super::*;
use crate::store::StoredEvent;

fn hello(last_seq: Option<u64>, epoch: Option<&str>) -> ClientFrame {
    ClientFrame::Hello {
        last_seq,
        epoch: epoch.map(str::to_owned),
    }
}

fn removed(i: u64) -> LiveEvent {
    LiveEvent::SessionRemoved {
        id: format!("s{i}").into(),
    }
}

fn seq_of(frame: &Frame) -> (String, u64) {
    match serde_json::from_str::<ServerFrame>(frame).unwrap() {
        ServerFrame::Event { seq, .. } => ("event".into(), seq),
        ServerFrame::Snapshot { seq, .. } => ("snapshot".into(), seq),
        other => panic!("{other:?}"),
    }
}

#[test]
fn resume_replays_exactly_the_missing_events() {
    let hub = Hub::new(HubConfig::default());
    hub.publish((1..=10).map(removed));
    let sub = hub.subscribe(&hello(Some(7), Some(hub.epoch())));
    assert!(sub.resumed);
    let seqs: Vec<_> = sub.initial.iter().map(|f| seq_of(f).1).collect();
    assert_eq!(seqs, vec![8, 9, 10]);
    let none = hub.subscribe(&hello(Some(10), Some(hub.epoch())));
    assert!(none.resumed && none.initial.is_empty());
}

#[test]
fn old_epoch_or_lost_gap_gets_a_snapshot() {
    let hub = Hub::new(HubConfig {
        ring_capacity: 4,
        ..HubConfig::default()
    });
    hub.publish((1..=10).map(removed));
    let old = hub.subscribe(&hello(Some(9), Some("another-boot")));
    assert!(!old.resumed);
    assert_eq!(seq_of(&old.initial[0]), ("snapshot".into(), 10));
    let gap = hub.subscribe(&hello(Some(2), Some(hub.epoch())));
    assert!(!gap.resumed, "events 3..6 are no longer in the ring");
    let edge = hub.subscribe(&hello(Some(6), Some(hub.epoch())));
    assert!(edge.resumed, "7..10 are all kept");
    let future = hub.subscribe(&hello(Some(99), Some(hub.epoch())));
    assert!(!future.resumed);
    let stats = hub.stats();
    assert_eq!((stats.replays, stats.snapshots), (1, 3));
}

#[test]
fn slow_client_is_dropped_with_a_reason() {
    let hub = Hub::new(HubConfig {
        client_queue: 3,
        ..HubConfig::default()
    });
    let mut slow = hub.subscribe(&hello(None, None));
    let mut fast = hub.subscribe(&hello(None, None));
    for i in 1..=5 {
        hub.publish([removed(i)]);
        while fast.rx.try_recv().is_ok() {}
    }
    let reason = slow.kicked.try_recv().expect("kicked");
    assert!(reason.contains("overflow"), "{reason}");
    assert_eq!(hub.stats().overflows, 1);
    assert!(fast.kicked.try_recv().is_err(), "the fast client stays");
    assert_eq!(hub.stats().queue_depth_max, 3);
}

#[test]
fn snapshot_reflects_applied_events() {
    let hub = Hub::new(HubConfig::default());
    hub.publish([removed(1)]);
    let frame = hub.snapshot_frame();
    match serde_json::from_str::<ServerFrame>(&frame).unwrap() {
        ServerFrame::Snapshot { seq, epoch, state } => {
            assert_eq!(seq, 1);
            assert_eq!(epoch, hub.epoch());
            assert!(state.sessions.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_snapshot_is_encoded_once_per_seq_and_reads_as_the_owned_frame() {
    let hub = Hub::new(HubConfig::default());
    hub.publish([removed(1)]);
    let first = hub.snapshot_frame();
    let again = hub.subscribe(&hello(None, None)).initial.remove(0);
    assert_eq!(
        first.as_str().as_ptr(),
        again.as_str().as_ptr(),
        "the same bytes, shared"
    );
    let owned = encode(&ServerFrame::Snapshot {
        epoch: hub.epoch().to_owned(),
        seq: 1,
        state: hub.clone_state(),
    });
    assert_eq!(
        serde_json::from_str::<ServerFrame>(&first).unwrap(),
        serde_json::from_str::<ServerFrame>(&owned).unwrap()
    );
    hub.publish([removed(2)]);
    let newer = hub.snapshot_frame();
    assert!(newer.contains("\"seq\":2"), "{newer}");
}

#[test]
fn a_shared_hub_applies_its_own_stored_batch_only_right_after_its_last_event() {
    let (hub, mut outgoing) = Hub::shared(HubConfig::default(), "installation".into());
    let origin = hub.origin().unwrap().to_owned();
    hub.publish([removed(1), removed(2)]);
    assert_eq!(hub.seq(), 0, "nothing numbered before it is stored");
    assert_eq!(hub.pending_own(), 2);
    let sent: Vec<_> = std::iter::from_fn(|| outgoing.try_recv().ok()).collect();
    let row = |seq: u64, origin: &str, n: u64, body: &str| StoredEvent {
        seq,
        origin: origin.into(),
        origin_n: n,
        body: body.into(),
    };
    let own = |first: u64| -> Vec<StoredEvent> {
        sent.iter()
            .enumerate()
            .map(|(i, o)| row(first + i as u64, &origin, o.n, &o.body))
            .collect()
    };
    let sub = hub.subscribe(&hello(None, None));
    // Another replica's event (seq 1) was stored first: the batch came back as 2 and 3,
    // and cannot be applied before the reader has read 1.
    assert!(!hub.apply_next(own(2)), "a gap is left to the reader");
    assert_eq!(hub.seq(), 0);
    let other = serde_json::to_string(&removed(9)).unwrap();
    assert_eq!(hub.apply_stored(vec![row(1, "other", 1, &other)]), 1);
    assert!(hub.apply_next(own(2)));
    assert_eq!((hub.seq(), hub.pending_own()), (3, 0));
    // Read back later by the reader too: nothing is sent twice.
    assert_eq!(hub.apply_stored(own(2)), 3);
    assert!(hub.apply_next(own(2)));
    let mut seqs = Vec::new();
    let mut rx = sub.rx;
    while let Ok(frame) = rx.try_recv() {
        seqs.push(seq_of(&frame).1);
    }
    assert_eq!(
        seqs,
        vec![1, 2, 3],
        "each event once, in the database's order"
    );
}
