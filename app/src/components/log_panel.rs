use crate::live::use_live;
use gdl_model::runs::LogLine;
use leptos::prelude::*;

/// Lines rendered at most; older ones stay in the database (GET /api/runs/{id}).
const SHOWN: usize = 400;

/// The current run's log (or run `run`'s), live. Only the last lines are rendered (keyed
/// by number, so each new line is one DOM insert) and it follows the end unless the person
/// scrolls up.
#[component]
pub fn LogPanel(
    /// The run whose log to show; the current run when not given.
    #[prop(optional, into)]
    run: Option<gdl_model::ids::RunId>,
) -> AnyView {
    let store = use_live();
    let run = StoredValue::new(run);
    let lines = move || {
        store.client.with(|c| {
            let Some(id) = run
                .get_value()
                .or_else(|| c.live.current_run().map(|r| r.id.clone()))
            else {
                return Vec::new();
            };
            let all = c.live.logs.get(&id).map(Vec::as_slice).unwrap_or_default();
            all[all.len().saturating_sub(SHOWN)..].to_vec()
        })
    };
    let panel = NodeRef::<leptos::html::Div>::new();
    let follow = RwSignal::new(true);
    // Browser only: keep the newest line in view while following.
    Effect::new(move |_| {
        let _ = lines().len();
        if follow.get_untracked() {
            if let Some(el) = panel.get() {
                el.set_scroll_top(el.scroll_height());
            }
        }
    });
    view! {
        <section class="card logs">
            <h2>"Live log"</h2>
            {move || lines().is_empty().then(|| view! {
                <p class="log-empty muted">
                    "The log of a test will appear here as it runs: each step, the commands on the \
                     host, the engine's output and the benchmark's levels."
                </p>
            })}
            <div
                class="log"
                node_ref=panel
                on:scroll=move |_| {
                    if let Some(el) = panel.get() {
                        follow.set(el.scroll_height() - el.scroll_top() - el.client_height() < 40);
                    }
                }
            >
                <For each=lines key=|l: &LogLine| (l.run_id.clone(), l.n) let:line>
                    <div class=format!("line {}", line.level.as_str())>
                        <time>{line.at.format("%H:%M:%S").to_string()}</time>
                        " "
                        {line.message}
                    </div>
                </For>
            </div>
        </section>
    }
    .into_any()
}
