use super::*;

#[test]
fn serve_defaults_and_flags() {
    let cli = Cli::try_parse_from(["gpu-deploy-llm", "serve"]).unwrap();
    let Command::Serve(args) = cli.command else {
        panic!("serve")
    };
    assert_eq!(args.addr.to_string(), "127.0.0.1:8081");
    assert_eq!(args.calls.ready_timeout.as_secs(), 120);
    let cli = Cli::try_parse_from([
        "gpu-deploy-llm",
        "serve",
        "--addr",
        "127.0.0.1:9999",
        "--shopper-url",
        "http://127.0.0.1:8080",
        "--data-dir",
        "/tmp/x",
        "--sim-speed",
        "50",
    ])
    .unwrap();
    let Command::Serve(args) = cli.command else {
        panic!("serve")
    };
    assert_eq!(
        args.broker.shopper_url.as_deref(),
        Some("http://127.0.0.1:8080")
    );
    assert_eq!(args.broker.resolved_data_dir(), PathBuf::from("/tmp/x"));
    assert_eq!(args.broker.sim_speed, 50.0);
}

#[test]
fn bad_speed_is_refused() {
    let err = Cli::try_parse_from(["gpu-deploy-llm", "simulate", "--speed", "0"]).unwrap_err();
    assert!(err.to_string().contains("expected a positive number"));
}
