//! Tuning against the simulator's engine, whose response to settings is known
//! ([`crate::simulator::llm::settings`]): the best setting and the gain are computed here
//! from that model, not from what tuning reports.

use super::*;
use crate::bench::tests::{engine_on, ONE_AT_A_TIME};
use crate::bench::Workload;
use crate::simulator::llm::settings::{self as model, Launch};
use crate::simulator::llm::{LlmProfile, SimLlm};
use crate::simulator::vllm::{Gpus, Kind, Vllm};
use gdl_model::benchmark::Slo;
use gdl_model::engines::Engine as EngineKind;
use gdl_model::registry::Quantization;

const MODEL: &str = "qwen2.5-7b";
const PRICE: f64 = 2.0;

/// A 7.6 B model in 16 bits on a fast GPU whose memory leaves little room for the cache:
/// how many requests run at once is what the settings move.
fn gpus() -> Gpus {
    Gpus {
        gpu_type: "B200".into(),
        count: 1,
        vram_gb: 19,
        slowdown: 1.0,
    }
}

/// Long prompts, short answers: the cache a request holds is mostly its prompt.
fn workload() -> Workload {
    Workload::synthetic(1900, 60)
}

/// Tight enough that a request waiting for room (a whole reply) breaks it, loose enough
/// that a running one meets it at every capacity this model reaches.
fn slo() -> Slo {
    Slo {
        ttft_p95_ms: 700.0,
        tpot_p95_ms: 60.0,
        min_success: 0.99,
    }
}

/// A setting tuning can reach: the engine's settings and the weights' quantization.
type Setup = (EngineSettings, Option<Quantization>);

fn args((settings, weights): &Setup) -> Vec<String> {
    let mut args = vec!["--model".to_owned(), MODEL.to_owned()];
    if let Some(q) = weights {
        args.extend(["--quantization".to_owned(), q.as_str().to_owned()]);
    }
    args.extend(settings.flags(EngineKind::Vllm, 1));
    args
}

/// What the simulated vLLM serves with `setup`, or why it does not start.
fn profile(setup: &Setup) -> Result<LlmProfile, String> {
    let vllm = Vllm::launch(
        Kind::Process { pid: 1 },
        &args(setup),
        "k".into(),
        &gpus(),
        1.0,
    );
    match vllm.refusal() {
        Some(why) => Err(why.to_owned()),
        None => Ok(vllm.profile),
    }
}

/// The highest concurrency the tuning's searches measure: a capacity above it reads as it.
/// (Below it every capacity here is bound by the cache, which the search measures exactly:
/// a request past the room waits a whole reply. Above it the time to first token binds,
/// where a wave's staggered starts put the measured capacity a level off the model's.)
const CEILING: u32 = 16;

/// The model's capacity at the SLO for requests of `prompt` + `reply` tokens.
fn model_capacity(setup: &Setup, prompt: u32, reply: u32) -> u32 {
    let p = profile(setup).expect("starts");
    let launch = Launch::from_args(&args(setup), MODEL, p.params_b);
    let slots = launch.slots(gpus().memory(), u64::from(prompt + reply));
    let slo = slo();
    model::capacity(
        p.prefill_ms(prompt as usize),
        p.ms_per_token,
        slots,
        slo.ttft_p95_ms,
        slo.tpot_p95_ms,
    )
}

/// What the search can see of it: the model's capacity, up to [`CEILING`].
fn predicted(setup: &Setup, prompt: u32, reply: u32) -> u32 {
    model_capacity(setup, prompt, reply).min(CEILING)
}

/// Restarts a simulated vLLM in this process, counting the restarts.
struct Sim {
    llm: Option<SimLlm>,
    restarts: u32,
}

impl Restart for Sim {
    fn restart(
        &mut self,
        settings: &EngineSettings,
        weights: Option<Quantization>,
    ) -> impl Future<Output = Result<Engine, String>> + Send {
        self.llm = None;
        self.restarts += 1;
        let started = profile(&(settings.clone(), weights)).and_then(|p| {
            let llm = SimLlm::start(p.clone(), 0).map_err(|e| e.to_string())?;
            Ok((llm, p))
        });
        let engine = started.map(|(llm, p)| {
            let engine = measured(&llm, &p);
            self.llm = Some(llm);
            engine
        });
        async move { engine }
    }
}

fn measured(llm: &SimLlm, p: &LlmProfile) -> Engine {
    let mut engine = engine_on(llm, p, workload());
    engine.slo = slo();
    engine.price_per_hour = Some(PRICE);
    engine
}

fn plan(usd: f64, settle: bool) -> TunePlan {
    TunePlan {
        usd_budget: usd,
        time_budget: Duration::from_secs(600),
        search: Limits {
            max_concurrency: CEILING,
            time_budget: Duration::from_secs(120),
            usd_budget: None,
            // One request a client: a level is one wave, in which exactly the requests
            // past the room wait for a whole reply.
            requests_per_slot: 1,
        },
        restart_estimate: Duration::from_secs(1),
        fp8_cache: true,
        fp8_weights: true,
        settle,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tuning_finds_the_setting_the_engine_model_makes_best_and_its_gain() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let default = EngineSettings::default();
    let mut sim = Sim {
        llm: None,
        restarts: 0,
    };
    let engine = sim
        .restart(&default, None)
        .await
        .expect("the default starts");
    // The requests' real sizes, as the server counts them.
    let (_, probe) = engine.level(1, 1).await;
    let (prompt, reply) = (probe[0].prompt_tokens, probe[0].output_tokens);
    // Every setting tuning could reach (each change on or off), and the best by the model.
    let changes = [
        Change::KvCacheFp8,
        Change::MemoryShare(TUNED_MEMORY_SHARE),
        Change::WeightsFp8,
    ];
    let reachable: Vec<Setup> = (0..1u32 << changes.len())
        .map(|on| {
            let chosen = changes
                .iter()
                .enumerate()
                .filter(|(i, _)| on & (1 << i) != 0);
            chosen.fold((default.clone(), None), |(s, w), (_, c)| {
                (c.apply(&s), c.weights().or(w))
            })
        })
        .collect();
    let capacities: Vec<u32> = reachable
        .iter()
        .map(|s| predicted(s, prompt, reply))
        .collect();
    let best = *capacities.iter().max().unwrap();
    // The ceiling hides no ranking: the settings best by the model are those best below it.
    let unbounded: Vec<u32> = reachable
        .iter()
        .map(|s| model_capacity(s, prompt, reply))
        .collect();
    let top = *unbounded.iter().max().unwrap();
    assert!(
        top > CEILING,
        "the best is above the ceiling: {unbounded:?}"
    );
    for (capped, model) in capacities.iter().zip(&unbounded) {
        assert_eq!(
            *capped == best,
            *model == top,
            "{capacities:?} {unbounded:?}"
        );
    }
    let at_default = predicted(&(default.clone(), None), prompt, reply);
    assert!(
        best >= 2 * at_default,
        "the scenario leaves room to gain: {capacities:?}"
    );
    sim.restarts = 0;
    let mut heard = 0;
    let tuning = tune(&mut sim, &engine, &default, None, &plan(5.0, false), |_| {
        heard += 1
    })
    .await;
    let winner = tuning.winner();
    let table: Vec<_> = tuning
        .points
        .iter()
        .map(|p| (p.change.clone(), p.capacity))
        .collect();
    println!("predicted {capacities:?} for {reachable:?}; measured {table:?}");
    assert_eq!(
        predicted(&(winner.settings.clone(), winner.weights), prompt, reply),
        best,
        "the winner is the model's best: {table:?}"
    );
    assert_eq!(tuning.points[0].capacity, Some(at_default), "{table:?}");
    assert_eq!(winner.capacity, Some(best), "{table:?}");
    let gain = tuning.gain().unwrap();
    let expected = f64::from(best) / f64::from(at_default);
    assert!(
        (gain - expected).abs() < 1e-9,
        "gain {gain} against {expected}"
    );
    assert_eq!(tuning.stop, TuneStop::Done);
    assert_eq!(heard, tuning.points.len(), "each point is reported");
    assert_eq!(
        sim.restarts as usize,
        tuning.points.len() - 1,
        "one restart a point tried"
    );
    assert!(tuning.cost_usd <= 5.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tuning_stops_before_a_trial_it_cannot_pay_for_and_settles_on_the_best() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let default = EngineSettings::default();
    let mut sim = Sim {
        llm: None,
        restarts: 0,
    };
    let engine = sim
        .restart(&default, None)
        .await
        .expect("the default starts");
    // At $2/h a cent buys 18 s: the first search, not a restart and a second search too.
    let budget = 0.01;
    let mut plan = plan(budget, true);
    plan.restart_estimate = Duration::from_secs(10);
    let tuning = tune(&mut sim, &engine, &default, None, &plan, |_| {}).await;
    assert!(tuning.cost_usd <= budget, "{} > {budget}", tuning.cost_usd);
    assert_eq!(tuning.stop, TuneStop::UsdBudget, "{:?}", tuning.points);
    assert_eq!(tuning.points.len(), 1, "nothing tried past the budget");
    assert_eq!(
        sim.restarts, 1,
        "the engine still runs the best: no restart"
    );
    // Settings the engine cannot start with are a point with its reason, not a stop.
    let huge = EngineSettings {
        max_model_len: Some(1_000_000),
        ..Default::default()
    };
    let why = sim.restart(&huge, None).await.expect_err("refused");
    assert!(why.contains("KV cache"), "{why}");
}

#[test]
fn the_space_is_ordered_cache_first_and_weights_last_and_tries_only_what_can_apply() {
    let limited = EngineSettings {
        max_num_seqs: Some(4),
        ..EngineSettings::default()
    };
    let at = |settings: EngineSettings, weights, capacity| TuningPoint {
        settings,
        weights,
        change: "default".into(),
        capacity,
        output_tokens_per_s: None,
        usd_per_million_output_tokens: None,
        seconds: 1.0,
        cost_usd: 0.0,
        error: None,
    };
    let plan = plan(1.0, false);
    assert_eq!(
        space(&at(limited.clone(), None, Some(4)), &plan),
        [
            Change::KvCacheFp8,
            Change::MemoryShare(TUNED_MEMORY_SHARE),
            Change::MaxNumSeqs(8),
            Change::WeightsFp8
        ]
    );
    // The limit did not bind: not raised; weights already FP8: not again.
    let fp8 = Some(Quantization::Fp8);
    assert_eq!(
        space(&at(limited.clone(), fp8, Some(3)), &plan),
        [Change::KvCacheFp8, Change::MemoryShare(TUNED_MEMORY_SHARE)]
    );
    // No FP8 on the GPU (or a 4-bit checkpoint): neither FP8 change.
    let older = TunePlan {
        fp8_cache: false,
        fp8_weights: false,
        ..plan
    };
    assert_eq!(
        space(&at(limited, None, Some(4)), &older),
        [
            Change::MemoryShare(TUNED_MEMORY_SHARE),
            Change::MaxNumSeqs(8)
        ]
    );
}
