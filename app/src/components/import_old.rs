//! Importing the old Python dashboard's benchmark files from the Benchmarks tab: the files
//! chosen are read in the browser and sent one at a time (each well within the server's
//! body limit) to the `import_benchmarks` server function; the records imported reach
//! every open page through the live channel.

use gdl_model::legacy::ImportReport;
use leptos::prelude::*;

/// The largest file sent from here (the server takes 64 KB bodies; larger ones go through
/// the CLI).
#[cfg(feature = "hydrate")]
const MAX_FILE_BYTES: f64 = 48.0 * 1024.0;

/// "Import from the old dashboard": a file picker, progress, and what was imported.
#[component]
pub fn ImportOld() -> impl IntoView {
    let report = RwSignal::new(None::<ImportReport>);
    let busy = RwSignal::new(false);
    let on_change = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let Some(input) = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            else {
                return;
            };
            let files: Vec<web_sys::File> = input
                .files()
                .map(|list| (0..list.length()).filter_map(|i| list.get(i)).collect())
                .unwrap_or_default();
            if files.is_empty() {
                return;
            }
            busy.set(true);
            report.set(None);
            leptos::task::spawn_local(async move {
                report.set(Some(send(files).await));
                busy.set(false);
                input.set_value("");
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, report, busy);
    };
    view! {
        <section class="card import-old">
            <h2>"Import from the old dashboard"</h2>
            <p class="muted small">
                "Choose the Python dashboard's benchmark files (~/.gpu-deploy-llm/benchmarks/*.json). "
                "Each becomes an external benchmark with its numbers, marked with what the old tool never measured."
            </p>
            <label>
                "Files "
                <input type="file" multiple accept=".json,application/json" data-action="import"
                    disabled=move || busy.get() on:change=on_change/>
            </label>
            <noscript>
                <p class="small">
                    "Without JavaScript: run gpu-deploy-llm benchmarks import DIR, or POST each file to /api/benchmarks/import."
                </p>
            </noscript>
            {move || busy.get().then(|| view! { <p class="small" role="status">"Importing…"</p> })}
            {move || report.get().map(|r| view! { <ImportOutcome r/> })}
        </section>
    }
}

/// Reads and sends each file; the old tool's `index.json` is left out, as the CLI does.
#[cfg(feature = "hydrate")]
async fn send(files: Vec<web_sys::File>) -> ImportReport {
    use gdl_model::legacy::OldFile;
    let mut total = ImportReport::default();
    for file in files {
        let name = file.name();
        if name == "index.json" {
            continue;
        }
        if file.size() > MAX_FILE_BYTES {
            total.skipped.push(format!(
                "{name}: larger than 48 KB; import it with gpu-deploy-llm benchmarks import"
            ));
            continue;
        }
        let text = match wasm_bindgen_futures::JsFuture::from(file.text()).await {
            Ok(text) => text.as_string().unwrap_or_default(),
            Err(_) => {
                total
                    .skipped
                    .push(format!("{name}: the browser could not read it"));
                continue;
            }
        };
        let files = vec![OldFile {
            name: name.clone(),
            text,
        }];
        match crate::functions::import_benchmarks(files).await {
            Ok(Ok(report)) => total.extend(report),
            Ok(Err(e)) => total.skipped.push(format!("{name}: {}", e.message)),
            Err(e) => total.skipped.push(format!("{name}: {e}")),
        }
    }
    total
}

/// What an import did: links to the benchmarks imported, and each file skipped with why.
#[component]
fn ImportOutcome(r: ImportReport) -> impl IntoView {
    let (imported, skipped) = (r.imported.len(), r.skipped.len());
    let summary = format!(
        "Imported {} benchmark{}, skipped {}.",
        r.imported.len(),
        if r.imported.len() == 1 { "" } else { "s" },
        r.skipped.len()
    );
    view! {
        <div class="import-report" role="status"
            data-imported=imported data-skipped=skipped>
            <p>{summary}</p>
            <ul class="imported">
                {r.imported.into_iter().map(|id| view! {
                    <li><a href=format!("/benchmarks/{id}")>{id.clone()}</a></li>
                }).collect_view()}
            </ul>
            <ul class="skipped error small">
                {r.skipped.into_iter().map(|why| view! { <li>{why}</li> }).collect_view()}
            </ul>
        </div>
    }
}
