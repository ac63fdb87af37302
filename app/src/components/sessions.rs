use crate::format;
use gdl_model::api::SessionView;
use leptos::prelude::*;

/// Our sessions: id, status, provider, GPU × count, $/h, created, time to running, error.
#[component]
pub fn SessionTable(sessions: Vec<SessionView>) -> impl IntoView {
    if sessions.is_empty() {
        return view! {
            <section class="card">
                <p class="empty">"No sessions yet. A deployment test rents one and lists it here."</p>
            </section>
        }
        .into_any();
    }
    let rows = sessions
        .into_iter()
        .map(|s| {
            let status_class = format!("badge status-{}", s.status.as_str());
            let row_class = if s.ended_badly() { "ended-badly" } else { "" };
            view! {
                <tr class=row_class data-session=s.id.clone()>
                    <td>
                        <code title=s.id.clone()>{format::short_id(&s.id).to_owned()}</code>
                    </td>
                    <td>
                        <span class=status_class>{s.status.as_str()}</span>
                    </td>
                    <td>{format::provider_name(&s.provider).to_owned()}</td>
                    <td>{format::gpu(&s.gpu_type, s.gpu_count)}</td>
                    <td class="num">{format::per_hour(s.price_per_hour)}</td>
                    <td>{format::timestamp(&s.created_at)}</td>
                    <td class="num">
                        {s.time_to_running_secs.map(format::duration).unwrap_or_else(|| "—".into())}
                    </td>
                    <td class="error-text">{s.error.unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card table-wrap">
            <table class="sessions">
                <thead>
                    <tr>
                        <th>"Session"</th>
                        <th>"Status"</th>
                        <th>"Provider"</th>
                        <th>"GPU"</th>
                        <th class="num">"Price"</th>
                        <th>"Created"</th>
                        <th class="num">"To running"</th>
                        <th>"Error"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
    .into_any()
}
