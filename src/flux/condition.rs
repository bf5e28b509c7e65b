//! A condition as `nixflux status` shows it: Flux's conditions and a
//! Deployment's, in one shape (type, status, reason, message, when it
//! last changed).

use k8s_openapi::api::apps::v1::DeploymentCondition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConditionState {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    pub reason: String,
    pub message: String,
    /// RFC 3339; empty when the writer left it out.
    pub last_transition_time: String,
}

impl ConditionState {
    /// A Flux condition (`metav1.Condition`).
    pub fn of(c: &Condition) -> ConditionState {
        ConditionState {
            type_: c.type_.clone(),
            status: c.status.clone(),
            reason: c.reason.clone(),
            message: c.message.clone(),
            last_transition_time: c.last_transition_time.0.to_string(),
        }
    }

    /// A Deployment's condition, whose reason, message and time are optional.
    pub fn of_deployment(c: &DeploymentCondition) -> ConditionState {
        ConditionState {
            type_: c.type_.clone(),
            status: c.status.clone(),
            reason: c.reason.clone().unwrap_or_default(),
            message: c.message.clone().unwrap_or_default(),
            last_transition_time: c.last_transition_time.as_ref().map(|t| t.0.to_string()).unwrap_or_default(),
        }
    }
}
