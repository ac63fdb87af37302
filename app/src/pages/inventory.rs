use super::live_page::PageBanner;
use crate::components::{provider_options, version_label, ErrorNote, Loaded};
use crate::format;
use crate::functions::{get_inventory, StartRun};
use crate::url::{ask, query};
use gdl_model::engines::{self, Engine};
use gdl_model::inventory::{InventoryFilters, InventorySort, InventoryView, ModelFit};
use gdl_model::registry::{Quantization, PRESETS};
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

/// Every offer from every provider, filtered and sorted as the URL says (`/inventory?
/// provider=vastai&max_price=0.5&sort=vram`): a link reproduces the view, and the form
/// works before (or without) hydration.
#[component]
pub fn InventoryPage() -> impl IntoView {
    let filters = query::<InventoryFilters>();
    // Asked again once the dashboard has read the broker's offers for the first time (a
    // cold broker takes seconds; the first answer then says they are on their way).
    let store = crate::live::use_live();
    let offers_read = crate::live::changes(move || {
        store.client.with(|c| {
            c.live
                .status
                .as_ref()
                .is_some_and(|s| s.inventory_at.is_some())
        })
    });
    let data = Resource::new(
        move || (filters.get(), offers_read.get()),
        |(filters, _)| ask(filters, get_inventory),
    );
    // "Test on this offer": once the run starts, its progress is on the dashboard.
    let start = ServerAction::<StartRun>::new();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(Ok(_))) = start.value().get() {
            navigate("/", Default::default());
        }
    });
    view! {
        <div class="toolbar">
            <h1>"Inventory"</h1>
        </div>
        <PageBanner/>
        {move || view! { <FilterForm f=filters.get().unwrap_or_default()/> }}
        <Loaded reply=data fallback="Asking the broker for offers…" let:view>
            <Offers view start/>
        </Loaded>
    }
}

/// The offers found: the model's fit, the price comparison and the table.
#[component]
fn Offers(view: InventoryView, start: ServerAction<StartRun>) -> impl IntoView {
    let start_error = move || {
        start
            .value()
            .get()
            .and_then(|reply| crate::functions::outcome(reply).err())
            .map(|error| view! { <ErrorNote error/> })
    };
    let prices = view.prices.clone();
    let fitting = view.fit.as_ref().map(|f| f.fitting.len());
    let none = view.none.clone().map(|why| {
        view! {
            <section class="card">
                <p class="empty" data-none=why.filter.unwrap_or_default()>{why.message}</p>
            </section>
        }
    });
    view! {
        {view.fit.clone().map(|fit| view! { <FitSummary fit offers=view.offers.len()/> })}
        {start_error}
        {none}
        {(!prices.is_empty()).then(|| view! { <PriceComparison prices fitting/> })}
        <OfferTable view start/>
    }
}

/// The filters, as a plain GET form: submitting it loads `/inventory?...`.
#[component]
fn FilterForm(f: InventoryFilters) -> impl IntoView {
    let num = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    let provider = f.provider.clone();
    let chosen_sort = f.sort.unwrap_or_default();
    let sorts = InventorySort::ALL
        .into_iter()
        .map(|s| view! { <option value=s.as_str() selected=s == chosen_sort>{s.label()}</option> })
        .collect_view();
    view! {
        <form class="card filters" method="get" action="/inventory" data-filters="">
            <label>"Provider"
                <select name="provider">{provider_options(provider.as_ref(), &[])}</select>
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
            <fieldset class="fit">
                <legend>"Fits model"</legend>
                <label>"Model"
                    <input type="text" name="model" list="model-presets" placeholder="qwen2.5-7b or owner/name" value=f.model.clone().unwrap_or_default()/>
                </label>
                <datalist id="model-presets">
                    {PRESETS.iter().map(|p| view! { <option value=p.id>{p.name}</option> }).collect_view()}
                </datalist>
                <label>"Quantization"
                    <select name="quantization">
                        {Quantization::ALL
                            .iter()
                            .map(|q| {
                                let chosen = f.quantization.as_deref().and_then(Quantization::parse).unwrap_or(Quantization::None);
                                view! { <option value=q.as_str() selected=chosen == *q>{q.label()}</option> }
                            })
                            .collect_view()}
                    </select>
                </label>
                <label>"GPUs"
                    <input type="number" name="gpus" min="1" max="8" step="1" value=f.gpus.unwrap_or(1).to_string()/>
                </label>
                <label title="Its KV cache counts in the VRAM the model needs">"Context length"
                    <input type="number" name="max_model_len" min="256" max="1048576" step="1" placeholder="the model's"
                        value=f.max_model_len.map(|n| n.to_string()).unwrap_or_default()/>
                </label>
                <label title="Offers the engine version cannot run (driver, GPU architecture, quantization) do not fit">"Engine"
                    <select name="engine">
                        {Engine::ALL
                            .into_iter()
                            .map(|e| view! { <option value=e.as_str() selected=f.engine.unwrap_or_default() == e>{e.label()}</option> })
                            .collect_view()}
                    </select>
                </label>
                <label>"Engine version"
                    <select name="engine_version">
                        <option value="">"default"</option>
                        {Engine::ALL
                            .into_iter()
                            .map(|e| {
                                let chosen = f.engine_version.clone();
                                let options = engines::catalogue()
                                    .iter()
                                    .filter(|v| v.engine == e)
                                    .map(|v| view! {
                                        <option value=v.version selected=chosen.as_deref() == Some(v.version)>{version_label(v)}</option>
                                    })
                                    .collect_view();
                                view! { <optgroup label=e.label()>{options}</optgroup> }
                            })
                            .collect_view()}
                    </select>
                </label>
            </fieldset>
            <label>"Sort by"
                <select name="sort">{sorts}</select>
            </label>
            <div class="actions">
                <button type="submit">"Apply"</button>
                <a href="/inventory">"Clear"</a>
            </div>
        </form>
    }
}

/// Each GPU type's cheapest and median $ per GPU-hour on each provider, among the offers
/// shown (among those that fit the model, when one is named: `fitting` of them).
#[component]
fn PriceComparison(
    prices: Vec<gdl_model::prices::GpuPrices>,
    fitting: Option<usize>,
) -> impl IntoView {
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
            <summary>
                "Price by GPU across providers ($ per GPU-hour)"
                {fitting.map(|n| format!(", among the {} that fit the model", format::count(n, "offer", "offers")))}
            </summary>
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

/// The model's VRAM estimate, its breakdown, and how many of the listed offers fit it.
#[component]
fn FitSummary(fit: ModelFit, offers: usize) -> impl IntoView {
    let m = &fit.model;
    let split = (fit.gpus > 1).then(|| {
        format!(
            " Split across {} GPUs: {} GB on each (its share of the weights and KV cache, plus 1 GB of CUDA context).",
            fit.gpus, fit.vram_per_gpu
        )
    });
    let served = (m.served_repo != m.model).then(|| format!(" Serves {}.", m.served_repo));
    view! {
        <section class="card fit-summary" data-fit-vram=fit.vram_per_gpu data-fit-count=fit.fitting.len()>
            <p>
                <strong>{format!("{} ({})", m.name, m.quantization.label())}</strong>
                {format!(
                    " needs {} GB VRAM = {} GB weights ({} B parameters) + {} GB KV cache, activations and CUDA context.",
                    m.vram_gb, m.weights_gb, m.params_b, m.overhead_gb
                )}
                {split}
                {served}
            </p>
            <p class="muted small">
                {format!("{} of the {offers} offers listed fit it on {} (marked ✓); the others are marked too small, or why {} cannot run there, and left out of the price comparison.", fit.fitting.len(), fit.engine_label(), fit.engine_label())}
                {m.gated.then_some(" This model is gated on Hugging Face: the host needs an accepted licence and a token.")}
            </p>
            {fit.left_out_summary.clone().map(|summary| view! {
                <p class="small" data-testid="fit-left-out">
                    {format!("{summary} ({} cannot run them; a test would not rent them).", fit.engine_label())}
                </p>
            })}
        </section>
    }
}

/// Starts a deployment test pinned to one offer: this model on this provider, at this
/// offer's price (rounded up to the cent). If the offer is gone by then, the cheapest offer
/// of the same GPU type and count under that price is rented instead (the form sends the
/// GPU as listed), and never another GPU type. With JavaScript the browser first asks
/// to confirm the rental and its price (`data-confirm`); without it the button's text
/// carries the price.
#[component]
fn TestOnOffer(
    start: ServerAction<StartRun>,
    fit: ModelFit,
    offer: gdl_model::shopper::Offer,
) -> impl IntoView {
    let max_price = format!(
        "{:.2}",
        ((offer.price_per_hour * 100.0).ceil() / 100.0).max(0.01)
    );
    let price = format::per_hour(offer.price_per_hour);
    let confirm = format!(
        "Rent {} on {} at {price}? The test starts now and is billed until its cleanup destroys the machine.",
        format::gpu(&offer.gpu_type, offer.gpu_count),
        offer.provider.label()
    );
    let question = confirm.clone();
    view! {
        <ActionForm action=start attr:class="inline">
            <input type="hidden" name="config[model]" value=fit.model.model.clone()/>
            <input type="hidden" name="config[quantization]" value=fit.model.quantization.as_str()/>
            <input type="hidden" name="config[gpu_count]" value=fit.gpus.to_string()/>
            <input type="hidden" name="config[engine]" value=fit.engine.as_str()/>
            <input type="hidden" name="config[engine_version]" value=fit.engine_version.clone()/>
            <input type="hidden" name="config[provider]" value=offer.provider.as_str().to_owned()/>
            <input type="hidden" name="config[max_price]" value=max_price/>
            <input type="hidden" name="config[pin_offer]" value=offer.id.to_string()/>
            <input type="hidden" name="config[pin_gpu][gpu_type]" value=offer.gpu_type.clone()/>
            <input type="hidden" name="config[pin_gpu][gpu_count]" value=offer.gpu_count.to_string()/>
            <input type="hidden" name="config[pin_gpu][price_per_hour]" value=offer.price_per_hour.to_string()/>
            <button
                type="submit"
                class="secondary small"
                disabled=move || start.pending().get()
                data-test-offer=offer.id.to_string()
                data-testid="test-on-offer"
                data-confirm=confirm
                on:click=move |ev| {
                    if !window().confirm_with_message(&question).unwrap_or(false) {
                        ev.prevent_default();
                    }
                }
            >
                {format!("Test on this offer at {price}")}
            </button>
        </ActionForm>
    }
}

#[component]
fn OfferTable(view: InventoryView, start: ServerAction<StartRun>) -> impl IntoView {
    let count = view.offers.len();
    let fit = view.fit.clone();
    let ago = |t: chrono::DateTime<chrono::Utc>| {
        format::duration((chrono::Utc::now() - t).num_seconds().max(0) as f64)
    };
    let age = view
        .fetched_at
        .map(|t| format!(" · the broker fetched them {} ago", ago(t)));
    let listed = view
        .listed_at
        .map(|t| format!(" · listed here {} ago", ago(t)));
    let stale = view.stale.clone();
    let rows = view
        .offers
        .into_iter()
        .map(|o| {
            let fits = fit.as_ref().filter(|f| f.fitting.contains(&o.id)).cloned();
            let marked = fit.as_ref().map(|_| if fits.is_some() { "yes" } else { "no" });
            let fit_cell = fit.as_ref().map(|_| match fits.clone() {
                Some(f) => view! {
                    <td class="fits">
                        <span aria-label="fits">"✓ "</span>
                        <TestOnOffer start fit=f offer=o.clone()/>
                    </td>
                }
                .into_any(),
                None => match fit.as_ref().and_then(|f| f.left_out_reason(&o.id)) {
                    Some(why) => view! {
                        <td class="muted small left-out" data-left-out="" title=why.to_owned()>{format!("✗ {why}")}</td>
                    }
                    .into_any(),
                    None => view! { <td class="muted">"too small"</td> }.into_any(),
                },
            });
            view! {
                <tr data-offer=o.id.to_string() data-provider=o.provider.as_str().to_owned() data-vram=o.vram_gb data-price=o.price_per_hour data-fits=marked class:fits=fits.is_some()>
                    <td>{o.provider.label().to_owned()}</td>
                    <td>{format::gpu(&o.gpu_type, o.gpu_count)}</td>
                    <td class="num">{format!("{} GB", o.vram_gb)}</td>
                    <td class="num">{format::per_hour(o.price_per_hour)}</td>
                    <td>{o.location.clone()}</td>
                    <td class="num">{format!("{:.2}", o.reliability)}</td>
                    <td class="num">{format!("{:.2}", o.availability_confidence)}</td>
                    <td class="num">{if o.max_duration_hours == 0 { "—".to_owned() } else { format!("{} h", o.max_duration_hours) }}</td>
                    <td><code>{o.id.to_string()}</code></td>
                    {fit_cell}
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card table-wrap">
            <p class="muted small" data-count=count>{format!("{count} offers")}{age}{listed}</p>
            {stale.map(|e| view! {
                <p class="note warn" data-stale=e.code.to_string()>
                    {e.message} {e.hint.map(|h| view! { <span class="hint">" " {h}</span> })}
                </p>
            })}
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
                        {fit.is_some().then(|| view! { <th>"Fits"</th> })}
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
}
