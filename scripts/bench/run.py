"""End-to-end benchmark of llm_clusters.run_job against a Python pipeline doing the same work.

Generates N synthetic generation events (clustered embeddings with noise, cost, latency,
tokens, errors) into a fresh database, times `SELECT llm_clusters.run_job(...)` from the
SQL call to committed results with the backend's peak memory, then runs the same steps in
Python (psycopg read, scikit-learn PCA and k-means with the same k search, umap-learn 2-D
map fitted on a sample, results written back with COPY) on the same rows, and prints both.
Prints numbers; asserts nothing.
"""

import argparse
import struct
import threading
import time
import uuid

import numpy as np
import psycopg


def connect():
    return psycopg.connect(autocommit=True)


def generate(conn, n, dim, n_topics, seed, later=False):
    """Clustered unit vectors: topic centres plus noise, topic sizes from a Zipf-like law.
    Items fall in the 6 days before now, or (later=True) in the minute after now, with new
    ids around the same topics."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_topics, dim)).astype(np.float32)
    weights = 1.0 / np.arange(1, n_topics + 1) ** 0.7
    topic = rng.choice(n_topics, size=n, p=weights / weights.sum())
    now = time.time()
    ids = [str(uuid.UUID(int=int(x) + (2**64 if later else 0))) for x in rng.integers(0, 2**63, size=n)]
    batch = 20_000
    with conn.cursor() as cur:
        with cur.copy(
            "COPY llm_clusters.events (uuid, team_id, event, timestamp, trace_id, content, input_tokens,"
            " output_tokens, total_cost_usd, latency_s, is_error) FROM STDIN"
        ) as copy:
            for i in range(n):
                t = topic[i]
                ts = time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime(now + 60 if later else now - 86400 * 6 * (i / n) - 60))
                copy.write_row((ids[i], 1, "$ai_generation", ts, f"t{i}", f"topic{t} request {i % 97} about subject{t}",
                                int(100 + 10 * t + i % 50), int(50 + i % 30), float(0.0001 * (1 + t)),
                                float(0.2 + 0.05 * t + (i % 10) / 100), bool(i % 50 == 0)))
        # Binary COPY built with numpy: every row has the same layout (uuid text is 36 bytes).
        head = struct.pack("!11sii", b"PGCOPY\n\xff\r\n\x00", 0, 0)
        row_dtype = np.dtype([
            ("nfields", ">i2"), ("team_len", ">i4"), ("team", ">i4"),
            ("level_len", ">i4"), ("level", "S10"), ("id_len", ">i4"), ("id", "S36"),
            ("arr_len", ">i4"), ("ndim", ">i4"), ("hasnull", ">i4"), ("elemtype", ">i4"),
            ("dimsize", ">i4"), ("lbound", ">i4"), ("values", [("len", ">i4"), ("v", ">f4")], (dim,)),
        ])
        with cur.copy("COPY llm_clusters.embeddings (team_id, level, item_id, embedding) FROM STDIN (FORMAT binary)") as copy:
            copy.write(head)
            for start in range(0, n, batch):
                end = min(start + batch, n)
                m = end - start
                vec = centres[topic[start:end]] + 0.9 * rng.standard_normal((m, dim)).astype(np.float32)
                rows = np.zeros(m, dtype=row_dtype)
                rows["nfields"], rows["team_len"], rows["team"] = 4, 4, 1
                rows["level_len"], rows["level"] = 10, b"generation"
                rows["id_len"], rows["id"] = 36, [s.encode() for s in ids[start:end]]
                rows["arr_len"] = 20 + 8 * dim
                rows["ndim"], rows["hasnull"], rows["elemtype"], rows["dimsize"], rows["lbound"] = 1, 0, 700, dim, 1
                rows["values"]["len"] = 4
                rows["values"]["v"] = vec
                copy.write(rows.tobytes())
            copy.write(struct.pack("!h", -1))
        cur.execute("ANALYZE llm_clusters.events")
        cur.execute("ANALYZE llm_clusters.embeddings")


class PeakMemory:
    """Samples a process's private resident memory (RssAnon) until stopped; also reads VmHWM."""

    def __init__(self, pid):
        self.pid, self.peak_anon, self.peak_at, self.running = pid, 0, 0.0, True
        self.start = time.perf_counter()
        self.samples = []
        self.thread = threading.Thread(target=self.poll, daemon=True)
        self.thread.start()

    def status(self):
        with open(f"/proc/{self.pid}/status") as f:
            return {k: int(v.split()[0]) * 1024 for k, v in (line.split(":", 1) for line in f) if v.strip().endswith("kB")}

    def poll(self):
        while self.running:
            anon = self.status().get("RssAnon", 0)
            self.samples.append((time.perf_counter() - self.start, anon))
            if anon > self.peak_anon:
                self.peak_anon, self.peak_at = anon, self.samples[-1][0]
            time.sleep(0.02)

    def stop(self):
        self.running = False
        self.thread.join()
        return self.peak_anon, self.status().get("VmHWM", 0)


def run_rust(n):
    with connect() as conn:
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        job = conn.execute(
            "SELECT llm_clusters.create_job('bench', 'generation', params => jsonb_build_object('max_items', %s::int))",
            (n,),
        ).fetchone()[0]
        mem = PeakMemory(pid)
        start = time.perf_counter()
        run_id = conn.execute("SELECT llm_clusters.run_job(%s)", (job,)).fetchone()[0]
        elapsed = time.perf_counter() - start
        peak_anon, hwm = mem.stop()
        status, n_items, n_clusters, n_outliers, timings, error = conn.execute(
            "SELECT status, n_items, n_clusters, n_outliers, timings, error FROM llm_clusters.runs WHERE id = %s",
            (run_id,),
        ).fetchone()
    return dict(job=job, elapsed=elapsed, peak_anon=peak_anon, hwm=hwm, peak_at=mem.peak_at, samples=mem.samples, status=status, n_items=n_items,
                n_clusters=n_clusters, n_outliers=n_outliers, timings=timings, error=error)


def run_assign_pending(job, n, dim, topics, seed):
    """n new items after the run, placed by assign_pending()."""
    with connect() as conn:
        generate(conn, n, dim, topics, seed, later=True)
        start = time.perf_counter()
        placed = conn.execute("SELECT llm_clusters.assign_pending(%s)", (job,)).fetchone()[0]
        elapsed = time.perf_counter() - start
    print(f"  assign_pending: {placed} new items in {elapsed:.2f} s = {placed / elapsed:,.0f} items/s")


def run_python(seed):
    """The same steps with scikit-learn and umap-learn, reading and writing through psycopg."""
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.metrics import silhouette_score
    import umap

    # umap-learn compiles its numba kernels on first use (~40 s here): warm them up untimed.
    warm = np.random.default_rng(0).standard_normal((300, 50)).astype(np.float32)
    umap.UMAP(n_components=2, random_state=0, n_epochs=10).fit(warm).transform(warm[:50])
    timings = {}
    rng = np.random.default_rng(seed)
    t = time.perf_counter()
    with connect() as conn:
        rows = conn.execute(
            "SELECT item_id, embedding FROM llm_clusters.generation_items"
            " WHERE team_id = 1 AND ts >= now() - interval '7 days' AND ts < now() ORDER BY item_id",
            binary=True,
        ).fetchall()
    ids = [r[0] for r in rows]
    x = np.asarray([r[1] for r in rows], dtype=np.float32)
    del rows
    timings["read"] = time.perf_counter() - t

    t = time.perf_counter()
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    n = len(x)
    pca = PCA(n_components=50, random_state=seed).fit(x[rng.choice(n, min(n, 5000), replace=False)])
    reduced = pca.transform(x).astype(np.float32)
    timings["reduce"] = time.perf_counter() - t

    t = time.perf_counter()
    sample = reduced[rng.choice(n, min(n, 1500), replace=False)]
    candidates = []
    for k in range(2, 31):
        labels = KMeans(k, n_init=3, random_state=seed).fit_predict(sample)
        largest = np.bincount(labels).max() / len(sample)
        candidates.append((k, silhouette_score(sample, labels), largest))
    guarded = [c for c in candidates if c[2] <= 0.5] or candidates
    top = max(c[1] for c in guarded)
    k = next(c[0] for c in guarded if c[1] >= top - 0.1 * abs(top))
    model = KMeans(k, n_init=3, random_state=seed).fit(reduced[rng.choice(n, min(n, 20000), replace=False)])
    labels = model.predict(reduced)
    centroids = np.stack([x[labels == c].mean(axis=0) for c in range(k)])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    distance = 1.0 - np.einsum("ij,ij->i", x, centroids[labels])
    for c in range(k):
        d = distance[labels == c]
        med = np.median(d)
        radius = med + 3.5 * 1.4826 * np.median(np.abs(d - med))
        labels[(labels == c) & (distance > radius)] = -1
    timings["cluster"] = time.perf_counter() - t

    t = time.perf_counter()
    fit_idx = rng.choice(n, min(n, 10000), replace=False)
    mapper = umap.UMAP(n_components=2, random_state=seed, n_epochs=200).fit(reduced[fit_idx])
    coords = mapper.transform(reduced) if n > len(fit_idx) else mapper.embedding_
    timings["project"] = time.perf_counter() - t

    t = time.perf_counter()
    with connect() as conn, conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE py_assignments (item_id text, cluster_id int, x float8, y float8, distance float8)")
        with cur.copy("COPY py_assignments FROM STDIN") as copy:
            for i in range(n):
                copy.write_row((ids[i], int(labels[i]), float(coords[i, 0]), float(coords[i, 1]), float(distance[i])))
    timings["write"] = time.perf_counter() - t
    return dict(elapsed=sum(timings.values()), timings=timings, n_clusters=k, n_outliers=int((labels < 0).sum()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--dim", type=int, required=True)
    ap.add_argument("--topics", type=int, default=20)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--python", action="store_true", help="also run the Python pipeline")
    ap.add_argument("--assign", type=int, default=0, help="then place this many new items with assign_pending()")
    args = ap.parse_args()
    with connect() as conn:
        conn.execute("DROP EXTENSION IF EXISTS llm_clusters CASCADE")
        conn.execute("CREATE EXTENSION llm_clusters")
        t = time.perf_counter()
        generate(conn, args.n, args.dim, args.topics, args.seed)
        gen = time.perf_counter() - t
    raw = args.n * args.dim * 4
    print(f"\n{args.n} items x {args.dim} dims (raw float32 {raw / 2**20:.0f} MiB), generated in {gen:.1f} s")
    r = run_rust(args.n)
    phases = ", ".join(f"{k} {v:.2f}" for k, v in sorted(r["timings"].items(), key=lambda kv: -kv[1]))
    print(f"  run_job: {r['elapsed']:.2f} s ({r['status']}, {r['n_items']} items, {r['n_clusters']} clusters, "
          f"{r['n_outliers']} outliers); phases s: {phases}")
    print(f"  backend peak private memory {r['peak_anon'] / 2**20:.0f} MiB = {r['peak_anon'] / raw:.2f}x raw "
          f"at {r['peak_at']:.1f} s (VmHWM incl. shared buffers {r['hwm'] / 2**20:.0f} MiB)")
    if r["error"]:
        print(f"  error: {r['error']}")
    if args.assign:
        run_assign_pending(r["job"], args.assign, args.dim, args.topics, args.seed)
    if args.python:
        p = run_python(args.seed)
        phases = ", ".join(f"{k} {v:.2f}" for k, v in p["timings"].items())
        print(f"  python (psycopg + scikit-learn + umap-learn): {p['elapsed']:.2f} s ({p['n_clusters']} clusters, "
              f"{p['n_outliers']} outliers); phases s: {phases}")
        print(f"  python / run_job = {p['elapsed'] / r['elapsed']:.1f}x")


if __name__ == "__main__":
    main()
