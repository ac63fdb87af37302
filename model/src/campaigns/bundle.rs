//! A campaign's bundle: everything needed to run it again and to judge its answer later
//! (what was asked, including the workload's seed, the engine and its settings, and the
//! SLOs; each candidate with the offer and price it was planned at), with the command that
//! runs it again (`gpu-deploy-llm campaign --from FILE`).

use super::record::Campaign;
use super::{CampaignRequest, CandidateKey};
use crate::ids::{CampaignId, OfferId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a bundle says it is, so a file of another kind is refused plainly.
pub const BUNDLE_KIND: &str = "gpu-deploy-llm campaign bundle";

/// A campaign's bundle (`GET /api/campaigns/{id}/bundle`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Bundle {
    /// Always [`BUNDLE_KIND`].
    pub kind: String,
    /// The bundle's format, 1.
    pub version: u32,
    /// The campaign it was made from.
    pub campaign: CampaignId,
    /// When that campaign started.
    pub created_at: DateTime<Utc>,
    /// What it asked, exactly (the candidates left out included).
    pub request: CampaignRequest,
    /// Each candidate as planned: the offer and its price at the time.
    pub candidates: Vec<BundleCandidate>,
    /// The command that runs it again, with this bundle saved as `{campaign}.json`.
    pub command: String,
    /// The same request as command-line flags (without the candidates left out and the
    /// engine settings, which only the bundle carries).
    pub flags: String,
}

/// A candidate as a bundle keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BundleCandidate {
    /// Which candidate.
    pub key: CandidateKey,
    /// The offer it was planned on.
    pub offer: OfferId,
    /// That offer's price when planned, USD per hour.
    pub price_per_hour: f64,
}

impl Bundle {
    /// The bundle of `c`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gdl_model::campaigns::bundle::Bundle;
    /// use gdl_model::campaigns::record::{Campaign, CampaignStatus};
    ///
    /// let request = serde_json::from_str(r#"{"model": "qwen2.5-7b", "budget_usd": 2}"#)?;
    /// let c = Campaign {
    ///     id: "camp-1".into(), request, status: CampaignStatus::Finished,
    ///     created_at: chrono::Utc::now(), ended_at: None, candidates: vec![],
    ///     spend_usd: 0.0, projected_usd: 0.0, answer: None, message: None,
    /// };
    /// let b = Bundle::of(&c);
    /// assert_eq!(b.command, "gpu-deploy-llm campaign --from camp-1.json");
    /// assert!(b.flags.starts_with("gpu-deploy-llm campaign qwen2.5-7b --budget 2 "));
    /// // Read back, as `campaign --from` does.
    /// let text = serde_json::to_string(&b)?;
    /// assert_eq!(Bundle::read(&text).unwrap().request, c.request);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn of(c: &Campaign) -> Self {
        Self {
            kind: BUNDLE_KIND.to_owned(),
            version: 1,
            campaign: c.id.clone(),
            created_at: c.created_at,
            request: c.request.clone(),
            candidates: c
                .candidates
                .iter()
                .map(|s| BundleCandidate {
                    key: s.candidate.key.clone(),
                    offer: s.candidate.offer.clone(),
                    price_per_hour: s.candidate.price_per_hour,
                })
                .collect(),
            command: format!("gpu-deploy-llm campaign --from {}.json", c.id),
            flags: flags(&c.request),
        }
    }

    /// A bundle read from `text`, or a bare campaign request; a sentence saying what is
    /// wrong otherwise.
    pub fn read(text: &str) -> Result<Self, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        if value.get("kind").is_none() {
            let request: CampaignRequest = serde_json::from_value(value)
                .map_err(|e| format!("neither a bundle nor a campaign request: {e}"))?;
            return Ok(Self {
                kind: BUNDLE_KIND.to_owned(),
                version: 1,
                campaign: CampaignId::from(String::new()),
                created_at: Utc::now(),
                flags: flags(&request),
                command: String::new(),
                candidates: Vec::new(),
                request,
            });
        }
        let bundle: Self =
            serde_json::from_value(value).map_err(|e| format!("not a campaign bundle: {e}"))?;
        if bundle.kind != BUNDLE_KIND || bundle.version != 1 {
            return Err(format!(
                "a {:?} of version {}, not a {BUNDLE_KIND} of version 1",
                bundle.kind, bundle.version
            ));
        }
        Ok(bundle)
    }
}

/// `request` as `gpu-deploy-llm campaign` flags.
fn flags(r: &CampaignRequest) -> String {
    let mut out = format!(
        "gpu-deploy-llm campaign {} --budget {} --time-minutes {} --parallel {} --input-tokens {} --output-tokens {} --ttft-ms {} --tpot-ms {}",
        quoted(&r.model),
        r.budget_usd,
        r.time_budget_minutes,
        r.parallel,
        r.workload.input_tokens,
        r.workload.output_tokens,
        r.slo.ttft_p95_ms,
        r.slo.tpot_p95_ms
    );
    for q in &r.quantizations {
        out.push_str(&format!(" --quantization {}", quoted(q)));
    }
    for p in &r.providers {
        out.push_str(&format!(" --provider {}", p.as_str()));
    }
    for g in &r.gpus {
        out.push_str(&format!(" --gpu {}", quoted(g)));
    }
    if let Some(t) = &r.workload.trace {
        out.push_str(&format!(" --trace {}", quoted(t)));
    }
    if r.workload.seed != 0 {
        out.push_str(&format!(" --seed {}", r.workload.seed));
    }
    if let Some(p) = r.max_price {
        out.push_str(&format!(" --max-price {p}"));
    }
    if let Some(t) = &r.tune {
        out.push_str(&format!(
            " --tune-usd {} --tune-seconds {}",
            t.usd_budget, t.seconds
        ));
    }
    out
}

/// `text` as one shell word.
pub(crate) fn quoted(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@+".contains(c))
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}
