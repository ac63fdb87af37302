//! Calibration: the server counts two prompts of known word counts, so prompts are built to
//! the lengths asked in the model's tokens (`gdl_model::benchmark::input`).

use super::Engine;
use crate::runner::loadgen::stream_request;
use gdl_model::benchmark::input::{Calibration, InputLengths};
use gdl_model::benchmark::PhaseMetrics;
use std::time::Instant;

/// Word counts of the two prompts the server is asked to count.
const PROBES: (u32, u32) = (64, 320);

impl Engine {
    /// Asks the server to count two prompts shaped as the workload's and fits the workload
    /// to its tokens. `None` (and prompts of one word per token) when the workload is a
    /// prompt file or the server reports no counts.
    pub async fn calibrate(&mut self) -> Option<Calibration> {
        self.workload.fit_mut()?;
        let origin = Instant::now();
        let mut counted = Vec::new();
        for words in [PROBES.0, PROBES.1] {
            let request = self.workload.probe(words);
            let (sample, _) = stream_request(&self.http, &self.target, &request, origin).await;
            let tokens = if sample.ok() && sample.usage_reported {
                sample.prompt_tokens
            } else {
                0
            };
            counted.push((words, tokens));
        }
        let fit = Calibration::from_counts(counted[0], counted[1]);
        if let Some(slot) = self.workload.fit_mut() {
            *slot = fit;
        }
        fit
    }

    /// What the measured `phases` say of the prompt lengths, beside what their requests
    /// asked.
    pub fn input_lengths(&self, phases: &[PhaseMetrics]) -> InputLengths {
        // Each phase sent n requests from the start of a pass through the workload.
        let sent: Vec<(f64, f64)> = phases
            .iter()
            .filter_map(|p| {
                let n = p.completed + p.failed;
                Some((self.workload.asked_over(n)?, n as f64))
            })
            .collect();
        let requests: f64 = sent.iter().map(|(_, n)| n).sum();
        let asked = (requests > 0.0)
            .then(|| sent.iter().map(|(a, n)| a * n).sum::<f64>() / requests)
            .or_else(|| self.workload.asked_input());
        InputLengths {
            asked,
            measured: gdl_model::benchmark::input::measured(phases),
            calibration: self.workload.fit(),
        }
    }
}

/// The log line after calibrating.
pub fn described(fit: Option<Calibration>, asked: Option<f64>) -> String {
    match (fit, asked) {
        (Some(c), Some(a)) => format!(
            "Input lengths: the server counts {:.2} tokens a word and {:.0} tokens of template; a prompt of {a:.0} tokens is built of {} words",
            c.per_word,
            c.overhead,
            c.words_for(a.round() as u32)
        ),
        (None, Some(_)) => "Input lengths: the server reported no token counts, so prompts hold one word per token asked (their true length in tokens is unknown)".to_owned(),
        _ => "Input lengths: a prompt file's prompts are sent as written".to_owned(),
    }
}
