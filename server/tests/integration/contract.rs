//! The simulator against the broker's contract, one behaviour per test, each naming the
//! broker source it follows (`acaracappa/cloud-gpu-shopper`, read at e3220c5). Every
//! difference between the simulator and the broker is a bug users would meet first, so
//! these pin status codes, body fields and timing over real loopback HTTP.

use crate::support::{client, eventually, request, sim};
use gdl_model::shopper::{InventoryQuery, Offer, Provider, Session, SessionStatus};
use serde_json::{json, Value};
use server::shopper::ShopperClient;
use server::simulator::SimServer;
use std::time::{Duration, Instant};

/// Raw JSON over HTTP, for bodies the typed client would not show whole.
async fn send(method: reqwest::Method, url: String, body: Option<Value>) -> (u16, Value) {
    let mut req = crate::support::http().request(method, url);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn post(server: &SimServer, path: &str, body: Value) -> (u16, Value) {
    send(
        reqwest::Method::POST,
        format!("{}{path}", server.url()),
        Some(body),
    )
    .await
}

async fn get(server: &SimServer, path: &str) -> (u16, Value) {
    send(
        reqwest::Method::GET,
        format!("{}{path}", server.url()),
        None,
    )
    .await
}

/// The first rentable offer of `provider`.
async fn offer_on(server: &SimServer, c: &ShopperClient, provider: Provider) -> Offer {
    let query = InventoryQuery {
        provider: Some(provider),
        ..Default::default()
    };
    c.inventory_all(&query)
        .await
        .unwrap()
        .into_iter()
        .find(|o| server.simulator().is_rentable(&o.id))
        .expect("a rentable offer")
}

/// A create body for `offer` with `extra` fields merged in.
fn create_body(c: &ShopperClient, offer: &Offer, extra: Value) -> Value {
    let mut body = serde_json::to_value(request(c.consumer_id(), offer)).unwrap();
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    body
}

async fn session_until(c: &ShopperClient, id: &str, done: impl Fn(&Session) -> bool) -> Session {
    eventually(Duration::from_secs(30), || async {
        let s = c.get_session(id).await.unwrap();
        done(&s).then_some(s)
    })
    .await
}

/// `internal/provider/bluelobster/client.go` (`ListOffers`, `ToGPUOffer`) and
/// `internal/api/handlers.go` (`handleListInventory`): Blue Lobster offers are listed and
/// filtered like the others, with its id shape, reliability 0 and confidence 1.0.
#[tokio::test]
async fn blue_lobster_offers_are_listed_with_their_shape() {
    let server = sim(600.0).await;
    let c = client(&server.url());
    let all = c.inventory_all(&InventoryQuery::default()).await.unwrap();
    for provider in [
        Provider::VastAi,
        Provider::TensorDock,
        Provider::BlueLobster,
    ] {
        assert!(
            all.iter().any(|o| o.provider == provider),
            "{provider} listed"
        );
    }
    let (status, body) = get(&server, "/api/v1/inventory?provider=bluelobster").await;
    assert_eq!(status, 200);
    let offers: Vec<Offer> = serde_json::from_value(body["offers"].clone()).unwrap();
    assert!(!offers.is_empty());
    for o in &offers {
        assert_eq!(o.provider, Provider::BlueLobster);
        let parts: Vec<&str> = o.id.split(':').collect();
        assert_eq!((parts.len(), parts[0]), (3, "bluelobster"), "{}", o.id);
        assert_eq!((o.reliability, o.availability_confidence), (0.0, 1.0));
        assert_eq!(o.cuda_version, None);
        assert!(o.vram_gb > 0);
    }
}

/// `internal/provider/bluelobster/client.go` (`CreateInstance` polls the launch task inside
/// the request) and `internal/service/provisioner/service.go` (`BlueLobsterBootDelay`, two
/// SSH successes 5 s apart): the create blocks, answers with the SSH address, and the
/// session runs only after the 60 s boot wait.
#[tokio::test]
async fn a_blue_lobster_create_blocks_then_boots_for_a_minute() {
    let speed = 600.0;
    let server = sim(speed).await;
    let c = client(&server.url());
    let offer = offer_on(&server, &c, Provider::BlueLobster).await;
    let started = Instant::now();
    let created = c
        .create_session(&request(c.consumer_id(), &offer))
        .await
        .unwrap();
    let create_took = started.elapsed();
    assert!(
        create_took >= Duration::from_secs_f64(20.0 / speed),
        "the launch task takes at least 20 s (contract): {create_took:?}"
    );
    let s = created.session;
    assert_eq!(s.status, SessionStatus::Provisioning);
    assert!(s.ssh_host.is_some() && s.ssh_port.is_some(), "{s:?}");
    assert_eq!(s.ssh_user.as_deref(), Some("ubuntu"));
    session_until(&c, &s.id, |s| s.status == SessionStatus::Running).await;
    let booted = started.elapsed() - create_took;
    // Boot wait 60 s, then polls (15 s) until SSH verifies twice, 5 s apart.
    assert!(
        booted >= Duration::from_secs_f64((60.0 + 15.0 + 5.0) / speed),
        "{booted:?}"
    );
}

/// `internal/provider/bluelobster/client.go` (task poll timeout after 5 minutes) and
/// `internal/api/handlers.go` (`classifyProvisionError`: "timeout" reads as `ssh_timeout`):
/// a 500 with `error_type` and `retry_suggested`, the session failed with the text.
#[tokio::test]
async fn a_blue_lobster_task_timeout_is_a_500_that_suggests_a_retry() {
    let server = sim(600.0).await;
    let c = client(&server.url());
    server
        .simulator()
        .update_faults(|f| f.blue_lobster_task_timeouts = 1);
    let offer = offer_on(&server, &c, Provider::BlueLobster).await;
    let (status, body) = post(
        &server,
        "/api/v1/sessions",
        create_body(&c, &offer, json!({})),
    )
    .await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["error_type"], "ssh_timeout");
    assert_eq!(body["retry_suggested"], true);
    let text = body["error"].as_str().unwrap();
    assert!(
        text.contains("task poll timeout after 5m0s (vm_uuid="),
        "{text}"
    );
    assert!(body["request_id"].is_string());
    let failed = c.our_sessions().await.unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].status, SessionStatus::Failed);
    assert!(failed[0]
        .error_text()
        .unwrap()
        .starts_with("provider create failed: bluelobster"));
}

/// `internal/service/provisioner/disk.go` (`EstimateDiskRequirements`, `ValidateDiskSpace`)
/// and `internal/api/handlers.go` (the `insufficient_disk` body): less disk than the model
/// needs is a 400 with the breakdown; the `pending` record it leaves blocks the same
/// consumer and offer (409) until it is deleted; an unset `disk_gb` gets the recommendation.
#[tokio::test]
async fn too_little_disk_is_refused_with_the_brokers_breakdown() {
    let server = sim(600.0).await;
    let c = client(&server.url());
    let offer = offer_on(&server, &c, Provider::VastAi).await;
    let model = json!({"model_id": "Qwen/Qwen2.5-0.5B-Instruct", "disk_gb": 16});
    let (status, body) = post(&server, "/api/v1/sessions", create_body(&c, &offer, model)).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error_type"], "insufficient_disk");
    assert_eq!(
        (
            &body["requested_gb"],
            &body["minimum_gb"],
            &body["recommended_gb"]
        ),
        (&json!(16), &json!(17), &json!(20))
    );
    assert_eq!(body["breakdown"]["model_weight_gb"], 1.0);
    assert_eq!(body["breakdown"]["docker_image_gb"], 10.0);
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains("— breakdown: model weights: 1.0 GB, download buffer: 0.5 GB"));
    // The refused create's record stays pending and blocks a retry on the same offer.
    let stranded = c.our_sessions().await.unwrap();
    assert_eq!(stranded.len(), 1);
    assert_eq!(stranded[0].status, SessionStatus::Pending);
    let enough = json!({"model_id": "Qwen/Qwen2.5-0.5B-Instruct", "disk_gb": 20});
    let (status, body) = post(
        &server,
        "/api/v1/sessions",
        create_body(&c, &offer, enough.clone()),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains(stranded[0].id.as_str()));
    // Deleting it (no instance: at once) clears the way.
    let started = Instant::now();
    c.delete_session(&stranded[0].id).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs_f64(5.0 / 600.0) + Duration::from_millis(500));
    let (status, body) = post(&server, "/api/v1/sessions", create_body(&c, &offer, enough)).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["session"]["disk_gb"], 20);
    // Unset: the broker fills in its recommendation.
    let other = c
        .inventory_all(&InventoryQuery::default())
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.id != offer.id && server.simulator().is_rentable(&o.id))
        .unwrap();
    let unset = json!({"model_id": "meta-llama/Llama-3.1-70B-Instruct"});
    let (status, body) = post(&server, "/api/v1/sessions", create_body(&c, &other, unset)).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["session"]["disk_gb"], 270);
}

/// `internal/api/handlers.go` (`ssh_timeout_minutes` clamped to 1–30) and
/// `internal/service/provisioner/service.go` (the SSH timeout, and the lifecycle's stuck
/// check at 10 minutes from creation): a 2-minute timeout fails the session at 2 minutes;
/// a longer one than the stuck check is cut by it.
#[tokio::test]
async fn the_ssh_timeout_is_honoured_and_the_stuck_check_caps_it() {
    let speed = 60.0;
    let server = sim(speed).await;
    let c = client(&server.url());
    server
        .simulator()
        .update_faults(|f| f.ssh_never_verifies = true);
    let offers = c
        .inventory_all(&InventoryQuery {
            provider: Some(Provider::VastAi),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut rentable = offers
        .into_iter()
        .filter(|o| server.simulator().is_rentable(&o.id));
    let (short, long) = (rentable.next().unwrap(), rentable.next().unwrap());
    let started = Instant::now();
    let a = c
        .create_session(&{
            let mut r = request(c.consumer_id(), &short);
            r.ssh_timeout_minutes = Some(2);
            r
        })
        .await
        .unwrap()
        .session;
    let b = c
        .create_session(&{
            let mut r = request(c.consumer_id(), &long);
            r.ssh_timeout_minutes = Some(99);
            r
        })
        .await
        .unwrap()
        .session;
    let a = session_until(&c, &a.id, |s| s.error_text().is_some()).await;
    assert_eq!(a.error_text(), Some("SSH verification timeout"));
    let took = started.elapsed().as_secs_f64() * speed;
    assert!(
        (120.0..400.0).contains(&took),
        "failed after {took:.0} contract seconds"
    );
    let b = session_until(&c, &b.id, |s| s.error_text().is_some()).await;
    assert_eq!(
        b.error_text(),
        Some("Session stuck in provisioning state - provisioning timeout"),
        "99 minutes is clamped to 30, and the stuck check at 10 comes first"
    );
    assert_eq!(b.status, SessionStatus::Stopped);
}

/// `internal/service/lifecycle/reconciler.go` (`reconcileProvider`, `handleGhost`): a
/// running session whose instance the provider no longer has becomes stopped with the
/// reconciler's text once it is 10 minutes old, with no destroy call.
#[tokio::test]
async fn a_ghost_becomes_stopped_at_reconciliation() {
    let speed = 600.0;
    let server = sim(speed).await;
    let c = client(&server.url());
    let offer = offer_on(&server, &c, Provider::VastAi).await;
    let mut twelve = request(c.consumer_id(), &offer);
    twelve.reservation_hours = 12;
    let s = c.create_session(&twelve).await.unwrap().session;
    let created = Instant::now();
    session_until(&c, &s.id, |s| s.status == SessionStatus::Running).await;
    let vanished = crate::support::http()
        .post(format!("{}/_sim/sessions/{}/vanish", server.url(), s.id))
        .send()
        .await
        .unwrap();
    assert_eq!(vanished.status().as_u16(), 204);
    let ghost = session_until(&c, &s.id, |s| s.status == SessionStatus::Stopped).await;
    assert_eq!(
        ghost.error_text(),
        Some("Instance not found on provider during reconciliation")
    );
    let age = created.elapsed().as_secs_f64() * speed;
    assert!(age >= 600.0, "not before 10 minutes: {age:.0} s");
}

/// `internal/service/provisioner/service.go` (`destroyWithVerification`: ten attempts, 5 s
/// × attempt) and `internal/service/provisioner/errors.go`: a destroy the provider never
/// confirms answers 500 after the attempts and leaves the session stopping; a second
/// DELETE answers at once; the stuck check later stops it.
#[tokio::test]
async fn an_unverified_destroy_is_a_500_and_the_session_stays_stopping() {
    let speed = 600.0;
    let server = sim(speed).await;
    let c = client(&server.url());
    let offer = offer_on(&server, &c, Provider::VastAi).await;
    let s = c
        .create_session(&request(c.consumer_id(), &offer))
        .await
        .unwrap()
        .session;
    session_until(&c, &s.id, |s| s.status == SessionStatus::Running).await;
    server
        .simulator()
        .update_faults(|f| f.unverified_destroys = 1);
    let started = Instant::now();
    let (status, body) = send(
        reqwest::Method::DELETE,
        format!("{}/api/v1/sessions/{}", server.url(), s.id),
        None,
    )
    .await;
    assert_eq!(status, 500, "{body}");
    let text = body["error"].as_str().unwrap();
    assert!(
        text.starts_with(&format!(
            "failed to verify destruction of session {} (provider: ",
            s.id
        )) && text.ends_with(") after 10 attempts"),
        "{text}"
    );
    assert!(started.elapsed().as_secs_f64() * speed >= 275.0);
    assert_eq!(
        c.get_session(&s.id).await.unwrap().status,
        SessionStatus::Stopping
    );
    c.delete_session(&s.id)
        .await
        .expect("stopping: 200 at once");
    let stopped = session_until(&c, &s.id, |s| s.status == SessionStatus::Stopped).await;
    assert_eq!(
        stopped.error_text(),
        Some("Session stuck in stopping state - manual cleanup may be required")
    );
}

/// `internal/api/handlers.go` (`handleGetCosts`) and `internal/service/cost/tracker.go`:
/// the default range is this month, `period=daily` today, a start alone ends at the next
/// month's first day, and a bad date is a 400 naming the format.
#[tokio::test]
async fn cost_ranges_follow_the_broker() {
    let server = sim(600.0).await;
    let today = chrono::Utc::now().date_naive();
    let (_, month) = get(&server, "/api/v1/costs").await;
    let first = today.format("%Y-%m-01T00:00:00Z").to_string();
    assert_eq!(month["period_start"], first);
    let (_, daily) = get(&server, "/api/v1/costs?period=daily").await;
    assert_eq!(
        daily["period_start"],
        today.format("%Y-%m-%dT00:00:00Z").to_string()
    );
    let (_, from) = get(&server, "/api/v1/costs?start_date=2026-02-10").await;
    assert_eq!(
        (&from["period_start"], &from["period_end"]),
        (
            &json!("2026-02-10T00:00:00Z"),
            &json!("2026-03-01T00:00:00Z")
        )
    );
    let (status, bad) = get(&server, "/api/v1/costs?end_date=10-02-2026").await;
    assert_eq!(status, 400);
    assert_eq!(
        bad["error"],
        "invalid end_date format, expected YYYY-MM-DD: 10-02-2026"
    );
}

/// `internal/api/handlers.go` (`handleExtendSession` binds `additional_hours` with
/// `required,min=1,max=12` before looking the session up): the binder's messages.
#[tokio::test]
async fn extend_refuses_bad_hours_in_the_brokers_words() {
    let server = sim(600.0).await;
    let path = "/api/v1/sessions/nope/extend";
    for (body, expected) in [
        (json!({"additional_hours": 0}), "additional_hours is required"),
        (json!({"additional_hours": -2}), "additional_hours must be at least 1"),
        (json!({"additional_hours": 13}), "additional_hours must be at most 12"),
        (
            json!({"additional_hours": "2"}),
            "json: cannot unmarshal string into Go struct field ExtendSessionRequest.additional_hours of type int",
        ),
    ] {
        let (status, reply) = post(&server, path, body).await;
        assert_eq!((status, reply["error"].as_str().unwrap()), (400, expected));
    }
    let (status, reply) = post(&server, path, json!({"additional_hours": 2})).await;
    assert_eq!((status, &reply["error"]), (404, &json!("record not found")));
}

/// `internal/api/handlers.go` (`handleListInventory`, parameters validated in order;
/// `handleCreateSession` binding): the first bad parameter is reported, a page size must
/// be positive, and a typed create field of the wrong JSON type gets Go's decoder text.
#[tokio::test]
async fn bad_parameters_get_the_brokers_messages_in_its_order() {
    let server = sim(600.0).await;
    let (status, reply) = get(&server, "/api/v1/inventory?limit=-1").await;
    assert_eq!(
        (status, reply["error"].as_str().unwrap()),
        (400, "invalid limit: must be positive, got -1")
    );
    let (_, reply) = get(&server, "/api/v1/inventory?limit=0&min_vram=x").await;
    assert_eq!(
        reply["error"],
        "invalid min_vram: must be a valid integer, got \"x\""
    );
    let c = client(&server.url());
    let offer = offer_on(&server, &c, Provider::VastAi).await;
    let (status, reply) = post(
        &server,
        "/api/v1/sessions",
        create_body(&c, &offer, json!({"disk_gb": "x"})),
    )
    .await;
    assert_eq!(
        (status, reply["error"].as_str().unwrap()),
        (400, "json: cannot unmarshal string into Go struct field CreateSessionRequest.disk_gb of type int")
    );
}

/// `internal/service/provisioner/service.go` (`waitForAPIVerifyAsync`: the port is never
/// copied to the session, so the health probe never runs): a broker-launched workload
/// (`launch_mode: entrypoint`) never reaches running and ends after about 10 minutes.
#[tokio::test]
async fn an_entrypoint_session_never_runs_at_the_broker() {
    let speed = 600.0;
    let server = sim(speed).await;
    let c = client(&server.url());
    let offer = offer_on(&server, &c, Provider::VastAi).await;
    let body = create_body(
        &c,
        &offer,
        json!({"launch_mode": "entrypoint", "workload_type": "llm_vllm", "model_id": "Qwen/Qwen2.5-0.5B-Instruct"}),
    );
    let (status, reply) = post(&server, "/api/v1/sessions", body).await;
    assert_eq!(status, 201, "{reply}");
    assert!(
        reply["session"].get("launch_mode").is_none(),
        "never set by the broker"
    );
    let id = reply["session"]["id"].as_str().unwrap().to_owned();
    let started = Instant::now();
    let ended = session_until(&c, &id, |s| s.status.is_terminal()).await;
    assert!(ended.api_endpoint.is_none() && ended.api_port.is_none());
    assert!(
        matches!(
            ended.error_text(),
            Some(
                "API verification timeout"
                    | "Session stuck in provisioning state - provisioning timeout"
            )
        ),
        "{ended:?}"
    );
    assert!(started.elapsed().as_secs_f64() * speed >= 540.0);
}

/// `cmd/server/main.go` (shutdown destroys every active session's instance),
/// `internal/service/lifecycle/startup.go` (`RunStartupSweep`) and `reconciler.go`
/// (`RecoverStuckSessions`): a stopping broker answers 503 on `/ready` while it destroys
/// the instances, leaving the records as they were; nothing listens while it is down; once
/// back, its startup sweep has stopped the provisioning session whose instance is gone, and
/// the running one still reads running (reconciliation finds it later).
#[tokio::test]
async fn a_broker_restart_destroys_every_instance_and_sweeps_provisioning_sessions() {
    let server = sim(50.0).await;
    let c = client(&server.url());
    let query = InventoryQuery {
        provider: Some(Provider::VastAi),
        ..Default::default()
    };
    let offers: Vec<Offer> = c
        .inventory_all(&query)
        .await
        .unwrap()
        .into_iter()
        .filter(|o| server.simulator().is_rentable(&o.id))
        .take(2)
        .collect();
    let running = c
        .create_session(&request(c.consumer_id(), &offers[0]))
        .await
        .unwrap()
        .session;
    let running = session_until(&c, &running.id, |s| s.status == SessionStatus::Running).await;
    let ssh = format!("127.0.0.1:{}", running.ssh_port.unwrap());
    assert!(tokio::net::TcpStream::connect(&ssh).await.is_ok());
    server
        .simulator()
        .update_faults(|f| f.ssh_never_verifies = true);
    let provisioning = c
        .create_session(&request(c.consumer_id(), &offers[1]))
        .await
        .unwrap()
        .session;
    let (status, _) = post(&server, "/_sim/restart", json!({"down_ms": 1500})).await;
    assert_eq!(status, 202);
    let (ready, _) = get(&server, "/ready").await;
    assert_eq!(ready, 503, "not ready while it destroys the instances");
    assert!(
        tokio::net::TcpStream::connect(&ssh).await.is_err(),
        "the running session's instance is gone"
    );
    let http = crate::support::http();
    let health = format!("{}/health", server.url());
    eventually(Duration::from_secs(10), || async {
        http.get(&health).send().await.is_err().then_some(())
    })
    .await;
    eventually(Duration::from_secs(30), || async {
        let r = http
            .get(format!("{}/ready", server.url()))
            .send()
            .await
            .ok()?;
        (r.status() == 200).then_some(())
    })
    .await;
    let swept = c.get_session(&provisioning.id).await.unwrap();
    assert_eq!(swept.status, SessionStatus::Stopped, "{swept:?}");
    assert_eq!(
        c.get_session(&running.id).await.unwrap().status,
        SessionStatus::Running,
        "the record is as it was until reconciliation"
    );
}
