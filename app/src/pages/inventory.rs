use crate::components::ErrorNote;
use crate::format;
use crate::functions::get_inventory;
use gdl_model::api::{InventoryFilters, InventoryView};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// Every offer from every provider, filtered and sorted as the URL says (`/inventory?
/// provider=vastai&max_price=0.5&sort=vram`): a link reproduces the view, and the form
/// works before (or without) hydration.
#[component]
pub fn InventoryPage() -> impl IntoView {
    let query = use_query_map();
    let filters = move || {
        query.with(|q| InventoryFilters::from_pairs(q.into_iter().map(|(k, v)| (k.as_ref(), v))))
    };
    let data = Resource::new(filters, get_inventory);
    view! {
        <div class="toolbar">
            <h1>"Inventory"</h1>
        </div>
        {move || view! { <FilterForm f=filters()/> }}
        <Transition fallback=|| view! { <p class="muted">"Asking the broker for offers…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Ok(view)) => {
                        let prices = gdl_model::prices::compare(&view.offers);
                        view! {
                            <PriceComparison prices/>
                            <OfferTable view/>
                        }
                        .into_any()
                    }
                    Ok(Err(e)) | Err(crate::error::AppError(e)) => view! { <ErrorNote error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The filters, as a plain GET form: submitting it loads `/inventory?...`.
#[component]
fn FilterForm(f: InventoryFilters) -> impl IntoView {
    let num = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    let provider = f.provider.clone().unwrap_or_default();
    let sort = f.sort.clone().unwrap_or_else(|| "price".into());
    let option = move |value: &'static str, label: &'static str, chosen: &str| {
        view! { <option value=value selected=chosen == value>{label}</option> }
    };
    view! {
        <form class="card filters" method="get" action="/inventory" data-filters="">
            <label>"Provider"
                <select name="provider">
                    {option("", "any", &provider)}
                    {option("vastai", "Vast.ai", &provider)}
                    {option("tensordock", "TensorDock", &provider)}
                    {option("bluelobster", "Blue Lobster", &provider)}
                </select>
            </label>
            <label>"Min VRAM (GB)"
                <input type="number" name="min_vram" min="0" step="1" value=f.min_vram.map(|v| v.to_string()).unwrap_or_default()/>
            </label>
            <label>"Max $/h"
                <input type="number" name="max_price" min="0" step="0.01" value=num(f.max_price)/>
            </label>
            <label>"GPU"
                <input type="text" name="gpu_type" placeholder="4090" value=f.gpu_type.clone().unwrap_or_default()/>
            </label>
            <label>"Location"
                <input type="text" name="location" placeholder="US" value=f.location.clone().unwrap_or_default()/>
            </label>
            <label>"Min reliability"
                <input type="number" name="min_reliability" min="0" max="1" step="0.01" value=num(f.min_reliability)/>
            </label>
            <label>"Sort by"
                <select name="sort">
                    {option("price", "price", &sort)}
                    {option("vram", "VRAM", &sort)}
                    {option("reliability", "reliability", &sort)}
                    {option("confidence", "availability", &sort)}
                </select>
            </label>
            <div class="actions">
                <button type="submit">"Apply"</button>
                <a href="/inventory">"Clear"</a>
            </div>
        </form>
    }
}

/// Each GPU type's cheapest and median $ per GPU-hour on each provider, among the offers
/// shown.
#[component]
fn PriceComparison(prices: Vec<gdl_model::prices::GpuPrices>) -> impl IntoView {
    let rows = prices
        .into_iter()
        .flat_map(|gpu| {
            let name = gpu.gpu_type.clone();
            gpu.providers.into_iter().enumerate().map(move |(i, p)| {
                view! {
                    <tr data-gpu-prices=name.clone() data-price-provider=p.provider.as_str().to_owned()>
                        <td>{(i == 0).then(|| name.clone())}</td>
                        <td>{p.provider.label().to_owned()}</td>
                        <td class="num">{p.offers}</td>
                        <td class="num">{format::per_hour(p.cheapest)}</td>
                        <td class="num">{format::per_hour(p.median)}</td>
                    </tr>
                }
            })
        })
        .collect_view();
    view! {
        <details class="card table-wrap prices" open>
            <summary>"Price by GPU across providers ($ per GPU-hour)"</summary>
            <table class="prices">
                <thead>
                    <tr>
                        <th>"GPU"</th>
                        <th>"Provider"</th>
                        <th class="num">"Offers"</th>
                        <th class="num">"Cheapest"</th>
                        <th class="num">"Median"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </details>
    }
}

#[component]
fn OfferTable(view: InventoryView) -> impl IntoView {
    let count = view.offers.len();
    let age = view.fetched_at.map(|t| {
        let secs = (chrono::Utc::now() - t).num_seconds().max(0) as f64;
        format!(" · the broker fetched them {} ago", format::duration(secs))
    });
    let rows = view
        .offers
        .into_iter()
        .map(|o| {
            view! {
                <tr data-offer=o.id.clone() data-provider=o.provider.as_str().to_owned() data-vram=o.vram_gb data-price=o.price_per_hour>
                    <td>{o.provider.label().to_owned()}</td>
                    <td>{format::gpu(&o.gpu_type, o.gpu_count)}</td>
                    <td class="num">{format!("{} GB", o.vram_gb)}</td>
                    <td class="num">{format::per_hour(o.price_per_hour)}</td>
                    <td>{o.location.clone()}</td>
                    <td class="num">{format!("{:.2}", o.reliability)}</td>
                    <td class="num">{format!("{:.2}", o.availability_confidence)}</td>
                    <td class="num">{if o.max_duration_hours == 0 { "—".to_owned() } else { format!("{} h", o.max_duration_hours) }}</td>
                    <td><code>{o.id.clone()}</code></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card table-wrap">
            <p class="muted small" data-count=count>{format!("{count} offers")}{age}</p>
            <table class="inventory">
                <thead>
                    <tr>
                        <th>"Provider"</th>
                        <th>"GPU"</th>
                        <th class="num">"VRAM"</th>
                        <th class="num">"Price"</th>
                        <th>"Location"</th>
                        <th class="num">"Reliability"</th>
                        <th class="num">"Availability"</th>
                        <th class="num">"Max"</th>
                        <th>"Offer"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
}
