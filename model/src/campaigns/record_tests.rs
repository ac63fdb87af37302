//! A campaign's record as pages and the CLI read it: the live state's bound, statuses in
//! words, how it ended, the break-even sentence, and bundles.

use super::tests::{offer, request};
use super::verdict::{break_even, default_serverless_price};
use super::*;
use chrono::{TimeZone, Utc};

fn ended_campaign(id: &str, minute: u32, status: record::CampaignStatus) -> record::Campaign {
    record::Campaign {
        id: id.into(),
        request: request(serde_json::json!({"model": "qwen2.5-7b", "budget_usd": 2})),
        status,
        created_at: Utc.with_ymd_and_hms(2026, 12, 1, 0, minute, 0).unwrap(),
        ended_at: None,
        candidates: Vec::new(),
        spend_usd: 0.0,
        projected_usd: 0.0,
        answer: None,
        message: None,
    }
}

#[test]
fn the_live_state_keeps_running_campaigns_and_the_newest_ended_ones() {
    use crate::live::{LiveEvent, LiveState, FINISHED_CAMPAIGNS_KEPT};
    use record::CampaignStatus::{Finished, Running};
    let mut state = LiveState::default();
    let running = ended_campaign("camp-running", 0, Running);
    state.apply(&LiveEvent::CampaignUpsert { campaign: running });
    for i in 1..=(FINISHED_CAMPAIGNS_KEPT as u32 + 3) {
        let campaign = ended_campaign(&format!("camp-{i:02}"), i, Finished);
        state.apply(&LiveEvent::CampaignUpsert { campaign });
    }
    assert_eq!(state.campaigns.len(), FINISHED_CAMPAIGNS_KEPT + 1);
    assert!(
        state.campaigns.contains_key("camp-running"),
        "never dropped"
    );
    assert!(
        !state.campaigns.contains_key("camp-01"),
        "the oldest ended went"
    );
    assert!(state.campaigns.contains_key("camp-08"));
}

#[test]
fn statuses_say_their_wire_spelling() {
    use record::CandidateStatus as S;
    for s in [
        S::Waiting,
        S::Running,
        S::Measured,
        S::SloNotMet,
        S::CutShort,
        S::Failed,
        S::NotMeasured,
    ] {
        assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        assert!(!s.label().contains('_'));
    }
}

#[test]
fn a_bundle_is_refused_plainly_when_it_is_not_one() {
    use bundle::Bundle;
    assert!(Bundle::read("{").unwrap_err().starts_with("not JSON"));
    let other = Bundle::read(r#"{"kind": "something else", "version": 1}"#).unwrap_err();
    assert!(other.contains("not a campaign bundle"), "{other}");
    let request = Bundle::read(r#"{"model": "qwen2.5-7b", "budget_usd": 1.5}"#).unwrap();
    assert_eq!(request.request.budget_usd, 1.5);
    let bad = Bundle::read(r#"{"model": "qwen2.5-7b", "budget": 1.5}"#).unwrap_err();
    assert!(
        bad.contains("neither a bundle nor a campaign request"),
        "{bad}"
    );
    let mut c = ended_campaign("camp-x", 0, record::CampaignStatus::Finished);
    c.request.model = "Qwen/Qwen2.5 7B's".into();
    let flags = Bundle::of(&c).flags;
    assert!(
        flags.starts_with(r"gpu-deploy-llm campaign 'Qwen/Qwen2.5 7B'\''s' --budget"),
        "{flags}"
    );
}

#[test]
fn the_outcome_names_what_failed_and_what_was_not_measured() {
    use record::{Answer, CampaignStatus, CandidateState, CandidateStatus};
    let offers = [
        offer("a", "vastai", "RTX 4090", 1, 24, 0.40),
        offer("b", "vastai", "L40S", 1, 48, 0.90),
        offer("c", "tensordock", "RTX 4090", 1, 24, 0.35),
    ];
    let r = request(serde_json::json!({"model": "m", "budget_usd": 5}));
    let list = candidates(&r, 7.62, &offers, |_, _| true, &[]);
    let mut c = ended_campaign("camp-o", 0, CampaignStatus::Finished);
    c.candidates = list.into_iter().map(CandidateState::waiting).collect();
    c.candidates[0].status = CandidateStatus::Measured;
    c.candidates[1].status = CandidateStatus::Failed;
    c.candidates[2].status = CandidateStatus::NotMeasured;
    c.answer = Some(Answer::default());
    let (failed, not) = (
        c.candidates[1].candidate.key.to_string(),
        c.candidates[2].candidate.key.to_string(),
    );
    assert_eq!(
        c.outcome(),
        format!("Not measured: {not}. Failed: {failed}.")
    );
    c.candidates[1].status = CandidateStatus::SloNotMet;
    c.candidates[2].status = CandidateStatus::CutShort;
    assert_eq!(c.outcome(), "Every candidate was measured.");
    c.answer = None;
    assert!(c.outcome().starts_with("No candidate met the SLOs"));
}

#[test]
fn the_break_even_reads_with_grouped_numbers() {
    let api = default_serverless_price(7.0);
    let answer = record::Answer {
        break_even: Some(break_even(0.5, 100.0, 512, 128, &api)),
        serverless: Some(api.clone()),
        ..Default::default()
    };
    let never = answer.break_even_sentence().unwrap();
    assert!(
        never.starts_with(&format!("Against {}: one GPU never breaks even", api.label)),
        "{never}"
    );
    assert!(never.contains("it serves 67,500 at the SLOs"), "{never}");
    let busy = record::Answer {
        break_even: Some(break_even(0.5, 2000.0, 512, 128, &api)),
        ..answer
    };
    let sentence = busy.break_even_sentence().unwrap();
    assert!(
        sentence.contains(": renting the cheapest costs less above "),
        "{sentence}"
    );
    assert!(
        sentence.contains("one GPU serves up to 1,350,000 a day"),
        "{sentence}"
    );
}
