//! Order-preserving parallel map over a slice, on scoped threads. Rendering
//! and bundling are CPU-bound and independent per app or per file; a thread
//! per core is all they need, so there is no pool and no dependency.

/// Maps `f` over `items` on all cores, keeping the order.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(items.len().div_ceil(64)).max(1);
    if threads == 1 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> =
            items.chunks(chunk).map(|part| scope.spawn(|| part.iter().map(&f).collect::<Vec<R>>())).collect();
        // A worker only panics if `f` does; pass that panic on unchanged.
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    })
}

/// Frees `value` on a thread of its own: a large tree of small allocations
/// (a bundle's index, rendered objects) takes milliseconds to free, which
/// whatever comes next need not wait for. A process that exits first
/// leaves it to the kernel.
pub fn drop_aside<T: Send + 'static>(value: T) {
    std::thread::spawn(move || drop(value));
}
