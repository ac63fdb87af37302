use super::*;

#[test]
fn the_hubs_answers_are_read() {
    let listed = |gated: Option<&str>, private| HubAnswer::Listed {
        gated: gated.map(str::to_owned),
        private,
    };
    let read = |status, body| read_answer(status, body).unwrap();
    assert_eq!(
        read(
            200,
            r#"{"id":"Qwen/Qwen2.5-0.5B-Instruct","gated":false,"private":false}"#
        ),
        listed(None, false)
    );
    assert_eq!(
        read(
            200,
            r#"{"id":"meta-llama/Llama-3.2-1B-Instruct","gated":"manual"}"#
        ),
        listed(Some("manual"), false)
    );
    assert_eq!(
        read(200, r#"{"gated":"auto","private":true}"#),
        listed(Some("auto"), true)
    );
    assert_eq!(read(200, r#"{"private":true}"#), listed(None, true));
    assert_eq!(read(200, "{}"), listed(None, false), "no field: not gated");
    assert_eq!(read(401, ""), HubAnswer::Refused(401));
    assert_eq!(read(403, "{\"error\":\"x\"}"), HubAnswer::Refused(403));
    assert_eq!(read(404, ""), HubAnswer::NotFound);
    assert!(read_answer(200, "<html>").unwrap_err().contains("not JSON"));
    assert!(read_answer(200, "[1]").is_err());
    assert!(read_answer(200, r#"{"gated":3}"#).is_err());
    assert!(read_answer(502, "").unwrap_err().contains("502"));
}

#[test]
fn gated_or_private_needs_a_token_and_a_mode_that_passes_it() {
    let repo = "meta-llama/Llama-3.2-1B-Instruct";
    let hub = "https://huggingface.co";
    let gated = HubAnswer::Listed {
        gated: Some("manual".into()),
        private: false,
    };
    let judge_it = |answer: &HubAnswer, token, mode| judge(repo, hub, answer, token, mode);
    let no_token = judge_it(&gated, false, DeployMode::Docker).unwrap_err();
    assert_eq!(no_token.code, ErrorCode::ModelGated);
    let hint = no_token.hint.unwrap();
    assert!(
        hint.contains("--hf-token-file")
            && hint.contains("HF_TOKEN")
            && hint.contains("licence")
            && hint.contains("https://huggingface.co/meta-llama/Llama-3.2-1B-Instruct"),
        "{hint}"
    );
    assert!(judge_it(&gated, true, DeployMode::Docker)
        .unwrap()
        .contains("gated (manual)"));
    assert!(judge_it(&gated, true, DeployMode::Pip).is_ok());
    let entrypoint = judge_it(&gated, true, DeployMode::Entrypoint).unwrap_err();
    assert_eq!(entrypoint.code, ErrorCode::ModelGated);
    assert!(entrypoint.hint.unwrap().contains("docker or pip"));
    let private = HubAnswer::Listed {
        gated: None,
        private: true,
    };
    assert!(judge_it(&private, false, DeployMode::Docker)
        .unwrap_err()
        .message
        .contains("private"));
    let open = HubAnswer::Listed {
        gated: None,
        private: false,
    };
    assert!(judge_it(&open, false, DeployMode::Entrypoint).is_ok());
    let refused = HubAnswer::Refused(401);
    assert_eq!(
        judge_it(&refused, false, DeployMode::Docker)
            .unwrap_err()
            .code,
        ErrorCode::ModelGated
    );
    assert_eq!(
        judge_it(&refused, true, DeployMode::Docker)
            .unwrap_err()
            .code,
        ErrorCode::ModelAccessDenied
    );
    assert_eq!(
        judge_it(&HubAnswer::NotFound, true, DeployMode::Docker)
            .unwrap_err()
            .code,
        ErrorCode::UnknownModel
    );
}

#[test]
fn the_hubs_refusal_in_the_engines_log_is_access_denied() {
    let log = "vLLM exited while loading; last log lines:\nhuggingface_hub.errors.GatedRepoError: 401 Client Error. (Request ID: Root=1-abc)\n\nCannot access gated repo for url https://huggingface.co/meta-llama/Llama-3.2-1B-Instruct/resolve/main/config.json.";
    let died = StepError::new(ErrorCode::VllmExited, log);
    let denied = download_refused(died.clone(), false);
    assert_eq!(denied.code, ErrorCode::ModelAccessDenied);
    assert!(denied.message.contains("Cannot access gated repo"));
    assert!(denied.hint.unwrap().contains("--hf-token-file"));
    let with_token = download_refused(died, true);
    assert!(with_token
        .hint
        .unwrap()
        .contains("accept the model's licence"));
    let oom = StepError::new(
        ErrorCode::VllmExited,
        "torch.OutOfMemoryError: CUDA out of memory",
    );
    assert_eq!(download_refused(oom, true).code, ErrorCode::VllmExited);
}

#[tokio::test]
async fn a_hub_that_is_not_there_is_an_error_to_report_not_a_verdict() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let access = HubAccess {
        endpoint: format!("http://127.0.0.1:{port}"),
        ..HubAccess::default()
    };
    let err = ask(&access, "Qwen/Qwen2.5-0.5B-Instruct")
        .await
        .unwrap_err();
    assert_eq!(err, "cannot connect");
}
