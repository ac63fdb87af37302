//! The GPU catalogue: what each GPU the broker rents out can do.
//!
//! For each card: its architecture, CUDA compute capability, memory, memory bandwidth and
//! dense tensor throughput (BF16, FP8) where the card has them. [`lookup`] reads the names
//! brokers send ("RTX_4090", "NVIDIA GeForce RTX 4090", "A100-SXM4-80GB", "H100_SXM5") into
//! one entry; a name it does not know, or one that could be several cards, is `None`: never
//! a guess.
//!
//! # Variants that differ by memory
//!
//! Some names cover cards that differ in memory (V100 16/32 GB, A100 40/80 GB, RTX 4060 Ti
//! 8/16 GB, RTX 3060 8/12 GB). Each size is its own entry ("V100 16GB"), found when the name
//! says the size ("Tesla V100-SXM2-16GB"). A name without the size ("V100", "A100 PCIE")
//! finds a family entry whose memory is `None` and whose other figures are only those all its
//! sizes share; [`lookup_with_vram`] then takes the size from the offer's VRAM.
//!
//! # Sources
//!
//! Figures come from NVIDIA's datasheets and architecture whitepapers, and compute
//! capabilities from the CUDA GPUs table (<https://developer.nvidia.com/cuda-gpus>); each
//! entry names its source. Throughput is dense (datasheets print the 2:4-sparse figure, twice
//! this) with FP32 accumulate. A figure no source gave us is `None`, not estimated.
//!
//! # Examples
//!
//! ```
//! use gdl_model::gpus::{lookup, Arch};
//!
//! let gpu = lookup("NVIDIA GeForce RTX 4090").expect("a known card");
//! assert_eq!(gpu.name, "RTX 4090");
//! assert_eq!(gpu.arch, Arch::Ada);
//! assert_eq!(gpu.compute_capability, (8, 9));
//! assert_eq!(lookup("A100-SXM4-80GB").map(|g| g.name), Some("A100 80GB SXM"));
//! // Unknown or ambiguous names are not guessed.
//! assert!(lookup("RTX 40900").is_none());
//! assert!(lookup("RTX 4090 D").is_none());
//! ```

use serde::{Deserialize, Serialize};
use std::fmt;

/// A GPU architecture (NVIDIA's generation name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    /// Volta (2017): compute capability 7.0. No BF16, no FP8.
    Volta,
    /// Turing (2018): compute capability 7.5. No BF16, no FP8.
    Turing,
    /// Ampere (2020): compute capability 8.0 (A100) and 8.6. BF16, no FP8.
    Ampere,
    /// Ada Lovelace (2022): compute capability 8.9. BF16 and FP8.
    Ada,
    /// Hopper (2022): compute capability 9.0. BF16 and FP8.
    Hopper,
    /// Blackwell (2024): compute capability 10.x (data centre) and 12.x (GeForce, RTX PRO).
    Blackwell,
}

impl Arch {
    /// The name people read ("Ada", "Hopper").
    pub fn label(self) -> &'static str {
        match self {
            Arch::Volta => "Volta",
            Arch::Turing => "Turing",
            Arch::Ampere => "Ampere",
            Arch::Ada => "Ada",
            Arch::Hopper => "Hopper",
            Arch::Blackwell => "Blackwell",
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// What one GPU can do, per GPU (an offer of several GPUs has this for each).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GpuSpec {
    /// The one display name of the card ("RTX 4090", "A100 80GB SXM").
    pub name: &'static str,
    /// The architecture.
    pub arch: Arch,
    /// CUDA compute capability as (major, minor): (8, 9) is `sm_89`.
    pub compute_capability: (u8, u8),
    /// Memory in GB; `None` for a family entry whose sizes differ (the offer's VRAM says).
    pub memory_gb: Option<u32>,
    /// Peak memory bandwidth in GB/s; `None` when the sizes of a family differ in it.
    pub memory_bandwidth_gb_s: Option<u32>,
    /// Dense BF16 tensor TFLOPS with FP32 accumulate; `None` on cards without BF16 or when
    /// no NVIDIA source gives the figure.
    pub bf16_tflops: Option<f64>,
    /// Dense FP8 tensor TFLOPS with FP32 accumulate; `None` on cards without FP8 or when no
    /// NVIDIA source gives the figure.
    pub fp8_tflops: Option<f64>,
}

impl GpuSpec {
    /// Whether the card has BF16 tensor cores (Ampere and newer).
    pub fn has_bf16(&self) -> bool {
        self.arch >= Arch::Ampere
    }

    /// Whether the card has FP8 tensor cores (Ada, Hopper and newer).
    pub fn has_fp8(&self) -> bool {
        self.arch >= Arch::Ada
    }

    /// An upper bound on one sequence's decode speed in tokens per second: the memory
    /// bandwidth over the bytes read per token (the weights, plus the KV cache read at that
    /// length). Real engines reach a fraction of it. `None` when the bandwidth is unknown or
    /// `bytes_per_token` is not a positive number.
    ///
    /// # Examples
    ///
    /// ```
    /// let gpu = gdl_model::gpus::lookup("H100 SXM").unwrap();
    /// // 8B parameters in BF16: 16 GB read per token, at most ~209 tokens/s at 3350 GB/s.
    /// let tps = gpu.decode_tokens_per_s(16e9).unwrap();
    /// assert!((tps - 209.375).abs() < 1e-9);
    /// ```
    pub fn decode_tokens_per_s(&self, bytes_per_token: f64) -> Option<f64> {
        let bandwidth = self.memory_bandwidth_gb_s?;
        (bytes_per_token.is_finite() && bytes_per_token > 0.0)
            .then(|| f64::from(bandwidth) * 1e9 / bytes_per_token)
    }
}

/// How a card attaches, where the name tells cards apart by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    Pcie,
    Sxm,
}

/// A catalogue entry: the card and how a broker's name finds it.
struct Entry {
    /// The model part of the names, normalised (see [`parse`]): "RTXA6000", "A100".
    models: &'static [&'static str],
    /// The form a name must state to find this entry; `None`: any or none.
    form: Option<Form>,
    /// Whether the name must state the memory size (one size of a family).
    size_in_name: bool,
    spec: GpuSpec,
}

/// Shorthand for the table below.
#[allow(clippy::too_many_arguments)]
const fn gpu(
    name: &'static str,
    models: &'static [&'static str],
    form: Option<Form>,
    size_in_name: bool,
    arch: Arch,
    compute_capability: (u8, u8),
    memory_gb: Option<u32>,
    memory_bandwidth_gb_s: Option<u32>,
    bf16_tflops: Option<f64>,
    fp8_tflops: Option<f64>,
) -> Entry {
    Entry {
        models,
        form,
        size_in_name,
        spec: GpuSpec {
            name,
            arch,
            compute_capability,
            memory_gb,
            memory_bandwidth_gb_s,
            bf16_tflops,
            fp8_tflops,
        },
    }
}

use Arch::*;
const PCIE: Option<Form> = Some(Form::Pcie);
const SXM: Option<Form> = Some(Form::Sxm);

// Columns: name, models, form, size in name, arch, CC, GB, GB/s, BF16, FP8 (dense TFLOPS).
// Compute capabilities: https://developer.nvidia.com/cuda-gpus for every row.
#[rustfmt::skip]
const CATALOGUE: &[Entry] = &[
    // source: NVIDIA Tesla V100 datasheet (16/32 GB HBM2, 900 GB/s on SXM2 and PCIe).
    gpu("V100", &["V100"], None, false, Volta, (7, 0), None, Some(900), None, None),
    gpu("V100 16GB", &["V100"], None, true, Volta, (7, 0), Some(16), Some(900), None, None),
    gpu("V100 32GB", &["V100"], None, true, Volta, (7, 0), Some(32), Some(900), None, None),
    // source: NVIDIA T4 board specification (16 GB GDDR6, up to 320 GB/s).
    gpu("T4", &["T4"], None, false, Turing, (7, 5), Some(16), Some(320), None, None),
    // source: NVIDIA Turing architecture whitepaper (RTX 2080 Ti: 11 GB GDDR6, 616 GB/s).
    gpu("RTX 2080 Ti", &["RTX2080TI"], None, false, Turing, (7, 5), Some(11), Some(616), None, None),
    // source: NVIDIA GeForce RTX 3060 specifications (12 GB: 360 GB/s; 8 GB: 240 GB/s).
    gpu("RTX 3060", &["RTX3060"], None, false, Ampere, (8, 6), None, None, None, None),
    gpu("RTX 3060 8GB", &["RTX3060"], None, true, Ampere, (8, 6), Some(8), Some(240), None, None),
    gpu("RTX 3060 12GB", &["RTX3060"], None, true, Ampere, (8, 6), Some(12), Some(360), None, None),
    // source: NVIDIA Ampere GA102 whitepaper (RTX 3090: 24 GB, 936 GB/s, BF16 71/142).
    gpu("RTX 3090", &["RTX3090"], None, false, Ampere, (8, 6), Some(24), Some(936), Some(71.0), None),
    // source: NVIDIA RTX A4000/A5000/A6000 datasheets (tensor figures there are sparse).
    gpu("RTX A4000", &["RTXA4000", "A4000"], None, false, Ampere, (8, 6), Some(16), Some(448), Some(76.7), None),
    gpu("RTX A5000", &["RTXA5000", "A5000"], None, false, Ampere, (8, 6), Some(24), Some(768), Some(111.1), None),
    gpu("RTX A6000", &["RTXA6000", "A6000"], None, false, Ampere, (8, 6), Some(48), Some(768), Some(154.8), None),
    // source: NVIDIA A10 datasheet (24 GB GDDR6, 600 GB/s, BF16 125 | 250*).
    gpu("A10", &["A10"], None, false, Ampere, (8, 6), Some(24), Some(600), Some(125.0), None),
    // source: NVIDIA A40 datasheet (48 GB GDDR6, 696 GB/s, BF16 149.7 | 299.4*).
    gpu("A40", &["A40"], None, false, Ampere, (8, 6), Some(48), Some(696), Some(149.7), None),
    // source: NVIDIA A100 datasheet (BF16 312 | 624* on every A100; 40GB PCIe and SXM
    // 1555 GB/s, 80GB PCIe 1935 GB/s, 80GB SXM 2039 GB/s).
    gpu("A100", &["A100"], None, false, Ampere, (8, 0), None, None, Some(312.0), None),
    gpu("A100 PCIe", &["A100"], PCIE, false, Ampere, (8, 0), None, None, Some(312.0), None),
    gpu("A100 SXM", &["A100"], SXM, false, Ampere, (8, 0), None, None, Some(312.0), None),
    gpu("A100 40GB", &["A100"], None, true, Ampere, (8, 0), Some(40), Some(1555), Some(312.0), None),
    gpu("A100 80GB", &["A100"], None, true, Ampere, (8, 0), Some(80), None, Some(312.0), None),
    gpu("A100 80GB PCIe", &["A100"], PCIE, true, Ampere, (8, 0), Some(80), Some(1935), Some(312.0), None),
    gpu("A100 80GB SXM", &["A100"], SXM, true, Ampere, (8, 0), Some(80), Some(2039), Some(312.0), None),
    // source: NVIDIA Ada Lovelace architecture whitepaper, appendix (RTX 4090: 1008 GB/s,
    // BF16 165.2/330.4, FP8 with FP32 accumulate 330.3/660.6).
    gpu("RTX 4090", &["RTX4090"], None, false, Ada, (8, 9), Some(24), Some(1008), Some(165.2), Some(330.3)),
    // source: NVIDIA GeForce RTX 4060 Ti specifications (8 and 16 GB, both 288 GB/s).
    gpu("RTX 4060 Ti", &["RTX4060TI"], None, false, Ada, (8, 9), None, Some(288), None, None),
    gpu("RTX 4060 Ti 8GB", &["RTX4060TI"], None, true, Ada, (8, 9), Some(8), Some(288), None, None),
    gpu("RTX 4060 Ti 16GB", &["RTX4060TI"], None, true, Ada, (8, 9), Some(16), Some(288), None, None),
    // source: NVIDIA RTX 6000 Ada datasheet (48 GB, 960 GB/s, 1457 FP8 TFLOPS sparse).
    gpu("RTX 6000 Ada", &["RTX6000ADA"], None, false, Ada, (8, 9), Some(48), Some(960), Some(364.2), Some(728.5)),
    // source: NVIDIA L4 datasheet (24 GB, 300 GB/s, BF16 242*, FP8 485*).
    gpu("L4", &["L4"], None, false, Ada, (8, 9), Some(24), Some(300), Some(121.0), Some(242.5)),
    // source: NVIDIA L40 datasheet (48 GB, 864 GB/s, BF16 181.05 | 362.1*, FP8 362 | 724*).
    gpu("L40", &["L40"], None, false, Ada, (8, 9), Some(48), Some(864), Some(181.05), Some(362.0)),
    // source: NVIDIA L40S datasheet (48 GB, 864 GB/s, BF16 362.05 | 733*, FP8 733 | 1466*).
    gpu("L40S", &["L40S"], None, false, Ada, (8, 9), Some(48), Some(864), Some(362.05), Some(733.0)),
    // source: NVIDIA H100 datasheet (PCIe: 80 GB, 2 TB/s, BF16 1513*, FP8 3026*;
    // SXM: 80 GB, 3.35 TB/s, BF16 1979*, FP8 3958*) and the Hopper whitepaper's dense figures.
    gpu("H100 PCIe", &["H100"], PCIE, false, Hopper, (9, 0), Some(80), Some(2000), Some(756.5), Some(1513.0)),
    gpu("H100 SXM", &["H100"], SXM, false, Hopper, (9, 0), Some(80), Some(3350), Some(989.4), Some(1978.9)),
    // source: NVIDIA H200 datasheet (SXM: 141 GB, 4.8 TB/s, BF16 1979*, FP8 3958*).
    gpu("H200", &["H200"], None, false, Hopper, (9, 0), Some(141), Some(4800), Some(989.4), Some(1978.9)),
    // source: NVIDIA HGX B200 datasheet (8 GPUs: 1440 GB, 64 TB/s, BF16 36 PF*, FP8 72 PF*).
    gpu("B200", &["B200"], None, false, Blackwell, (10, 0), Some(180), Some(8000), Some(2250.0), Some(4500.0)),
    // source: NVIDIA GeForce RTX 5090 specifications (32 GB GDDR7, 1792 GB/s).
    gpu("RTX 5090", &["RTX5090"], None, false, Blackwell, (12, 0), Some(32), Some(1792), None, None),
    // source: NVIDIA RTX PRO 6000 Blackwell datasheet (96 GB GDDR7, 1792 GB/s).
    gpu("RTX PRO 6000", &["RTXPRO6000"], None, false, Blackwell, (12, 0), Some(96), Some(1792), None, None),
];

/// Words a broker adds that do not tell cards apart, wherever they stand.
const NOISE: &[&str] = &[
    "GENERATION",
    "BLACKWELL",
    "WORKSTATION",
    "SERVER",
    "EDITION",
];

/// Brand prefixes, stripped from the front of the model part (also when glued on, as in
/// TensorDock's "geforcertx4090").
const BRANDS: &[&str] = &["NVIDIA", "GEFORCE", "TESLA"];

/// A broker's name read into its parts.
#[derive(Debug, PartialEq)]
struct Parsed {
    /// The model part, upper case, without separators or brands: "RTX4090", "A100".
    model: String,
    memory_gb: Option<u32>,
    form: Option<Form>,
}

/// Reads a name: case, spaces, underscores and dashes do not matter; "80GB" or "80 GB" is
/// the memory; "PCIe" and "SXM", "SXM2" ... "SXM5" are the form.
fn parse(name: &str) -> Parsed {
    let tokens: Vec<String> = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_ascii_uppercase)
        .collect();
    let mut model = String::new();
    let mut memory_gb = None;
    let mut form = None;
    for (i, token) in tokens.iter().enumerate() {
        let next_is_gb = tokens.get(i + 1).is_some_and(|t| t == "GB");
        if let Some(gb) = token.strip_suffix("GB").and_then(|n| n.parse().ok()) {
            memory_gb = Some(gb);
        } else if next_is_gb && token.parse::<u32>().is_ok() {
            memory_gb = token.parse().ok();
        } else if token == "GB" && i > 0 && tokens[i - 1].parse::<u32>().is_ok() {
            // The unit of the number before it.
        } else if token == "PCIE" {
            form = Some(Form::Pcie);
        } else if token
            .strip_prefix("SXM")
            .is_some_and(|n| n.len() <= 1 && n.bytes().all(|b| b.is_ascii_digit()))
        {
            form = Some(Form::Sxm);
        } else if !NOISE.contains(&token.as_str()) {
            model.push_str(token);
        }
    }
    let mut rest = model.as_str();
    while let Some(stripped) = BRANDS.iter().find_map(|b| rest.strip_prefix(b)) {
        rest = stripped;
    }
    Parsed {
        model: rest.to_owned(),
        memory_gb,
        form,
    }
}

/// The one entry a parsed name finds: among the entries it fits, the one that states the
/// form it named; `None` when none fits or several fit equally.
fn find(parsed: &Parsed) -> Option<&'static GpuSpec> {
    let fits = |e: &&Entry| {
        e.models.contains(&parsed.model.as_str())
            && match parsed.memory_gb {
                Some(gb) => e.spec.memory_gb == Some(gb),
                None => !e.size_in_name,
            }
            && (e.form.is_none() || e.form == parsed.form)
    };
    let specificity = |e: &Entry| e.form.is_some() as u8;
    let best = CATALOGUE.iter().filter(fits).map(specificity).max()?;
    let mut found = CATALOGUE
        .iter()
        .filter(fits)
        .filter(|e| specificity(e) == best);
    match (found.next(), found.next()) {
        (Some(entry), None) => Some(&entry.spec),
        _ => None,
    }
}

/// The catalogue entry for a GPU name as a broker, `nvidia-smi` or a person writes it:
/// case, spaces, underscores and dashes do not matter, nor "NVIDIA", "GeForce" or "Tesla";
/// a memory size ("80GB") and a form ("PCIe", "SXM4") pick a variant. A name the catalogue
/// does not know, or one that could be more than one card (a bare "H100": PCIe or SXM), is
/// `None`.
///
/// # Examples
///
/// ```
/// use gdl_model::gpus::lookup;
///
/// let name = |s| lookup(s).map(|g| g.name);
/// assert_eq!(name("RTX_4090"), Some("RTX 4090"));
/// assert_eq!(name("H100_SXM5"), Some("H100 SXM"));
/// assert_eq!(name("Tesla V100-SXM2-16GB"), Some("V100 16GB"));
/// // Without a size, a family entry: memory left to the offer.
/// assert_eq!(lookup("V100").and_then(|g| g.memory_gb), None);
/// assert_eq!(name("Quadro XYZ"), None);
/// assert_eq!(name("H100"), None, "PCIe or SXM: not guessed");
/// ```
pub fn lookup(broker_name: &str) -> Option<&'static GpuSpec> {
    find(&parse(broker_name))
}

/// Like [`lookup`], with the offer's VRAM per GPU choosing the size of a family the name
/// leaves open ("V100" with 32 GB is "V100 32GB"). A size no entry has leaves the family
/// entry. An entry whose memory the name already fixes is kept whatever the VRAM: brokers
/// round VRAM differently, and the offer's figure is shown beside it anyway.
///
/// # Examples
///
/// ```
/// use gdl_model::gpus::lookup_with_vram;
///
/// assert_eq!(lookup_with_vram("A100 PCIE", 40).map(|g| g.name), Some("A100 40GB"));
/// assert_eq!(lookup_with_vram("A100 SXM4", 80).map(|g| g.name), Some("A100 80GB SXM"));
/// assert_eq!(lookup_with_vram("A100 SXM4", 64).map(|g| g.name), Some("A100 SXM"));
/// ```
pub fn lookup_with_vram(broker_name: &str, vram_gb: u32) -> Option<&'static GpuSpec> {
    let mut parsed = parse(broker_name);
    let spec = find(&parsed)?;
    if spec.memory_gb.is_some() {
        return Some(spec);
    }
    parsed.memory_gb = Some(vram_gb);
    find(&parsed).or(Some(spec))
}

/// Every card in the catalogue, family entries included, in table order.
pub fn all() -> impl Iterator<Item = &'static GpuSpec> {
    CATALOGUE.iter().map(|e| &e.spec)
}

#[cfg(test)]
mod tests;
