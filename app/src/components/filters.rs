use gdl_model::shopper::Provider;
use leptos::prelude::*;

/// The options of a filter form's provider select: any, every known provider, then
/// `extra` (value, label) pairs; `chosen` is selected.
pub fn provider_options(
    chosen: Option<&Provider>,
    extra: &'static [(&'static str, &'static str)],
) -> impl IntoView {
    let chosen = chosen.map(Provider::as_str).unwrap_or_default();
    std::iter::once(("", "any"))
        .chain(Provider::KNOWN.iter().map(|p| (p.as_str(), p.label())))
        .chain(extra.iter().copied())
        .map(|(value, label)| {
            view! { <option value=value.to_owned() selected=chosen == value>{label.to_owned()}</option> }
        })
        .collect_view()
}
