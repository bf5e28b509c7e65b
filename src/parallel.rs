//! Order-preserving parallel map over a slice, on scoped threads. Rendering
//! and bundling are CPU-bound and independent per app or per file; a thread
//! per core is all they need, so there is no pool and no dependency.

/// Maps `f` over `items` on all cores, keeping the order.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    map_with(items, || (), |(), item| f(item))
}

/// `map`, where each thread first makes a state with `init` that `f` may
/// reuse from item to item (a buffer, say).
pub fn map_with<T: Sync, S, R: Send>(
    items: &[T],
    init: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, &T) -> R + Sync,
) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(items.len().div_ceil(64)).max(1);
    let run = |part: &[T]| {
        let mut state = init();
        part.iter().map(|item| f(&mut state, item)).collect::<Vec<R>>()
    };
    if threads == 1 {
        return run(items);
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items.chunks(chunk).map(|part| scope.spawn(|| run(part))).collect();
        // A worker only panics if `f` does; pass that panic on unchanged.
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    })
}

/// A spawned task that is cancelled when dropped unawaited (a publish of
/// what is live does not wait for the live record it read meanwhile).
pub struct Aborting<T>(pub tokio::task::JoinHandle<T>);

impl<T> Aborting<T> {
    pub async fn join(mut self) -> T {
        match (&mut self.0).await {
            Ok(value) => value,
            Err(join) => std::panic::resume_unwind(join.into_panic()),
        }
    }
}

impl<T> Drop for Aborting<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
