//! The SSH host against a real OpenSSH server on loopback, started here with its own host
//! key, a PKCS#1 client key (as the broker issues) and shims for nvidia-smi, docker and
//! curl on its PATH: connect, exec, timeouts, streamed output, diagnostics parsing, port
//! forwarding, and a benchmark through the tunnel against a local streaming server.

use gdl_model::secret::SshPrivateKey;
use server::runner::host::{HostError, RemoteHost};
use server::runner::loadgen::{self, Target};
use server::runner::ssh::{SshAddress, SshHost};
use server::runner::steps::diagnose::diagnose;
use server::simulator::llm::{LlmProfile, SimLlm};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

struct Sshd {
    child: Child,
    port: u16,
    dir: PathBuf,
    key: SshPrivateKey,
    user: String,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn write_exec(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn keygen(args: &[&str]) {
    let out = crate::process::output_within(
        Command::new("ssh-keygen").args(args),
        Duration::from_secs(60),
    );
    assert!(out.status.success(), "ssh-keygen: {}", out.stderr);
}

/// A 2048-bit RSA key in PKCS#1 PEM (the broker's format) at `path`, no passphrase.
fn rsa_pem_key(path: &str) {
    keygen(&[
        "-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "", "-f", path,
    ]);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether `child` (sshd) came to answer on `port` with OpenSSH's banner within 30 s.
async fn openssh_listens(child: &mut Child, port: u16) -> bool {
    use tokio::io::AsyncReadExt;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            let mut banner = [0u8; 64];
            let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut banner)).await;
            let n = read.ok().and_then(Result::ok).unwrap_or(0);
            return String::from_utf8_lossy(&banner[..n]).contains("OpenSSH");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

async fn start_sshd() -> Sshd {
    start_sshd_with(true).await
}

/// An sshd that allows port forwarding or not.
async fn start_sshd_with(forwarding: bool) -> Sshd {
    let sshd = Path::new("/usr/sbin/sshd");
    assert!(
        sshd.exists(),
        "OpenSSH server missing: run scripts/setup.sh --test (installs openssh-server)"
    );
    let dir = std::env::temp_dir().join(format!("gdl-sshd-{}", uuid::Uuid::new_v4()));
    let shims = dir.join("shims");
    std::fs::create_dir_all(&shims).unwrap();
    let d = |name: &str| dir.join(name).to_string_lossy().into_owned();
    rsa_pem_key(&d("client_key"));
    keygen(&["-q", "-t", "ed25519", "-N", "", "-f", &d("host_key")]);
    std::fs::copy(dir.join("client_key.pub"), dir.join("authorized_keys")).unwrap();
    write_exec(&shims.join("nvidia-smi"), "#!/bin/sh\ncase \"$*\" in\n  *--query-gpu*) printf 'NVIDIA GeForce RTX 4090, 24564, 1, 550.54.15, 41, 0\\nNVIDIA GeForce RTX 4090, 24564, 1, 550.54.15, 39, 3\\n' ;;\n  *) echo '| NVIDIA-SMI 550.54.15   Driver Version: 550.54.15   CUDA Version: 12.4     |' ;;\nesac\n");
    write_exec(&shims.join("docker"), "#!/bin/sh\ncase \"$1\" in\n  --version) echo 'Docker version 24.0.7, build afdd53b' ;;\n  pull) for p in 10 50 100; do echo \"layer a1b2: ${p}%\"; sleep 0.05; done; echo 'Status: Downloaded newer image' ;;\n  *) echo \"docker shim: $*\" >&2; exit 1 ;;\nesac\n");
    // Tests reach loopback only: the host's internet check answers "unreachable".
    write_exec(&shims.join("curl"), "#!/bin/sh\nprintf 000\nexit 7\n");
    let user =
        crate::process::output_within(Command::new("id").arg("-un"), Duration::from_secs(10))
            .stdout
            .trim()
            .to_owned();
    let _ = std::fs::create_dir_all("/run/sshd");
    // A port picked now may be taken before sshd binds it: then sshd exits, or another
    // server answers; either way, try another port.
    let mut launched = None;
    for _ in 0..5 {
        let port = free_port();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {host}\nAuthorizedKeysFile {auth}\nPidFile {pid}\nStrictModes no\nUsePAM no\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\nPermitRootLogin prohibit-password\n\
             AllowTcpForwarding {forwarding}\nSetEnv PATH={shims}:/usr/local/bin:/usr/bin:/bin\nLogLevel FATAL\n",
            host = d("host_key"),
            auth = d("authorized_keys"),
            pid = d("sshd.pid"),
            shims = shims.display(),
            forwarding = if forwarding { "yes" } else { "no" },
        );
        std::fs::write(dir.join("sshd_config"), config).unwrap();
        let mut child = Command::new(sshd)
            .args(["-D", "-e", "-f", &d("sshd_config")])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("sshd starts");
        if openssh_listens(&mut child, port).await {
            launched = Some((child, port));
            break;
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    let (child, port) = launched.expect("sshd listens on a free loopback port");
    let key = SshPrivateKey::new(std::fs::read_to_string(dir.join("client_key")).unwrap());
    assert!(
        key.expose_pem()
            .starts_with("-----BEGIN RSA PRIVATE KEY-----"),
        "a PKCS#1 key, like the broker's"
    );
    Sshd {
        child,
        port,
        dir,
        key,
        user,
    }
}

fn address(sshd: &Sshd) -> SshAddress {
    SshAddress {
        host: "127.0.0.1".into(),
        port: sshd.port,
        user: sshd.user.clone(),
    }
}

async fn connect(sshd: &Sshd) -> SshHost {
    SshHost::connect(
        &address(sshd),
        &sshd.key,
        Duration::from_secs(10),
        &Default::default(),
    )
    .await
    .expect("logs in with the key")
}

#[tokio::test]
async fn exec_with_exit_codes_stderr_and_timeouts() {
    let sshd = start_sshd().await;
    let host = connect(&sshd).await;
    let out = host
        .exec("echo hello; echo oops >&2; exit 3", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(out.stdout, "hello\n");
    assert_eq!(out.stderr, "oops\n");
    assert_eq!(out.exit_code, 3);
    let err = host
        .exec("sleep 5", Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(matches!(err, HostError::CommandTimeout(..)), "{err}");
    let lines = Mutex::new(Vec::new());
    let on_line = |l: &str| lines.lock().unwrap().push(l.to_owned());
    let pulled = host
        .exec_streaming(
            "docker pull vllm/vllm-openai:v0.6.4",
            Duration::from_secs(10),
            &on_line,
        )
        .await
        .unwrap();
    assert_eq!(pulled.exit_code, 0);
    assert_eq!(
        lines.into_inner().unwrap(),
        vec![
            "layer a1b2: 10%",
            "layer a1b2: 50%",
            "layer a1b2: 100%",
            "Status: Downloaded newer image"
        ]
    );
}

#[tokio::test]
async fn a_wrong_key_is_refused() {
    let sshd = start_sshd().await;
    let other = std::env::temp_dir().join(format!("gdl-other-{}", uuid::Uuid::new_v4()));
    rsa_pem_key(&other.to_string_lossy());
    let wrong = SshPrivateKey::new(std::fs::read_to_string(&other).unwrap());
    let _ = std::fs::remove_file(&other);
    let _ = std::fs::remove_file(other.with_extension("pub"));
    let err = SshHost::connect(
        &address(&sshd),
        &wrong,
        Duration::from_secs(10),
        &Default::default(),
    )
    .await
    .err()
    .unwrap();
    assert!(matches!(err, HostError::AuthRefused { .. }), "{err}");
    assert!(
        err.to_string().contains("refused the session's key"),
        "{err}"
    );
    let garbage = SshPrivateKey::new(
        "-----BEGIN RSA PRIVATE KEY-----\nnot a key\n-----END RSA PRIVATE KEY-----\n".into(),
    );
    let err = SshHost::connect(
        &address(&sshd),
        &garbage,
        Duration::from_secs(10),
        &Default::default(),
    )
    .await
    .err()
    .unwrap();
    assert!(matches!(err, HostError::KeyInvalid(_)), "{err}");
    assert!(
        err.to_string().contains("not a valid OpenSSH/PEM key"),
        "{err}"
    );
}

#[tokio::test]
async fn diagnostics_parse_the_hosts_real_output() {
    let sshd = start_sshd().await;
    let host = connect(&sshd).await;
    let lines = Mutex::new(Vec::new());
    let log = |l: &str| lines.lock().unwrap().push(l.to_owned());
    let report = diagnose(&host, &log).await.unwrap();
    assert_eq!(report.gpus.len(), 2);
    assert_eq!(report.gpus[0].name, "RTX 4090");
    assert_eq!(report.gpus[1].temperature_c, Some(39));
    assert_eq!(report.cuda_version.as_deref(), Some("12.4"));
    assert_eq!(report.docker_version.as_deref(), Some("24.0.7"));
    assert!(
        report.python_version.as_deref().unwrap().starts_with('3'),
        "the machine's real python3"
    );
    assert!(report.disk_free_gb.unwrap() > 0.0 && report.ram_total_gb.unwrap() > 0.0);
    assert_eq!(
        report.internet, None,
        "the curl shim fails: unknown, not a crash"
    );
    assert!(!report.hostname.is_empty() && !report.kernel.is_empty());
    assert!(lines
        .into_inner()
        .unwrap()
        .iter()
        .any(|l| l.starts_with("GPU RTX 4090")));
}

#[tokio::test]
async fn benchmark_through_the_tunnel() {
    let sshd = start_sshd().await;
    let host = connect(&sshd).await;
    let llm = SimLlm::start(
        LlmProfile::for_hardware("qwen2.5-0.5b", "RTX 4090", 1, "tunnel-key".into()),
        0,
    )
    .unwrap();
    let local = host.forward(llm.addr().port()).await.unwrap();
    let http = crate::support::http();
    let target = Target {
        base_url: format!("http://{local}"),
        api_key: zeroize::Zeroizing::new("tunnel-key".into()),
        model: "qwen2.5-0.5b".into(),
    };
    let health = http
        .get(format!("{}/health", target.base_url))
        .send()
        .await
        .unwrap();
    assert!(health.status().is_success());
    let (matching, total, _) = loadgen::quality(&http, &target).await;
    assert_eq!((matching, total), (4, 4));
    let engine = server::bench::Engine {
        http,
        target,
        workload: server::bench::Workload::synthetic(32, 32),
        slo: Default::default(),
        price_per_hour: Some(0.4),
        sent: Default::default(),
    };
    let (metrics, samples) = engine.level(3, 6).await;
    assert_eq!(metrics.completed, 6, "{samples:?}");
    assert!(metrics.ttft_ms.p50 > 0.0 && metrics.tpot_ms.p50 > 0.0 && metrics.itl_ms.count > 100);
}

#[tokio::test]
async fn the_tunnel_is_sshds_forwarding() {
    // The same forward against an sshd that refuses forwarding carries nothing: the
    // benchmark above went through the SSH channel, not around it.
    let sshd = start_sshd_with(false).await;
    let host = connect(&sshd).await;
    let llm = SimLlm::start(
        LlmProfile::for_hardware("qwen2.5-0.5b", "RTX 4090", 1, "tunnel-key".into()),
        0,
    )
    .unwrap();
    let reached = match host.forward(llm.addr().port()).await {
        Err(_) => false,
        Ok(local) => crate::support::http()
            .get(format!("http://{local}/health"))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success()),
    };
    assert!(
        !reached,
        "nothing reaches the model server without sshd forwarding"
    );
}

/// Secrets go to the host as standard input (never in a command line): real OpenSSH passes
/// the channel's data and end of file on, `umask 077` makes the file private, and the
/// shell's `.` under `set -a` hands the values to a child's environment, where `ps` does
/// not show them.
#[tokio::test]
async fn standard_input_carries_secrets_into_a_private_file_and_the_environment() {
    let sshd = start_sshd().await;
    let host = connect(&sshd).await;
    let file = sshd.dir.join("engine.env");
    let file = file.display();
    let secret = "hf_RealSshdToken0123456789";
    let input = format!("VLLM_API_KEY=k0123\nHF_TOKEN={secret}\n");
    let limit = Duration::from_secs(10);
    let wrote = host
        .exec_with_input(
            &format!("umask 077 && cat > {file}"),
            input.as_bytes(),
            limit,
        )
        .await
        .unwrap();
    assert_eq!(wrote.exit_code, 0, "{wrote:?}");
    let mode = host
        .exec(&format!("stat -c %a {file}"), limit)
        .await
        .unwrap();
    assert_eq!(mode.stdout, "600\n");
    assert_eq!(
        host.exec(&format!("cat {file}"), limit)
            .await
            .unwrap()
            .stdout,
        input
    );
    // A child started after `set -a; . FILE` has the token in its environment; the
    // process list shows its arguments only.
    let started = host
        .exec(
            &format!("set -a; . {file} || exit 1; set +a; nohup sh -c 'printf %s \"$HF_TOKEN\" > {file}.seen; sleep 3' > /dev/null 2>&1 &"),
            limit,
        )
        .await
        .unwrap();
    assert_eq!(started.exit_code, 0, "{started:?}");
    let ps = host.exec("ps -eo args", limit).await.unwrap().stdout;
    assert!(ps.contains("sleep 3"), "the child runs: {ps}");
    assert!(!ps.contains(secret), "{ps}");
    let seen = crate::support::eventually(limit, || async {
        let out = host.exec(&format!("cat {file}.seen"), limit).await.ok()?;
        (!out.stdout.is_empty()).then_some(out.stdout)
    })
    .await;
    assert_eq!(seen, secret, "the child's environment had the token");
    // Without input, a command that reads none still ends.
    let plain = host.exec("echo done", limit).await.unwrap();
    assert_eq!(plain.stdout, "done\n");
}
