//! The deployments' figures as the gateway sees them, one series per deployment this
//! process watches (labelled `deployment`): requests, errors, tokens in and out, spend,
//! time to first token and per output token (p50 and p95 over the recent requests), and
//! whether it serves now. A deployment that has ended is no longer watched: its series end.

use super::{flag, Text};
use gdl_model::deployments::{Deployment, DeploymentStatus};

/// A counter family: name, help, and its value for a deployment.
type Counter = (&'static str, &'static str, fn(&Deployment) -> f64);
/// A summary family: name, help, and a deployment's p50 and p95.
type Summary = (
    &'static str,
    &'static str,
    fn(&Deployment) -> [Option<f64>; 2],
);

/// The figures of `deployments`, sorted by id so a scrape reads the same order each time.
pub fn render(deployments: &mut [Deployment]) -> String {
    deployments.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    let mut t = Text::default();
    t.family(
        "gdl_deployment_serving",
        "gauge",
        "1 while the deployment serves through the gateway, 0 while it starts, recovers or stops.",
    );
    for d in deployments.iter() {
        let serving = flag(d.status == DeploymentStatus::Serving);
        let labels = [("deployment", d.id.as_str()), ("model", d.model.as_str())];
        t.sample("gdl_deployment_serving", &labels, serving);
    }
    let counters: [Counter; 5] = [
        (
            "gdl_deployment_requests_total",
            "Requests forwarded to the deployment's engine.",
            |d| d.meter.requests as f64,
        ),
        (
            "gdl_deployment_errors_total",
            "Forwarded requests that failed: the engine's 5xx, a broken stream, a timeout.",
            |d| d.meter.errors as f64,
        ),
        (
            "gdl_deployment_input_tokens_total",
            "Prompt tokens the engine reported.",
            |d| d.meter.input_tokens as f64,
        ),
        (
            "gdl_deployment_output_tokens_total",
            "Completion tokens the engine reported.",
            |d| d.meter.output_tokens as f64,
        ),
        (
            "gdl_deployment_spend_usd_total",
            "What the deployment's rental has cost so far, USD.",
            |d| d.spend_usd,
        ),
    ];
    for (name, help, value) in counters {
        t.family(name, "counter", help);
        for d in deployments.iter() {
            t.sample(name, &[("deployment", d.id.as_str())], value(d));
        }
    }
    let summaries: [Summary; 2] = [
        (
            "gdl_deployment_ttft_milliseconds",
            "Time to first token through the gateway, streamed requests (recent ones).",
            |d| [d.meter.ttft_p50_ms, d.meter.ttft_p95_ms],
        ),
        (
            "gdl_deployment_tpot_milliseconds",
            "Time per output token after the first, streamed requests (recent ones).",
            |d| [d.meter.tpot_p50_ms, d.meter.tpot_p95_ms],
        ),
    ];
    for (name, help, values) in summaries {
        t.family(name, "summary", help);
        for d in deployments.iter() {
            for (q, v) in ["0.5", "0.95"].into_iter().zip(values(d)) {
                if let Some(v) = v {
                    let labels = [("deployment", d.id.as_str()), ("quantile", q)];
                    t.sample(name, &labels, v);
                }
            }
        }
    }
    t.out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use gdl_model::deployments::Guards;

    #[test]
    fn each_deployment_has_its_series_and_serving_says_which_serve() {
        let deployment = |id: &str, status| {
            let mut d = Deployment::new(
                id.into(),
                "run-1".into(),
                "qwen2.5-0.5b".into(),
                "vLLM".into(),
                Guards::default(),
                Utc::now(),
            );
            d.status = status;
            d
        };
        let mut serving = deployment("dep-b", DeploymentStatus::Serving);
        serving.meter.requests = 3;
        serving.meter.output_tokens = 40;
        serving.meter.ttft_p50_ms = Some(12.5);
        serving.meter.ttft_p95_ms = Some(30.0);
        serving.spend_usd = 0.25;
        let mut list = [serving, deployment("dep-a", DeploymentStatus::Starting)];
        let text = render(&mut list);
        for line in [
            "gdl_deployment_serving{deployment=\"dep-b\",model=\"qwen2.5-0.5b\"} 1",
            "gdl_deployment_serving{deployment=\"dep-a\",model=\"qwen2.5-0.5b\"} 0",
            "gdl_deployment_requests_total{deployment=\"dep-b\"} 3",
            "gdl_deployment_output_tokens_total{deployment=\"dep-b\"} 40",
            "gdl_deployment_spend_usd_total{deployment=\"dep-b\"} 0.25",
            "gdl_deployment_ttft_milliseconds{deployment=\"dep-b\",quantile=\"0.95\"} 30",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
        assert!(
            !text.contains("gdl_deployment_tpot_milliseconds{"),
            "no quantile before a streamed request: {text}"
        );
        assert!(text.find("dep-a").unwrap() < text.find("dep-b").unwrap());
        assert_eq!(
            text.matches("# TYPE gdl_deployment_requests_total").count(),
            1
        );
    }
}
