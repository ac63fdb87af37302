//! A campaign's answer: the price-performance frontier of what it measured (like with like:
//! its own benchmarks only), each recommendation with how sure it is, what finding out
//! cost, and the break-even against a serverless API.

use crate::format;
use crate::pages::compare::Frontier;
use gdl_model::campaigns::record::Campaign;
use leptos::prelude::*;

/// The answer once something was measured; until then, what is awaited.
#[component]
pub fn AnswerCard(c: Memo<Campaign>) -> impl IntoView {
    move || {
        let campaign = c.get();
        let Some(answer) = campaign.answer.clone() else {
            let text = if campaign.status.is_finished() {
                "No candidate met the SLOs: there is no recommendation."
            } else {
                "The frontier and the recommendation appear here when the candidates are measured."
            };
            return view! { <section class="card"><p class="empty" data-testid="no-answer">{text}</p></section> }
                .into_any();
        };
        let verdicts = answer
            .comparison
            .recommendations
            .iter()
            .map(|r| {
                let doubt = answer.doubt(r.goal);
                let close = (!doubt.is_empty()).to_string();
                view! {
                    <li data-goal=r.goal.as_str() data-close=close>
                        <strong>{format!("For {}: ", r.goal.as_str())}</strong>
                        {r.text.clone()}
                        <em>{doubt}</em>
                    </li>
                }
            })
            .collect_view();
        let cost = format!(
            "Finding out cost {} of the ${:.2} budget.",
            format::small_usd(campaign.spend_usd),
            campaign.request.budget_usd
        );
        let prices = answer.serverless.as_ref().map(|p| {
            format!(
                "Serverless price used: {} at ${:.2} per 1M input and ${:.2} per 1M output tokens (as of {}).",
                p.label,
                p.input_per_million,
                p.output_per_million,
                gdl_model::campaigns::verdict::PRICES_AS_OF
            )
        });
        view! {
            <section class="card answer" data-testid="campaign-answer">
                <h2>"Recommendation"</h2>
                <ul class="recommendations">{verdicts}</ul>
                <p data-testid="campaign-cost">{cost}</p>
                {answer.break_even_sentence().map(|s| view! { <p data-testid="break-even">{s}</p> })}
                {prices.map(|p| view! { <p class="muted small">{p}</p> })}
            </section>
            <Frontier c=answer.comparison.clone() bare=true/>
        }
        .into_any()
    }
}
