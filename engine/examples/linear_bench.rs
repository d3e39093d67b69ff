//! Speed of the built-in model's f32 kernel (`embedder::linear`, which the model's linear
//! maps run through) against matrixmultiply's sgemm (ndarray's products) on the model's
//! three shapes, in GFLOP/s of the calling thread's CPU time (so that a busy machine
//! changes little), one thread. Prints numbers, asserts nothing.
//!
//! cargo run --release -p llm_clusters_engine --example linear_bench -- [ROWS] [REPEATS]

use llm_clusters_engine::embedder::linear::linear;
use ndarray::Array2;

/// Seconds of CPU time of the calling thread.
fn thread_cpu() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a plain libc call writing the timespec owned by this frame.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

fn main() {
    let arg = |i: usize, default: usize| std::env::args().nth(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (rows, repeats) = (arg(1, 1024), arg(2, 20));
    // Query/key/value and attention output; the intermediate map; the output map.
    for (inputs, outputs) in [(384usize, 384usize), (384, 1536), (1536, 384)] {
        let x: Vec<f32> = (0..rows * inputs).map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5).collect();
        let w: Vec<f32> = (0..outputs * inputs).map(|i| ((i * 104_729) % 1000) as f32 / 1000.0 - 0.5).collect();
        let bias = vec![0.1f32; outputs];
        let mut out = vec![0.0f32; rows * outputs];
        let t = thread_cpu();
        for _ in 0..repeats {
            linear(&x, &w, &bias, inputs, &mut out, outputs);
        }
        let ours = thread_cpu() - t;
        let (xa, wa) = (
            Array2::from_shape_vec((rows, inputs), x).expect("shape"),
            Array2::from_shape_vec((outputs, inputs), w).expect("shape"),
        );
        let mut product = Array2::<f32>::zeros((rows, outputs));
        let t = thread_cpu();
        for _ in 0..repeats {
            ndarray::linalg::general_mat_mul(1.0, &xa, &wa.t(), 0.0, &mut product);
        }
        let sgemm = thread_cpu() - t;
        let flop = 2.0 * (rows * inputs * outputs * repeats) as f64;
        println!(
            "{rows} x {inputs} -> {outputs}: embedder::linear {:.1} GFLOP/s, matrixmultiply {:.1} GFLOP/s",
            flop / ours / 1e9,
            flop / sgemm / 1e9
        );
    }
}
