//! The 2-D map: UMAP laid out from the sampled graph, and the mean positions of groups.

use super::communities::{RestNeighbours, SampledGraph};
use super::groups::cluster_sizes;
use super::params::Params;
use super::umap::{self, Umap, UmapParams};
use crate::error::{EngineError, ErrorKind, Result};
use ndarray::{Array2, ArrayView2, Axis};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// The sample's layout, fitted in a thread of its own from the moment the sample's graph
/// exists: the fit is single-threaded and needs nothing else, so it shares the cores with
/// the clustering instead of following it. Its result is the same as a fit in the calling
/// thread. Dropped before `finish`, it stops the fit and waits for the thread.
pub(super) struct PendingMap {
    params: UmapParams,
    fit: Option<JoinHandle<Result<Umap>>>,
    stop: Arc<AtomicBool>,
}

/// Starts the layout of `graph`'s sample.
pub(super) fn start(graph: &SampledGraph, params: &Params) -> PendingMap {
    let up = UmapParams { n_components: 2, seed: params.seed, n_epochs: params.map_epochs, ..Default::default() };
    let stop = Arc::new(AtomicBool::new(false));
    let (sel, edges, fit_params, stopped) = (graph.sel.clone(), graph.edges.clone(), up.clone(), stop.clone());
    // The thread blocks every signal (a backend's signals are its own thread's) and never
    // calls into PostgreSQL: the caller checks for cancels while it waits in `finish`.
    let fit = crate::threads::spawn("llm_clusters-map", move || {
        let stopped = || {
            if stopped.load(Ordering::Relaxed) {
                Err(EngineError::new(ErrorKind::Cancelled, "the map was stopped"))
            } else {
                Ok(())
            }
        };
        umap::fit_graph(sel.view(), edges, &fit_params, &stopped)
    });
    // No thread to be had: `finish` fits in the calling thread.
    PendingMap { params: up, fit: fit.ok(), stop }
}

impl PendingMap {
    /// The map of every row of `x`: the layout of `graph`'s sample (the graph `start` was
    /// given), and the other rows placed from their nearest sampled rows (`rest`, in ascending row order, when the clustering
    /// found them; otherwise found here). `check` is called while the fit is awaited.
    pub(super) fn finish(
        mut self,
        x: ArrayView2<f32>,
        graph: &SampledGraph,
        rest: Option<&RestNeighbours>,
        check: &dyn Fn() -> Result<()>,
    ) -> Result<Array2<f32>> {
        let layout = match self.fit.take() {
            Some(fit) => {
                while !fit.is_finished() {
                    if let Err(e) = check() {
                        self.fit = Some(fit);
                        return Err(e);
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                fit.join().map_err(|_| EngineError::new(ErrorKind::Internal, "the map's thread panicked"))??
            }
            None => umap::fit_graph(graph.sel.view(), graph.edges.clone(), &self.params, check)?,
        };
        let n = x.nrows();
        let mut out = Array2::zeros((n, 2));
        let mut in_sample = vec![false; n];
        for (p, &i) in graph.rows.iter().enumerate() {
            out.row_mut(i).assign(&layout.embedding.row(p));
            in_sample[i] = true;
        }
        let others: Vec<usize> = (0..n).filter(|&i| !in_sample[i]).collect();
        for (c, chunk) in others.chunks(20_000).enumerate() {
            let placed = match rest {
                // The clustering's neighbours of these rows, found among the same sample.
                Some(rest) => {
                    let (nn, nd) = rest.rows(c * 20_000..c * 20_000 + chunk.len());
                    layout.place(&nn, &nd)
                }
                None => layout.transform(graph.sel.view(), x.select(Axis(0), chunk).view(), self.params.n_neighbors),
            };
            for (p, &i) in chunk.iter().enumerate() {
                out.row_mut(i).assign(&placed.row(p));
            }
            check()?;
        }
        Ok(out)
    }
}

impl Drop for PendingMap {
    fn drop(&mut self) {
        if let Some(fit) = self.fit.take() {
            self.stop.store(true, Ordering::Relaxed);
            let _ = fit.join();
        }
    }
}

/// Mean map position of each group's items (groups 0..k; -1 left out).
pub(super) fn mean_coords(coords: &[[f32; 2]], labels: &[i32], k: usize) -> Vec<[f32; 2]> {
    let sizes = cluster_sizes(labels, k);
    let mut out = vec![[0.0f32; 2]; k];
    for (l, c) in labels.iter().zip(coords) {
        if *l >= 0 {
            let o = &mut out[*l as usize];
            o[0] += c[0] / sizes[*l as usize] as f32;
            o[1] += c[1] / sizes[*l as usize] as f32;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::communities::sampled_graph;
    use super::super::fixtures::planted;
    use super::*;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    fn graph_of(rows: usize, params: &Params) -> (Array2<f32>, SampledGraph) {
        let x = Array2::from_shape_vec((rows, 8), planted(4, rows / 4, 8, 0.3, 1)).unwrap();
        let graph = sampled_graph(x.view(), params, &mut Xoshiro256PlusPlus::seed_from_u64(7));
        (x, graph)
    }

    #[test]
    fn the_map_fitted_in_its_thread_is_the_map_fitted_in_the_callers() {
        // A sample smaller than the rows: the others are placed, by transform here.
        let params = Params { map_sample: 300, map_epochs: 60, ..Params::default() };
        let (x, graph) = graph_of(800, &params);
        let ok = || Ok(());
        let threaded = start(&graph, &params).finish(x.view(), &graph, None, &ok).unwrap();
        let pending = start(&graph, &params);
        let in_caller =
            PendingMap { params: pending.params.clone(), fit: None, stop: Arc::new(AtomicBool::new(false)) };
        drop(pending);
        assert_eq!(threaded, in_caller.finish(x.view(), &graph, None, &ok).unwrap());
        assert_eq!(threaded.nrows(), 800);
    }

    #[test]
    fn a_cancel_while_the_map_is_awaited_stops_its_thread() {
        // Epochs enough for hours: only the stop ends the fit (and the test).
        let params = Params { map_epochs: 50_000_000, ..Params::default() };
        let (x, graph) = graph_of(400, &params);
        let cancelled = || Err(EngineError::new(ErrorKind::Cancelled, "cancelled"));
        let err = start(&graph, &params).finish(x.view(), &graph, None, &cancelled).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Cancelled);
        // Dropped unfinished (an error elsewhere in the run): stopped as well.
        drop(start(&graph, &params));
    }
}
