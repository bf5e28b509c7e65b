//! The Flux loop against the in-test fake Kubernetes API server
//! (`tests/common/fake_kube`), driven through the real kube client. The
//! first tests here check the fake itself: that it answers as the real API
//! server does, so the tests of nixflux's trigger, wait and status built on
//! it mean something.

mod common;

#[path = "flux/fake_api.rs"]
mod fake_api;

#[path = "flux/fake_flux.rs"]
mod fake_flux;

#[path = "flux/publish_loop.rs"]
mod publish_loop;

#[path = "flux/status.rs"]
mod status;

#[path = "flux/layers.rs"]
mod layers;

#[path = "flux/notify_watch.rs"]
mod notify_watch;
