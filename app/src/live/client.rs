//! The mirrored state and how each received frame changes it.

use gdl_model::live::{sequence, ClientFrame, LiveEvent, LiveState, Sequencing, ServerFrame};
use std::collections::VecDeque;

/// How many applied `seq`s are remembered (for the test hook and debugging).
const RECENT_SEQS: usize = 2000;

/// The client's copy of the server state and its position in the event stream.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClientState {
    pub live: LiveState,
    /// The epoch of the last snapshot; `None` until the socket delivered one.
    pub epoch: Option<String>,
    pub last_seq: u64,
    /// A resync was asked for and its snapshot has not come yet.
    pub resync_pending: bool,
    /// Frames that could not be understood, and the last one's error.
    pub parse_errors: u64,
    pub last_parse_error: Option<String>,
    /// Recently applied event `seq`s, oldest first.
    pub recent_seqs: VecDeque<u64>,
}

/// What a received frame asks of the connection.
#[derive(Clone, Debug, PartialEq)]
pub enum Received {
    /// State changed (snapshot or event applied).
    Applied,
    /// A duplicate or already-covered event.
    Skipped,
    /// Events are missing: send a resync (unless one is pending).
    Gap { ask: bool },
    /// A heartbeat answer.
    Pong { nonce: u64, sent_at_ms: f64 },
    /// The server is closing the connection, and why.
    Closing(String),
    /// Not a frame we understand (counted).
    Invalid,
}

impl ClientState {
    /// Uses the server-rendered state until the socket delivers a snapshot.
    pub fn seed(&mut self, live: LiveState) {
        if self.epoch.is_none() {
            self.live = live;
        }
    }

    /// Whether the socket has delivered a snapshot (the state is live, not the first paint).
    pub fn is_live(&self) -> bool {
        self.epoch.is_some()
    }

    /// The hello for a (re)connection: what this client already has.
    pub fn hello(&self) -> ClientFrame {
        ClientFrame::Hello {
            last_seq: self.epoch.as_ref().map(|_| self.last_seq),
            epoch: self.epoch.clone(),
        }
    }

    /// Handles one text frame.
    pub fn receive(&mut self, text: &str) -> Received {
        let frame = match serde_json::from_str::<ServerFrame>(text) {
            Ok(frame) => frame,
            Err(e) => {
                self.parse_errors += 1;
                let start: String = text.chars().take(80).collect();
                self.last_parse_error = Some(format!("{e}; frame starts {start:?}"));
                return Received::Invalid;
            }
        };
        match frame {
            ServerFrame::Snapshot { epoch, seq, state } => {
                self.live = state;
                self.epoch = Some(epoch);
                self.last_seq = seq;
                self.resync_pending = false;
                Received::Applied
            }
            ServerFrame::Event { epoch, seq, event } => {
                match sequence(self.epoch.as_deref(), self.last_seq, &epoch, seq) {
                    Sequencing::Apply => {
                        self.apply(seq, &event);
                        Received::Applied
                    }
                    Sequencing::Skip => Received::Skipped,
                    Sequencing::Gap => {
                        let ask = !self.resync_pending;
                        self.resync_pending = true;
                        Received::Gap { ask }
                    }
                }
            }
            ServerFrame::Pong { nonce, sent_at_ms } => Received::Pong { nonce, sent_at_ms },
            ServerFrame::Closing { reason } => Received::Closing(reason),
        }
    }

    fn apply(&mut self, seq: u64, event: &LiveEvent) {
        self.live.apply(event);
        self.last_seq = seq;
        self.recent_seqs.push_back(seq);
        while self.recent_seqs.len() > RECENT_SEQS {
            self.recent_seqs.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gdl_model::live::LiveEvent;

    fn event(epoch: &str, seq: u64, id: &str) -> String {
        serde_json::to_string(&ServerFrame::Event {
            epoch: epoch.into(),
            seq,
            event: LiveEvent::SessionRemoved { id: id.into() },
        })
        .unwrap()
    }

    fn snapshot(epoch: &str, seq: u64) -> String {
        serde_json::to_string(&ServerFrame::Snapshot {
            epoch: epoch.into(),
            seq,
            state: LiveState::default(),
        })
        .unwrap()
    }

    /// What a server (or anything else on the socket) may send: frames of two boots with
    /// numbers in any order, heartbeats, goodbyes, and text that is no frame at all.
    fn any_frame() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let epoch = prop::sample::select(vec!["a", "b"]);
        prop_oneof![
            (epoch.clone(), 0u64..24).prop_map(|(e, seq)| snapshot(e, seq)),
            (epoch, 0u64..24, "[a-c]").prop_map(|(e, seq, id)| event(e, seq, &id)),
            (any::<u64>(), any::<f64>()).prop_map(|(nonce, sent_at_ms)| {
                serde_json::to_string(&ServerFrame::Pong { nonce, sent_at_ms }).unwrap()
            }),
            any::<String>(),
            "\\{\"type\":\"(event|snapshot|pong)\",[a-z\":0-9,{}]{0,40}",
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(100_000),
            failure_persistence: None,
            ..Default::default()
        })]

        /// Whatever arrives, in whatever order: no panic, an event is applied only as the
        /// next of its boot, a gap asks for one resync at a time, and what is not a frame is
        /// counted.
        #[test]
        fn any_frames_in_any_order_keep_the_mirror_consistent(
            frames in proptest::collection::vec(any_frame(), 0..12)
        ) {
            let mut c = ClientState::default();
            for text in &frames {
                let before = c.clone();
                match c.receive(text) {
                    Received::Applied => {
                        let frame: ServerFrame = serde_json::from_str(text).unwrap();
                        if let ServerFrame::Event { epoch, seq, .. } = frame {
                            proptest::prop_assert_eq!(before.epoch.as_deref(), Some(epoch.as_str()));
                            proptest::prop_assert_eq!(seq, before.last_seq + 1);
                        }
                        proptest::prop_assert_eq!(c.recent_seqs.len() <= RECENT_SEQS, true);
                    }
                    Received::Gap { ask } => {
                        proptest::prop_assert!(c.resync_pending);
                        proptest::prop_assert_eq!(ask, !before.resync_pending);
                        proptest::prop_assert_eq!(c.last_seq, before.last_seq);
                    }
                    Received::Invalid => {
                        proptest::prop_assert_eq!(c.parse_errors, before.parse_errors + 1);
                        proptest::prop_assert_eq!(&c.live, &before.live);
                    }
                    Received::Skipped | Received::Pong { .. } | Received::Closing(_) => {
                        proptest::prop_assert_eq!(&c.live, &before.live);
                        proptest::prop_assert_eq!(c.last_seq, before.last_seq);
                    }
                }
            }
        }
    }

    #[test]
    fn snapshot_then_events_in_order_duplicates_skipped() {
        let mut c = ClientState::default();
        assert_eq!(
            c.hello(),
            ClientFrame::Hello {
                last_seq: None,
                epoch: None
            }
        );
        assert_eq!(
            c.receive(&event("e", 1, "a")),
            Received::Gap { ask: true },
            "no snapshot yet"
        );
        assert_eq!(
            c.receive(&event("e", 2, "a")),
            Received::Gap { ask: false },
            "one resync at a time"
        );
        assert_eq!(c.receive(&snapshot("e", 5)), Received::Applied);
        assert_eq!(
            c.receive(&event("e", 5, "a")),
            Received::Skipped,
            "covered by the snapshot"
        );
        assert_eq!(c.receive(&event("e", 6, "a")), Received::Applied);
        assert_eq!(c.receive(&event("e", 6, "a")), Received::Skipped);
        assert_eq!(c.receive(&event("e", 8, "a")), Received::Gap { ask: true });
        assert_eq!(
            c.hello(),
            ClientFrame::Hello {
                last_seq: Some(6),
                epoch: Some("e".into())
            }
        );
        assert_eq!(c.recent_seqs.iter().copied().collect::<Vec<_>>(), vec![6]);
    }

    #[test]
    fn a_snapshot_replaces_state_and_seed_never_overrides_live() {
        let mut c = ClientState::default();
        let mut seeded = LiveState::default();
        seeded.sessions.insert(
            "old".into(),
            serde_json::from_value(
                serde_json::json!({"id":"old","status":"running","provider":"vastai",
                "gpu_type":"RTX 4090","gpu_count":1,"price_per_hour":0.3,
                "created_at":"2026-01-01T00:00:00Z","consumer_id":"gpu-deploy-llm/v0.1.0"}),
            )
            .unwrap(),
        );
        c.seed(seeded.clone());
        assert_eq!(c.live.sessions.len(), 1);
        c.receive(&snapshot("e", 1));
        assert!(
            c.live.sessions.is_empty(),
            "the snapshot replaces, never merges"
        );
        c.seed(seeded);
        assert!(
            c.live.sessions.is_empty(),
            "a late seed does not override live state"
        );
    }

    #[test]
    fn unparseable_and_unknown_frames_are_counted_with_the_error() {
        let mut c = ClientState::default();
        assert_eq!(c.receive("{not json"), Received::Invalid);
        assert_eq!(c.receive(r#"{"type":"mystery"}"#), Received::Invalid);
        assert_eq!(c.parse_errors, 2);
        let last = c.last_parse_error.unwrap();
        assert!(last.contains("mystery"), "{last}");
    }
}
