//! `/embed/run` without a run id: what the panels are and how to get one's
//! address, instead of a bare "not found".

use super::embed::EmbedFrame;
use super::share::snippet::Panel;
use leptos::prelude::*;

/// The panels, each with its address and what it shows, and where the Share tab builds
/// their snippets. Inside a panel's frame, since it may be what an iframe shows.
#[component]
pub fn EmbedHelpPage() -> impl IntoView {
    let rows = Panel::ALL
        .into_iter()
        .map(|p| {
            view! {
                <tr data-panel-help=p.key()>
                    <td><code>{p.pattern()}</code></td>
                    <td>{p.name()}": "{p.shows()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <EmbedFrame full="/share">
            <section class="card table-wrap" data-embed-help="">
                <h2>"Which panel?"</h2>
                <p>
                    "This address names no panel to show. A run's panel needs the run's id, as in "
                    <code>"/embed/run/run-1a2b3c4d"</code>
                    ": find it on the "<a href="/runs" target="_top">"Runs"</a>
                    " tab (it ends the run's address)."
                </p>
                <p>
                    "The dashboard's "<a href="/share" target="_top">"Share"</a>
                    " tab builds the whole iframe snippet for any panel, with the read-only token it needs: choose the panel, fill in what it asks, and copy."
                </p>
                <table>
                    <thead>
                        <tr><th>"Address"</th><th>"Shows"</th></tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
                <p class="muted small">
                    "Every panel also takes "<code>"?theme=light"</code>" or "<code>"dark"</code>
                    ", and "<code>"?compact=1"</code>"."
                </p>
            </section>
        </EmbedFrame>
    }
}
