//! Where S3 credentials come from, checked before the first request so
//! that a missing or misnamed source is reported as such (exit 2) instead
//! of as a failed connection: the profiles a credentials file has (section
//! and key names only; values are never kept or printed) and an account of
//! the sources the standard chain tried.

use std::path::{Path, PathBuf};

use super::OpenError;

const ACCESS_KEY: &str = "aws_access_key_id";
const SECRET_KEY: &str = "aws_secret_access_key";

/// The section names of an AWS shared credentials file, each with the
/// names of the keys it sets.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Profiles {
    sections: Vec<(String, Vec<String>)>,
}

impl Profiles {
    pub fn parse(text: &str) -> Profiles {
        let mut sections: Vec<(String, Vec<String>)> = Vec::new();
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                sections.push((name.trim().to_owned(), Vec::new()));
            } else if let (Some((key, _)), Some(last)) = (line.split_once('='), sections.last_mut()) {
                last.1.push(key.trim().to_owned());
            }
        }
        Profiles { sections }
    }

    pub fn names(&self) -> Vec<String> {
        self.sections.iter().map(|(n, _)| n.clone()).collect()
    }

    /// `Ok` when `profile` exists and has both keys; else which key is missing
    /// (`None`: the profile itself).
    fn check(&self, profile: &str) -> std::result::Result<(), Option<&'static str>> {
        let (_, keys) = self.sections.iter().find(|(n, _)| n == profile).ok_or(None)?;
        for key in [ACCESS_KEY, SECRET_KEY] {
            if !keys.iter().any(|k| k == key) {
                return Err(Some(key));
            }
        }
        Ok(())
    }
}

/// Checks that `--credentials-file` exists and holds `profile` with both keys.
pub fn check_file(path: &Path, profile: &str) -> std::result::Result<(), OpenError> {
    if !path.is_file() {
        return Err(OpenError::NoCredentialsFile { path: path.to_owned() });
    }
    let text =
        std::fs::read_to_string(path).map_err(|source| OpenError::CredentialsFile { path: path.to_owned(), source })?;
    let profiles = Profiles::parse(&text);
    match profiles.check(profile) {
        Ok(()) => Ok(()),
        Err(None) => Err(OpenError::UnknownProfile {
            path: path.to_owned(),
            profile: profile.to_owned(),
            available: profiles.names(),
        }),
        Err(Some(missing)) => {
            Err(OpenError::IncompleteProfile { path: path.to_owned(), profile: profile.to_owned(), missing })
        }
    }
}

/// The shared credentials file the standard chain reads.
fn default_file() -> Option<PathBuf> {
    if let Some(f) = std::env::var_os("AWS_SHARED_CREDENTIALS_FILE") {
        return Some(PathBuf::from(f));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".aws/credentials"))
}

fn set(var: &str) -> bool {
    std::env::var_os(var).is_some_and(|v| !v.is_empty())
}

/// What the standard chain looked at and found missing, for the message
/// when it found no credentials. Names and states only, never values.
pub fn tried(profile: Option<&str>) -> String {
    let env = match (set("AWS_ACCESS_KEY_ID"), set("AWS_SECRET_ACCESS_KEY")) {
        (false, false) => "not set".to_owned(),
        (true, false) => "`AWS_SECRET_ACCESS_KEY` not set".to_owned(),
        (false, true) => "`AWS_ACCESS_KEY_ID` not set".to_owned(),
        (true, true) => "set".to_owned(),
    };
    let profile = profile
        .map(str::to_owned)
        .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()))
        .unwrap_or_else(|| "default".to_owned());
    let file = match default_file() {
        None => "no file (neither is set, nor `HOME`)".to_owned(),
        Some(f) => match std::fs::read_to_string(&f) {
            Err(_) => format!("`{}` does not exist or cannot be read", f.display()),
            Ok(text) => match Profiles::parse(&text).check(&profile) {
                Ok(()) => format!("`{}` has profile `{profile}`", f.display()),
                Err(None) => format!("`{}` has no profile `{profile}`", f.display()),
                Err(Some(key)) => format!("`{}`: profile `{profile}` has no `{key}`", f.display()),
            },
        },
    };
    format!(
        "`--credentials-file` (not given), `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` ({env}), \
         `AWS_SHARED_CREDENTIALS_FILE`/`~/.aws/credentials` ({file}), profile `{profile}`, \
         then web identity, container and instance metadata credentials (none)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_keep_names_and_never_values() {
        let p = Profiles::parse(
            "# comment\n[default]\naws_access_key_id = AKID\naws_secret_access_key = s3cr3t\n\n[ci]\naws_access_key_id=x\n",
        );
        assert_eq!(p.names(), ["default", "ci"]);
        assert_eq!(p.check("default"), Ok(()));
        assert_eq!(p.check("ci"), Err(Some(SECRET_KEY)));
        assert_eq!(p.check("prod"), Err(None));
        assert!(!format!("{p:?}").contains("s3cr3t"));
    }

    #[test]
    fn unknown_profile_names_the_file_and_its_profiles() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("creds");
        std::fs::write(&f, "[default]\naws_access_key_id = a\naws_secret_access_key = topsecret\n[ci]\n").unwrap();
        let e = check_file(&f, "prod").unwrap_err().to_string();
        assert_eq!(e, format!("credentials file `{}` has no profile `prod`; it has `default`, `ci`", f.display()));
        assert!(!e.contains("topsecret"));
        assert!(check_file(&f, "default").is_ok());
        assert!(check_file(&dir.path().join("absent"), "default").is_err());
    }
}
