//! The Flux session's hooks for one layer of a layered publish. Each layer
//! publishes to its own sub-target, but Flux's inventory spans all layers'
//! Kustomizations, so the prune gate compares it against every layer's
//! objects, layer by layer (`Gate::Layers`: an object moved to an earlier
//! layer is kept, one moved to a later layer is deleted first), and reads
//! prune annotations from every layer's live files. Only the last layer's
//! switch asks Flux to reconcile; when the last layer did not change, the
//! caller forwards an earlier layer's switch once all are done (`forward`).

use std::sync::{Arc, Mutex};

use super::session::{Gate, Session};
use crate::bundle::{BundleIndex, IndexFile};
use crate::publish::hooks::{CheckFuture, Hooks};
use crate::publish::target::Target;

/// What all layers of one publish share.
pub struct Layers<T: Target> {
    session: Arc<Session<T>>,
    /// Each layer's target and its live files as read before the publish.
    live: Vec<(T, Vec<IndexFile>)>,
    /// Each layer's path under the bucket (`home/crds`) and desired index, in order.
    desired: Vec<(String, BundleIndex)>,
    /// The last generation any layer switched to, and whether the session heard of it.
    switched: Mutex<(Option<u64>, bool)>,
}

impl<T: Target> Layers<T> {
    pub fn new(
        session: Arc<Session<T>>,
        live: Vec<(T, Vec<IndexFile>)>,
        desired: Vec<(String, BundleIndex)>,
    ) -> Arc<Layers<T>> {
        Arc::new(Layers { session, live, desired, switched: Mutex::new((None, false)) })
    }

    /// The hooks of layer `index` (its position in `live`).
    pub fn hooks(self: &Arc<Self>, index: usize) -> Arc<dyn Hooks> {
        Arc::new(LayerHooks { layers: Arc::clone(self), index })
    }

    /// After the last layer: tells the session of a switch it has not heard of.
    pub fn forward(&self) {
        let pending = match self.switched.lock() {
            Ok(mut s) if !s.1 => s.0.inspect(|_| s.1 = true),
            _ => None,
        };
        if let Some(generation) = pending {
            Hooks::switched(&*self.session, generation);
        }
    }
}

struct LayerHooks<T: Target> {
    layers: Arc<Layers<T>>,
    index: usize,
}

impl<T: Target> std::fmt::Debug for Layers<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Layers").field("layers", &self.live.len()).finish_non_exhaustive()
    }
}

impl<T: Target> std::fmt::Debug for LayerHooks<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LayerHooks").field("index", &self.index).finish_non_exhaustive()
    }
}

impl<T: Target> Hooks for LayerHooks<T> {
    fn check<'a>(&'a self, live_files: &'a [IndexFile], _desired: &'a BundleIndex) -> CheckFuture<'a> {
        Box::pin(async move {
            let live: Vec<(&T, &[IndexFile])> = self
                .layers
                .live
                .iter()
                .enumerate()
                .map(|(i, (t, files))| (t, if i == self.index { live_files } else { files.as_slice() }))
                .collect();
            self.layers.session.check_across(&live, Gate::Layers(&self.layers.desired)).await
        })
    }

    fn switched(&self, generation: u64) {
        let last = self.index + 1 == self.layers.live.len();
        if let Ok(mut s) = self.layers.switched.lock() {
            s.0 = Some(generation);
            if last {
                s.1 = true;
            }
        }
        if last {
            Hooks::switched(&*self.layers.session, generation);
        }
    }
}
