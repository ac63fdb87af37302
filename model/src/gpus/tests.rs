use super::*;

fn name(s: &str) -> Option<&'static str> {
    lookup(s).map(|g| g.name)
}

#[test]
fn spellings_brokers_send_find_one_card() {
    let cases = [
        ("RTX 4090", "RTX 4090"),
        ("RTX_4090", "RTX 4090"),
        ("rtx-4090", "RTX 4090"),
        ("RTX4090", "RTX 4090"),
        ("NVIDIA GeForce RTX 4090", "RTX 4090"),
        ("geforcertx4090-pcie-24gb", "RTX 4090"),
        ("RTX 4090 24 GB", "RTX 4090"),
        ("NVIDIA GeForce RTX 5090", "RTX 5090"),
        ("RTX 2080Ti", "RTX 2080 Ti"),
        ("NVIDIA GeForce RTX 2080 Ti", "RTX 2080 Ti"),
        ("RTX_4060_Ti", "RTX 4060 Ti"),
        ("RTX 4060 Ti 16GB", "RTX 4060 Ti 16GB"),
        ("A6000", "RTX A6000"),
        ("NVIDIA RTX A6000", "RTX A6000"),
        ("NVIDIA RTX 6000 Ada Generation", "RTX 6000 Ada"),
        ("RTX_6000_ADA", "RTX 6000 Ada"),
        (
            "NVIDIA RTX PRO 6000 Blackwell Workstation Edition",
            "RTX PRO 6000",
        ),
        ("RTX PRO 6000 Blackwell Server Edition", "RTX PRO 6000"),
        ("NVIDIA A10", "A10"),
        ("A40", "A40"),
        ("A100-SXM4-80GB", "A100 80GB SXM"),
        ("NVIDIA A100-SXM4-80GB", "A100 80GB SXM"),
        ("A100 80GB PCIe", "A100 80GB PCIe"),
        ("NVIDIA A100 80GB PCIe", "A100 80GB PCIe"),
        ("A100-PCIE-40GB", "A100 40GB"),
        ("A100-SXM4-40GB", "A100 40GB"),
        ("A100 40GB", "A100 40GB"),
        ("A100 80GB", "A100 80GB"),
        ("A100_PCIE", "A100 PCIe"),
        ("A100 SXM4", "A100 SXM"),
        ("A100", "A100"),
        ("H100_SXM5", "H100 SXM"),
        ("H100 SXM", "H100 SXM"),
        ("h100-sxm5-80gb", "H100 SXM"),
        ("NVIDIA H100 PCIe", "H100 PCIe"),
        ("H100 80GB PCIe", "H100 PCIe"),
        ("H200", "H200"),
        ("NVIDIA H200 SXM 141GB", "H200"),
        ("NVIDIA L4", "L4"),
        ("l40s-pcie-48gb", "L40S"),
        ("L40", "L40"),
        ("Tesla T4", "T4"),
        ("Tesla V100-SXM2-16GB", "V100 16GB"),
        ("Tesla V100-SXM2-32GB", "V100 32GB"),
        ("V100-PCIE-32GB", "V100 32GB"),
        ("V100 SXM2", "V100"),
        ("NVIDIA B200", "B200"),
    ];
    for (broker, want) in cases {
        assert_eq!(name(broker), Some(want), "{broker}");
    }
}

#[test]
fn unknown_or_ambiguous_names_are_none() {
    for broker in [
        "",
        "RTX 40900",
        "RTX 4090 D",
        "RTX 4090 48GB",
        "Quadro XYZ",
        "Quadro RTX 6000",
        "RTX 6000",
        "RTX 4090 Max-Q",
        "H100",
        "H100 NVL",
        "H200 NVL",
        "A10G",
        "A100X",
        "A100 64GB",
        "V100S",
        "RTX 3060 Ti",
        "L40 S X",
        "GeForce",
        "NVIDIA",
    ] {
        assert_eq!(name(broker), None, "{broker:?}");
    }
}

#[test]
fn every_simulator_gpu_is_found() {
    // server/src/simulator/catalog.rs: `GPUS` and `BLUE_LOBSTER_GPUS`, then TensorDock's
    // `gpuV0Name`s.
    for broker in [
        "RTX 3060",
        "RTX 4060 Ti",
        "V100",
        "RTX 3090",
        "RTX 4090",
        "RTX A5000",
        "L4",
        "RTX A6000",
        "A40",
        "L40S",
        "A100 PCIE",
        "A100 SXM4",
        "H100 PCIE",
        "H100 SXM5",
        "RTX 2080 Ti",
        "RTX A4000",
        "RTX 5090",
        "v100-sxm2-16gb",
        "geforcertx3090-pcie-24gb",
        "geforcertx4090-pcie-24gb",
        "rtxa5000-pcie-24gb",
        "l4-pcie-24gb",
        "rtxa6000-pcie-48gb",
        "l40s-pcie-48gb",
        "a100-pcie-40gb",
        "a100-sxm4-80gb",
        "h100-sxm5-80gb",
    ] {
        assert!(lookup(broker).is_some(), "{broker}");
    }
    // With the VRAM the simulator gives them, the families find their size.
    let sized = |n, gb| lookup_with_vram(n, gb).map(|g| g.name);
    assert_eq!(sized("V100", 16), Some("V100 16GB"));
    assert_eq!(sized("RTX 3060", 12), Some("RTX 3060 12GB"));
    assert_eq!(sized("RTX 4060 Ti", 16), Some("RTX 4060 Ti 16GB"));
    assert_eq!(sized("A100 PCIE", 40), Some("A100 40GB"));
    assert_eq!(sized("A100 SXM4", 80), Some("A100 80GB SXM"));
    assert_eq!(sized("RTX 4090", 24), Some("RTX 4090"));
    assert_eq!(sized("H100", 80), None, "the VRAM does not choose the form");
}

#[test]
fn every_display_name_finds_its_own_entry() {
    for spec in all() {
        assert_eq!(name(spec.name), Some(spec.name));
    }
}

#[test]
fn compute_capabilities_follow_the_architecture() {
    for spec in all() {
        let (major, minor) = spec.compute_capability;
        let ok = match spec.arch {
            Arch::Volta => (major, minor) == (7, 0),
            Arch::Turing => (major, minor) == (7, 5),
            Arch::Ampere => [(8, 0), (8, 6)].contains(&(major, minor)),
            Arch::Ada => (major, minor) == (8, 9),
            Arch::Hopper => (major, minor) == (9, 0),
            Arch::Blackwell => major == 10 || major == 12,
        };
        assert!(ok, "{}: {:?} {major}.{minor}", spec.name, spec.arch);
    }
    let cc = |n| lookup(n).unwrap().compute_capability;
    assert_eq!(cc("B200"), (10, 0));
    assert_eq!(cc("RTX 5090"), (12, 0));
    assert_eq!(cc("RTX PRO 6000"), (12, 0));
    assert_eq!(cc("V100"), (7, 0));
    assert_eq!(cc("T4"), (7, 5));
    assert_eq!(cc("RTX 2080 Ti"), (7, 5));
    assert_eq!(cc("A100 80GB SXM"), (8, 0));
    assert_eq!(cc("RTX 3090"), (8, 6));
    assert_eq!(cc("A10"), (8, 6));
    assert_eq!(cc("L40S"), (8, 9));
    assert_eq!(cc("H100 PCIe"), (9, 0));
}

#[test]
fn throughput_only_where_the_architecture_has_it() {
    for spec in all() {
        assert!(
            spec.bf16_tflops.is_none() || spec.has_bf16(),
            "{}",
            spec.name
        );
        assert!(spec.fp8_tflops.is_none() || spec.has_fp8(), "{}", spec.name);
        if let (Some(bf16), Some(fp8)) = (spec.bf16_tflops, spec.fp8_tflops) {
            assert!(fp8 > bf16, "{}", spec.name);
        }
    }
}

#[test]
fn decode_estimate_is_bandwidth_over_bytes() {
    let gpu = lookup("RTX 4090").unwrap();
    assert_eq!(gpu.decode_tokens_per_s(1e9), Some(1008.0));
    assert_eq!(gpu.decode_tokens_per_s(0.0), None);
    assert_eq!(gpu.decode_tokens_per_s(f64::NAN), None);
    assert_eq!(lookup("A100").unwrap().decode_tokens_per_s(1e9), None);
}

#[test]
fn arch_serialises_in_snake_case_and_orders_by_generation() {
    assert_eq!(
        serde_json::to_string(&Arch::Blackwell).unwrap(),
        r#""blackwell""#
    );
    assert!(Arch::Volta < Arch::Turing && Arch::Hopper < Arch::Blackwell);
    assert_eq!(Arch::Ada.to_string(), "Ada");
}
