//! `gpu-deploy-llm engines`: the engine catalogue, as a table or JSON (the same as
//! `GET /api/engines`).

use super::output::{print, table};
use crate::config::EnginesArgs;
use gdl_model::engines::listing;

/// Prints every supported engine version with what it needs; exit code 0.
pub fn engines(a: EnginesArgs) -> i32 {
    let list = listing();
    print(a.json, &list, || {
        table(
            &[
                "ENGINE",
                "VERSION",
                "DEFAULT",
                "CUDA",
                "GPU ARCHITECTURES",
                "IMAGE",
            ],
            list.iter()
                .map(|v| {
                    vec![
                        v.engine.as_str().to_owned(),
                        v.version.clone(),
                        if v.default { "yes" } else { "" }.to_owned(),
                        format!("{:.1}+", v.min_cuda),
                        v.archs.join(" "),
                        v.image.clone(),
                    ]
                })
                .collect(),
        )
    });
    0
}
