//! An app with a `schedule`: a CronJob (batch/v1) running the app's pod,
//! built by the same pod-template builder as a Deployment (`workload.rs`),
//! so it has the same defaults, volumes, secrets and checks.

use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::spec::{CronSchedule, JobOptions};

use super::context::AppContext;

pub fn cron_job(cx: &AppContext, schedule: &CronSchedule, template: PodTemplateSpec) -> CronJob {
    let defaults = JobOptions::default();
    let job = cx.app.job.as_ref().unwrap_or(&defaults);
    CronJob {
        metadata: cx.meta(cx.name.as_str()),
        spec: Some(CronJobSpec {
            schedule: schedule.to_string(),
            time_zone: job.time_zone.clone(),
            concurrency_policy: Some(job.concurrency_policy.as_str().to_owned()),
            successful_jobs_history_limit: Some(job.successful_jobs_history_limit),
            failed_jobs_history_limit: Some(job.failed_jobs_history_limit),
            starting_deadline_seconds: job.starting_deadline_seconds,
            suspend: Some(job.suspend),
            job_template: JobTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(cx.labels()), ..Default::default() }),
                spec: Some(JobSpec {
                    backoff_limit: job.backoff_limit,
                    active_deadline_seconds: job.active_deadline_seconds,
                    template,
                    ..Default::default()
                }),
            },
        }),
        status: None,
    }
}

/// The restart policy of the CronJob's pods.
pub fn restart_policy(cx: &AppContext) -> &'static str {
    cx.app.job.as_ref().map_or_else(|| JobOptions::default().restart_policy, |j| j.restart_policy).as_str()
}
