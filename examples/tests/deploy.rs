//! The `deploy` example against a real dashboard on the embedded simulator: a test that
//! passes is followed through every step to its benchmark and cleanup (exit 0), one that
//! finds no offer ends with the dashboard's error and code (exit 1), and a dashboard that
//! is not there is said so with a hint (exit 2).

mod common;

use common::{dashboard, data_dir};
use std::process::Output;

async fn deploy(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_deploy"))
            .args(args)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follows_a_test_to_its_end_and_says_why_when_it_fails() {
    let dir = data_dir("deploy");
    let (port, stop, served) = dashboard(&dir, 0).await;
    let base = format!("http://127.0.0.1:{port}");

    let passed = deploy(&[&base, "qwen2.5-0.5b", "5"]).await;
    let out = String::from_utf8_lossy(&passed.stdout);
    let err = String::from_utf8_lossy(&passed.stderr);
    assert_eq!(passed.status.code(), Some(0), "{out}{err}");
    assert!(out.starts_with("started run "), "{out}");
    let steps_passed = out
        .lines()
        .filter(|l| l.starts_with("step ") && l.ends_with(": Complete"))
        .count();
    assert!(steps_passed >= 10, "each step shown as it completed: {out}");
    assert!(out.lines().any(|l| l.starts_with("benchmark ")), "{out}");
    assert!(out.lines().any(|l| l.starts_with("cleanup: ")), "{out}");

    let none = deploy(&[&base, "qwen2.5-0.5b", "0.001"]).await;
    let out = String::from_utf8_lossy(&none.stdout);
    assert_eq!(none.status.code(), Some(1), "{out}");
    assert!(
        out.contains(": Failed") && out.contains("[NoOffers]"),
        "{out}"
    );

    drop(stop);
    let _ = served.await;
    let gone = deploy(&[&base, "qwen2.5-0.5b", "5"]).await;
    let err = String::from_utf8_lossy(&gone.stderr);
    assert_eq!(gone.status.code(), Some(2), "{err}");
    assert!(
        err.contains("cannot reach the dashboard") && err.contains("hint: "),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
