//! The test form's engine part: which engine, which of its versions, and the engine
//! settings (folded away: every empty field means the engine's default). Field names are
//! `TestConfig`'s (`config[engine]`, `config[settings][max_model_len]`...), so the form
//! posts what `POST /api/runs` takes.

use gdl_model::engines::{self, Dtype, Engine, EngineVersion, KvCacheDtype, MAX_EXTRA_FLAGS};
use leptos::prelude::*;

/// `0.31.0 (default, CUDA 13.0+)`: how the version select names a version.
pub fn version_label(v: &EngineVersion) -> String {
    let default = if v.default { "default, " } else { "" };
    format!("{} ({default}CUDA {:.1}+)", v.version, v.min_cuda)
}

/// Engine and version selects, and the folded engine settings.
#[component]
pub fn EngineFields() -> impl IntoView {
    // Hydrated, the version select offers only the chosen engine's versions; without
    // JavaScript it offers all, grouped, and a version of the other engine is refused
    // with the catalogue's versions named.
    let engine = RwSignal::new(Engine::default());
    let version = RwSignal::new(String::new());
    let groups = Engine::ALL
        .into_iter()
        .map(|e| {
            let options = engines::catalogue()
                .iter()
                .filter(|v| v.engine == e)
                .map(|v| {
                    view! {
                        <option value=v.version prop:selected=move || version.get() == v.version>
                            {version_label(v)}
                        </option>
                    }
                })
                .collect_view();
            view! {
                <optgroup label=e.label() prop:disabled=move || engine.get() != e>{options}</optgroup>
            }
        })
        .collect_view();
    view! {
        <label>
            "Engine"
            <select name="config[engine]" data-testid="engine"
                on:change=move |ev| {
                    if let Some(e) = Engine::parse(&event_target_value(&ev)) {
                        engine.set(e);
                        version.set(String::new());
                    }
                }>
                {Engine::ALL
                    .into_iter()
                    .map(|e| view! { <option value=e.as_str() selected=e == Engine::default()>{e.label()}</option> })
                    .collect_view()}
            </select>
        </label>
        <label title="GET /api/engines and `gpu-deploy-llm engines` list what each version needs">
            "Engine version"
            <select name="config[engine_version]" data-testid="engine-version"
                on:change=move |ev| version.set(event_target_value(&ev))>
                <option value="" prop:selected=move || version.get().is_empty()>"default"</option>
                {groups}
            </select>
        </label>
        <details class="engine-settings">
            <summary>"Engine settings"</summary>
            <p class="muted small">"Empty fields keep the engine's default."</p>
            <div class="fields">
                <label title="vLLM --max-model-len, SGLang --context-length: 256 to 1,048,576 tokens">
                    "Context length (tokens)"
                    <input type="number" name="config[settings][max_model_len]" min="256" max="1048576"
                        step="1" placeholder="the model's" inputmode="numeric"/>
                </label>
                <label title="vLLM --max-num-seqs, SGLang --max-running-requests: 1 to 4,096">
                    "Max sequences"
                    <input type="number" name="config[settings][max_num_seqs]" min="1" max="4096"
                        step="1" placeholder="the engine's" inputmode="numeric"/>
                </label>
                <label title="Share of each GPU's memory the engine takes, 0.10 to 0.99">
                    "GPU memory share"
                    <input type="number" name="config[settings][gpu_memory_utilization]" min="0.10"
                        max="0.99" step="0.01" placeholder="0.90"/>
                </label>
                <label title="Copies of the model side by side, dividing the GPU count (vLLM --data-parallel-size, SGLang --dp-size); each is split over its share of the GPUs">
                    "Copies (data parallel)"
                    <input type="number" name="config[settings][data_parallel_size]" min="1" max="8"
                        step="1" placeholder="1" inputmode="numeric"/>
                </label>
                <label>
                    "Dtype"
                    <select name="config[settings][dtype]">
                        {Dtype::ALL
                            .into_iter()
                            .map(|d| view! { <option value=d.as_str()>{d.as_str()}</option> })
                            .collect_view()}
                    </select>
                </label>
                <label>
                    "KV-cache dtype"
                    <select name="config[settings][kv_cache_dtype]">
                        {KvCacheDtype::ALL
                            .into_iter()
                            .map(|d| view! { <option value=d.as_str()>{d.as_str()}</option> })
                            .collect_view()}
                    </select>
                </label>
                <label>
                    "Prefix caching"
                    <select name="config[settings][prefix_caching]">
                        <option value="">"default (on)"</option>
                        <option value="true">"on"</option>
                        <option value="false">"off"</option>
                    </select>
                </label>
                <label class="check">
                    <input type="checkbox" name="config[settings][enforce_eager]" value="true"/>
                    "Enforce eager (no CUDA graphs: less memory, slower decoding)"
                </label>
                <label class="check">
                    <input type="checkbox" name="config[settings][trust_remote_code]" value="true"/>
                    "Trust remote code"
                </label>
                <p class="warn small wide">
                    "Trust remote code runs the model repository's own Python code on the rented host, with the engine's rights: only for repositories you trust."
                </p>
                <label class="wide" title=format!("At most {MAX_EXTRA_FLAGS}, from the engine's known flags (GET /api/engines lists them)")>
                    "Extra flags (one a line: --name or --name=value)"
                    <textarea name="config[settings][extra_flags]" rows="2" spellcheck="false"
                        autocomplete="off" placeholder="--seed=7"></textarea>
                </label>
            </div>
        </details>
    }
}
