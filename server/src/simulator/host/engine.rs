//! The engine starting on the simulated host: its API key (`VLLM_API_KEY`) and Hub token
//! (`HF_TOKEN`) come from its environment and are noted as secrets the host was handed; a
//! model the fake Hub refuses with that token makes it die at once with the Hub's 401, as
//! vLLM does when it cannot read the model's config.

use super::SimHost;
use crate::simulator::shell::arg_after;
use crate::simulator::vllm::{Kind, Vllm};
use std::collections::HashMap;

impl SimHost {
    /// vLLM started as `kind` with `args` and the environment `env`.
    pub(super) fn engine(&self, kind: Kind, args: &[String], env: &HashMap<&str, &str>) -> Vllm {
        let key = env.get("VLLM_API_KEY").copied().unwrap_or_default();
        let token = env.get("HF_TOKEN").copied().filter(|t| !t.is_empty());
        self.handed(key);
        if let Some(token) = token {
            self.handed(token);
        }
        let mut vllm = Vllm::launch(kind, args, key.to_owned(), &self.gpus, self.speed);
        let repo = arg_after(args, "--model").unwrap_or_default();
        if let Some(error) = self.hub.download_refusal(repo, token) {
            vllm.refused_by_hub(error);
        }
        vllm
    }
}
