//! An app's `helm` → the chart's Flux source (a HelmRepository, or an
//! OCIRepository for a chart in an OCI registry) and a HelmRelease in the
//! app's namespace, with its values as JSON and images written into them
//! at the value paths the app names (`helm_values.rs`). The checks: the
//! repository URL's scheme, an exact chart version unless a range is
//! allowed, Flux's duration pattern, Helm's release name limit.

use crate::crd::flux::{
    ChartRefKind, ChartReference, ChartSourceKind, ChartSourceReference, CrdsPolicy, HelmChartTemplate,
    HelmChartTemplateSpec, HelmRelease, HelmReleaseSpec, HelmRepository, HelmRepositorySpec, HelmRepositoryType,
    Install, LayerOperation, LayerSelector, LocalObjectReference, OCIRepository, OCIRepositorySpec, OciReference,
    Upgrade, ValuesKind, ValuesReference,
};
use crate::spec::helm::{is_exact_version, is_flux_duration};
use crate::spec::names::is_dns1123_subdomain;
use crate::spec::{Helm, HelmCrds, HelmSourceKind, HelmValuesKind, JsonPath, Problem};

use super::context::AppContext;
use super::images::{ImageMap, ImageUse};
use super::manifest::Manifest;

/// The media type of a Helm chart's layer in an OCI artifact.
pub const HELM_CHART_LAYER: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
/// Helm refuses release names longer than this.
const MAX_RELEASE_NAME: usize = 53;

/// The app's chart objects (none without `helm`): its source, then the
/// HelmRelease. Problems carry the path of the field at fault.
pub fn render(
    cx: &AppContext,
    images: &ImageMap,
    uses: &mut Vec<ImageUse>,
    problems: &mut Vec<Problem>,
) -> Vec<Manifest> {
    let Some(helm) = &cx.app.helm else { return Vec::new() };
    let at = cx.at.key("helm");
    check(cx, helm, &at, problems);
    let kind = source_kind(helm);
    if kind == HelmSourceKind::OciRepository && !helm.repository.starts_with("oci://") {
        problems.push(
            Problem::new(at.key("sourceKind"), format!("an `OCIRepository` needs an `oci://` repository, not `{}`", helm.repository))
                .with_hint("drop `sourceKind` (a `https://` repository is a `HelmRepository`), or give the chart's `oci://` registry"),
        );
    }
    let name = cx.name.as_str();
    let source = match kind {
        HelmSourceKind::HelmRepository => Manifest::new(helm_repository(cx, helm), at.key("repository")),
        HelmSourceKind::OciRepository => Manifest::new(oci_repository(cx, helm), at.key("repository")),
    };
    let mut release = HelmRelease::new(name, release_spec(helm, kind, name));
    release.metadata = cx.meta(name);
    let object = Manifest::new(release.clone(), at.clone()).id();
    let values = super::helm_values::values(cx.spec, images, helm, &at, &object, uses, problems);
    release.spec.values = (!values.is_empty()).then_some(values);
    vec![source, Manifest::new(release, at)]
}

/// `sourceKind`, or what the repository's scheme implies.
fn source_kind(helm: &Helm) -> HelmSourceKind {
    helm.source_kind.unwrap_or(if helm.repository.starts_with("oci://") {
        HelmSourceKind::OciRepository
    } else {
        HelmSourceKind::HelmRepository
    })
}

fn check(cx: &AppContext, helm: &Helm, at: &JsonPath, problems: &mut Vec<Problem>) {
    let mut bad = |path: JsonPath, msg: String, hint: &str| {
        let p = Problem::new(path, msg);
        problems.push(if hint.is_empty() { p } else { p.with_hint(hint) });
    };
    let url = &helm.repository;
    let scheme_ok =
        ["https://", "http://", "oci://"].iter().any(|s| url.strip_prefix(s).is_some_and(|rest| !rest.is_empty()));
    if !scheme_ok || url.chars().any(char::is_whitespace) {
        bad(
            at.key("repository"),
            format!("`{url}` is not a chart repository URL"),
            "write `https://…` for a chart repository (its `index.yaml`), or `oci://registry/path` for charts in an OCI registry",
        );
    }
    let chart = &helm.chart;
    if chart.is_empty() || chart.contains('/') || chart.chars().any(char::is_whitespace) {
        bad(
            at.key("chart"),
            format!("`{chart}` is not a chart name"),
            "write the chart's name alone (`grafana`); the repository goes into `repository`",
        );
    }
    let version = &helm.version;
    if version.is_empty() {
        bad(at.key("version"), "the chart version is empty".into(), "pin an exact version, such as `1.2.3`");
    } else if !helm.allow_version_range && !is_exact_version(version) {
        bad(
            at.key("version"),
            format!("chart version `{version}` is not an exact version: a range lets the chart change while the spec stays the same"),
            "pin an exact SemVer version (`1.2.3`, `v1.2.3`), or set `allowVersionRange: true`",
        );
    }
    for (field, value) in [
        ("interval", Some(&helm.interval)),
        ("repositoryInterval", Some(&helm.repository_interval)),
        ("timeout", helm.timeout.as_ref()),
    ] {
        if let Some(v) = value.filter(|v| !is_flux_duration(v)) {
            bad(
                at.key(field),
                format!("`{v}` is not a duration Flux reads"),
                "write numbers with `ms`, `s`, `m` or `h`, like `10m` or `1h30m`",
            );
        }
    }
    let release = helm.release_name.as_deref().unwrap_or(cx.name.as_str());
    if release.len() > MAX_RELEASE_NAME || !is_dns1123_subdomain(release) || release.contains('.') {
        let path = if helm.release_name.is_some() { at.key("releaseName") } else { at.clone() };
        bad(
            path,
            format!("release name `{release}` is not one Helm accepts: at most {MAX_RELEASE_NAME} lowercase letters, digits and `-`"),
            "set `releaseName` to a shorter name",
        );
    }
    let secrets = helm.secret_ref.iter().map(|s| (at.key("secretRef"), s));
    let from = helm.values_from.iter().enumerate().map(|(i, v)| (at.key("valuesFrom").index(i).key("name"), &v.name));
    for (path, name) in secrets.chain(from) {
        if !is_dns1123_subdomain(name) {
            bad(
                path,
                format!("`{name}` is not a valid object name"),
                "a Secret or ConfigMap name is a lowercase DNS subdomain",
            );
        }
    }
}

fn secret_ref(helm: &Helm) -> Option<LocalObjectReference> {
    helm.secret_ref.as_ref().map(|name| LocalObjectReference { name: name.clone() })
}

fn helm_repository(cx: &AppContext, helm: &Helm) -> HelmRepository {
    let mut repo = HelmRepository::new(
        cx.name.as_str(),
        HelmRepositorySpec {
            url: helm.repository.clone(),
            type_: helm.repository.starts_with("oci://").then_some(HelmRepositoryType::Oci),
            interval: Some(helm.repository_interval.clone()),
            secret_ref: secret_ref(helm),
            ..Default::default()
        },
    );
    repo.metadata = cx.meta(cx.name.as_str());
    repo
}

fn oci_repository(cx: &AppContext, helm: &Helm) -> OCIRepository {
    // OCI tags cannot hold `+`: Helm pushes `1.2.3+build` as `1.2.3_build`.
    let reference = if helm.allow_version_range && !is_exact_version(&helm.version) {
        OciReference { semver: Some(helm.version.clone()), ..Default::default() }
    } else {
        OciReference { tag: Some(helm.version.replace('+', "_")), ..Default::default() }
    };
    let mut repo = OCIRepository::new(
        cx.name.as_str(),
        OCIRepositorySpec {
            url: format!("{}/{}", helm.repository.trim_end_matches('/'), helm.chart),
            interval: helm.repository_interval.clone(),
            reference: Some(reference),
            layer_selector: Some(LayerSelector {
                media_type: Some(HELM_CHART_LAYER.into()),
                operation: Some(LayerOperation::Copy),
            }),
            secret_ref: secret_ref(helm),
            ..Default::default()
        },
    );
    repo.metadata = cx.meta(cx.name.as_str());
    repo
}

fn release_spec(helm: &Helm, kind: HelmSourceKind, name: &str) -> HelmReleaseSpec {
    let (chart, chart_ref) = match kind {
        HelmSourceKind::HelmRepository => (
            Some(HelmChartTemplate {
                metadata: None,
                spec: HelmChartTemplateSpec {
                    chart: helm.chart.clone(),
                    version: Some(helm.version.clone()),
                    source_ref: ChartSourceReference {
                        kind: ChartSourceKind::HelmRepository,
                        name: name.to_owned(),
                        ..Default::default()
                    },
                    ..Default::default()
                },
            }),
            None,
        ),
        HelmSourceKind::OciRepository => (
            None,
            Some(ChartReference { kind: ChartRefKind::OciRepository, name: name.to_owned(), ..Default::default() }),
        ),
    };
    let crds = helm.crds.map(|c| match c {
        HelmCrds::Skip => CrdsPolicy::Skip,
        HelmCrds::Create => CrdsPolicy::Create,
        HelmCrds::CreateReplace => CrdsPolicy::CreateReplace,
    });
    HelmReleaseSpec {
        interval: helm.interval.clone(),
        chart,
        chart_ref,
        release_name: helm.release_name.clone(),
        timeout: helm.timeout.clone(),
        install: crds.map(|c| Install { crds: Some(c), ..Default::default() }),
        upgrade: crds.map(|c| Upgrade { crds: Some(c), ..Default::default() }),
        values_from: helm
            .values_from
            .iter()
            .map(|v| ValuesReference {
                kind: match v.kind {
                    HelmValuesKind::Secret => ValuesKind::Secret,
                    HelmValuesKind::ConfigMap => ValuesKind::ConfigMap,
                },
                name: v.name.clone(),
                values_key: v.values_key.clone(),
                target_path: v.target_path.clone(),
                optional: v.optional.then_some(true),
                literal: None,
            })
            .collect(),
        ..Default::default()
    }
}
