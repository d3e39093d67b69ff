"""A local OpenAI-compatible stub for the tests: /v1/chat/completions and /v1/embeddings
in the real wire format. Label and summary requests (a system prompt first) get labels
and summaries; an
application's chat (the SDK tests) gets an answer, a tool call, or a stream. Records every request (path, Authorization header, body) as a
JSON line, and behaves as the mode file says: ok, fenced, described, slow, 500, malformed, refusal, 429
(always, Retry-After beyond any timeout), 429once (one 429 with Retry-After 0.2 s), 429=VALUE
(always, with that Retry-After, hostile ones included: -1, 1e30, NaN, inf) or trickle (headers
announcing a large body, then one byte every half second, forever).

python3 ai_stub.py PORT RECORD_FILE MODE_FILE
"""
import json
import random
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, record_file, mode_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
state = {"429once": 0}


def mode():
    try:
        with open(mode_file) as f:
            return f.read().strip() or "ok"
    except FileNotFoundError:
        return "ok"


class Stub(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, payload, headers=None):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(body)
        except BrokenPipeError:  # the client gave up (its timeout): nothing to answer
            pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        with open(record_file, "a") as f:
            f.write(json.dumps({"path": self.path, "authorization": self.headers.get("Authorization"), "body": body}) + "\n")
        m = mode()
        if m == "slow":
            time.sleep(5)
        if m == "500":
            return self.reply(500, {"error": {"message": "internal error"}})
        if m == "429":
            return self.reply(429, {"error": {"message": "rate limited"}}, {"Retry-After": "60"})
        if m.startswith("429="):
            return self.reply(429, {"error": {"message": "rate limited"}}, {"Retry-After": m[4:]})
        if m == "trickle":
            return self.trickle()
        if m == "429once" and state["429once"] == 0:
            state["429once"] = 1
            return self.reply(429, {"error": {"message": "rate limited"}}, {"Retry-After": "0.2"})
        if self.path.endswith("/chat/completions"):
            if m == "malformed":
                return self.reply(200, b'{"choices": [{"message": {"content": "{\\"title\\": oops')
            if m == "refusal":
                return self.reply(200, {"choices": [{"message": {"role": "assistant", "content": None, "refusal": "I cannot help with that."}}]})
            if body["messages"][0].get("role") != "system":
                return self.chat(body)   # an application's call (the SDK tests), not a label request
            if body["messages"][0]["content"].startswith("You summarise one trace"):
                request = body["messages"][1]["content"].splitlines()[0].removeprefix("Request: ")
                summary = {"title": "Stub summary: " + " ".join(request.split()[:5]),
                           "bullets": ["The user asked: " + request[:80], "Stub bullet two"], "notes": []}
                return self.reply(200, {"choices": [{"message": {"role": "assistant", "content": json.dumps(summary)}}]})
            prompt = body["messages"][1]["content"]
            first = next(line[2:] for line in prompt.splitlines() if line.startswith("- "))
            words = [w for w in first.replace("#", " ").split() if w.isalpha()][:4]
            label = {"title": "Requests about " + " ".join(words), "bullets": ["They ask about " + words[0], "Stub bullet two"]}
            content = json.dumps(label)
            if m == "fenced":  # as local models in JSON mode answer: a sentence, then a fence
                content = "Here is the label:\n```json\n" + json.dumps(label, indent=2) + "\n```"
            if m == "described":
                label["description"] = label.pop("bullets")
                content = json.dumps(label)
            return self.reply(200, {"choices": [{"message": {"role": "assistant", "content": content}}]})
        if self.path.endswith("/embeddings"):
            # 8-d vectors that say which input they are for: [length of the text, 1, ...].
            data = [{"object": "embedding", "index": i, "embedding": [float(len(t)), 1.0, 0.5, 0.25, 0.0, 0.0, 0.0, float(i % 3)]}
                    for i, t in enumerate(body["input"])]
            random.shuffle(data)   # the API does not promise order; the index does
            return self.reply(200, {"object": "list", "data": data, "model": body["model"]})
        self.reply(404, {"error": {"message": "no such endpoint"}})


    def trickle(self):
        """A service that answers slower than any timeout: headers, then a byte at a time."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(1 << 30))
        self.end_headers()
        try:
            while True:
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.5)
        except (BrokenPipeError, ConnectionResetError):  # the client cut it off
            pass

    def chat(self, body):
        """An application's chat call: an answer, a tool call when tools are offered, or a
        stream of chunks (with usage last, as OpenAI sends it when asked)."""
        question = body["messages"][-1].get("content") or ""
        usage = {"prompt_tokens": 9 + len(str(question).split()), "completion_tokens": 7, "total_tokens": 16 + len(str(question).split())}
        base = {"id": "chatcmpl-stub", "object": "chat.completion", "created": int(time.time()), "model": body["model"]}
        if body.get("tools") and body["messages"][-1].get("role") != "tool":
            name = body["tools"][0]["function"]["name"]
            call = {"id": "call_1", "type": "function", "function": {"name": name, "arguments": json.dumps({"city": "Paris"})}}
            message = {"role": "assistant", "content": None, "tool_calls": [call]}
            return self.reply(200, {**base, "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}], "usage": usage})
        answer = "Stub answer to: " + str(question)[:60]
        if not body.get("stream"):
            message = {"role": "assistant", "content": answer}
            return self.reply(200, {**base, "choices": [{"index": 0, "message": message, "finish_reason": "stop"}], "usage": usage})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        chunk = {**base, "object": "chat.completion.chunk"}
        words = answer.split(" ")
        for i, word in enumerate(words):
            delta = {"role": "assistant", "content": word} if i == 0 else {"content": " " + word}
            self.wfile.write(b"data: " + json.dumps({**chunk, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}).encode() + b"\n\n")
        self.wfile.write(b"data: " + json.dumps({**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}).encode() + b"\n\n")
        if (body.get("stream_options") or {}).get("include_usage"):
            self.wfile.write(b"data: " + json.dumps({**chunk, "choices": [], "usage": usage}).encode() + b"\n\n")
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


ThreadingHTTPServer(("127.0.0.1", port), Stub).serve_forever()
