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

const PRICE: f64 = 2.0;

/// Where tuning is tried: the model, the host's GPUs, the requests and the SLOs.
#[derive(Clone)]
struct Scene {
    model: &'static str,
    gpus: Gpus,
    prompt: u32,
    reply: u32,
    slo: Slo,
}

/// A 7.6 B model in 16 bits on a fast GPU whose memory leaves little room for the cache:
/// how many requests run at once is what the settings move. Long prompts, short answers:
/// the cache a request holds is mostly its prompt. The SLOs are tight enough that a
/// request waiting for room (a whole reply) breaks them, loose enough that a running one
/// meets them at every capacity this model reaches.
fn one_gpu() -> Scene {
    Scene {
        model: "qwen2.5-7b",
        gpus: Gpus {
            gpu_type: "B200".into(),
            count: 1,
            vram_gb: 19,
            slowdown: 1.0,
        },
        prompt: 1900,
        reply: 60,
        slo: Slo {
            ttft_p95_ms: 700.0,
            tpot_p95_ms: 60.0,
            min_success: 0.99,
        },
    }
}

/// A setting tuning can reach: the engine's settings and the weights' quantization.
type Setup = (EngineSettings, Option<Quantization>);

impl Scene {
    fn args(&self, (settings, weights): &Setup) -> Vec<String> {
        let mut args = vec!["--model".to_owned(), self.model.to_owned()];
        if let Some(q) = weights {
            args.extend(["--quantization".to_owned(), q.as_str().to_owned()]);
        }
        args.extend(settings.flags(EngineKind::Vllm, self.gpus.count));
        args
    }

    /// What the simulated vLLM serves with `setup`, or why it does not start.
    fn profile(&self, setup: &Setup) -> Result<LlmProfile, String> {
        let vllm = Vllm::launch(
            Kind::Process { pid: 1 },
            &self.args(setup),
            "k".into(),
            &self.gpus,
            1.0,
        );
        match vllm.refusal() {
            Some(why) => Err(why.to_owned()),
            None => Ok(vllm.profile),
        }
    }

    /// The model's capacity at the SLO for requests of `prompt` + `reply` tokens.
    fn model_capacity(&self, setup: &Setup, prompt: u32, reply: u32) -> u32 {
        let p = self.profile(setup).expect("starts");
        let launch = Launch::from_args(&self.args(setup), self.model, p.params_b);
        let slots = launch.slots(self.gpus.memory(), u64::from(prompt + reply));
        model::capacity(
            p.prefill_ms(prompt as usize),
            p.ms_per_token,
            (slots, launch.dp),
            self.slo.ttft_p95_ms,
            self.slo.tpot_p95_ms,
        )
    }

    /// What the search can see of it: the model's capacity, up to [`CEILING`].
    fn predicted(&self, setup: &Setup, prompt: u32, reply: u32) -> u32 {
        self.model_capacity(setup, prompt, reply).min(CEILING)
    }

    /// Every setting reachable from `start` by `changes` (each on or off).
    fn reachable(start: &EngineSettings, changes: &[Change]) -> Vec<Setup> {
        (0..1u32 << changes.len())
            .map(|on| {
                let chosen = changes
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| on & (1 << i) != 0);
                chosen.fold((start.clone(), None), |(s, w), (_, c)| {
                    (c.apply(&s), c.weights().or(w))
                })
            })
            .collect()
    }

    /// A simulated vLLM serving `start`, with the requests' real sizes as the server
    /// counts them.
    async fn started(&self, start: &EngineSettings) -> (Sim, Engine, u32, u32) {
        let mut sim = Sim {
            scene: self.clone(),
            llm: None,
            restarts: 0,
        };
        let engine = sim.restart(start, None).await.expect("the start serves");
        let (_, probe) = engine.level(1, 1).await;
        let (prompt, reply) = (probe[0].prompt_tokens, probe[0].output_tokens);
        sim.restarts = 0;
        (sim, engine, prompt, reply)
    }
}

/// The highest concurrency the tuning's searches measure: a capacity above it reads as it.
/// (Below it every capacity the one-GPU scene reaches is bound by the cache, which the
/// search measures exactly: a request past the room waits a whole reply. Above it the time
/// to first token binds, where a wave's staggered starts put the measured capacity a level
/// off the model's.)
const CEILING: u32 = 16;

/// Each point's change and measured capacity, for messages.
fn table(tuning: &Tuning) -> Vec<(String, Option<u32>)> {
    tuning
        .points
        .iter()
        .map(|p| (p.change.clone(), p.capacity))
        .collect()
}

/// Tuning measured `from` at the start and `best` at its winner, the gain their ratio, and
/// tried all it meant to.
fn reached(tuning: &Tuning, from: u32, best: u32) {
    let table = table(tuning);
    assert_eq!(tuning.points[0].capacity, Some(from), "{table:?}");
    assert_eq!(tuning.winner().capacity, Some(best), "{table:?}");
    let gain = tuning.gain().unwrap();
    let expected = f64::from(best) / f64::from(from);
    assert!(
        (gain - expected).abs() < 1e-9,
        "gain {gain} against {expected}"
    );
    assert_eq!(tuning.stop, TuneStop::Done);
}

/// Restarts a simulated vLLM in this process, counting the restarts.
struct Sim {
    scene: Scene,
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
        let started = self
            .scene
            .profile(&(settings.clone(), weights))
            .and_then(|p| {
                let llm = SimLlm::start(p.clone(), 0).map_err(|e| e.to_string())?;
                Ok((llm, p))
            });
        let scene = &self.scene;
        let engine = started.map(|(llm, p)| {
            let mut engine = engine_on(&llm, &p, Workload::synthetic(scene.prompt, scene.reply));
            engine.slo = scene.slo;
            engine.price_per_hour = Some(PRICE);
            self.llm = Some(llm);
            engine
        });
        async move { engine }
    }
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
        copies: None,
        settle,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tuning_finds_the_setting_the_engine_model_makes_best_and_its_gain() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let scene = one_gpu();
    let default = EngineSettings::default();
    let (mut sim, engine, prompt, reply) = scene.started(&default).await;
    // Every setting tuning could reach (each change on or off), and the best by the model.
    let changes = [
        Change::KvCacheFp8,
        Change::MemoryShare(TUNED_MEMORY_SHARE),
        Change::WeightsFp8,
    ];
    let reachable = Scene::reachable(&default, &changes);
    let capacities: Vec<u32> = reachable
        .iter()
        .map(|s| scene.predicted(s, prompt, reply))
        .collect();
    let best = *capacities.iter().max().unwrap();
    // The ceiling hides no ranking: the settings best by the model are those best below it.
    let unbounded: Vec<u32> = reachable
        .iter()
        .map(|s| scene.model_capacity(s, prompt, reply))
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
    let at_default = scene.predicted(&(default.clone(), None), prompt, reply);
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
    let table = table(&tuning);
    println!("predicted {capacities:?} for {reachable:?}; measured {table:?}");
    assert_eq!(
        scene.predicted(&(winner.settings.clone(), winner.weights), prompt, reply),
        best,
        "the winner is the model's best: {table:?}"
    );
    reached(&tuning, at_default, best);
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
        scene: one_gpu(),
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
        space(&at(limited.clone(), None, Some(4)), &older),
        [
            Change::MemoryShare(TUNED_MEMORY_SHARE),
            Change::MaxNumSeqs(8)
        ]
    );
    // On two GPUs, copies side by side come last; each copy's limit counts twice.
    let two = TunePlan {
        copies: Some(2),
        ..older
    };
    assert_eq!(
        space(&at(limited.clone(), None, Some(4)), &two).last(),
        Some(&Change::DataParallel(2))
    );
    let copies = Change::DataParallel(2).apply(&limited);
    assert_eq!(
        space(&at(copies.clone(), None, Some(4)), &two),
        [Change::MemoryShare(TUNED_MEMORY_SHARE)],
        "4 of the 8 sequences two copies hold: the limit did not bind"
    );
    assert_eq!(
        space(&at(copies, None, Some(8)), &two),
        [
            Change::MemoryShare(TUNED_MEMORY_SHARE),
            Change::MaxNumSeqs(8)
        ]
    );
}

mod copies;
