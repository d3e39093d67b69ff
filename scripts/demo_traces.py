"""The demo's sample traffic, sent the way an application would: PostHog's Python SDK
(unchanged) pointed at llm-clusters-server. 600 traces across 6 topics, spread over the
last 6 days: a trace event, a retrieval span for some topics, a tool call (a generation
that calls it, the tool's span, then the answer) for others, with models, tokens,
costs, latencies and some errors.

python3 demo_traces.py SERVER_URL API_KEY
"""
import sys
import uuid
from datetime import datetime, timedelta, timezone

from posthog import Posthog

# topic: (prompts, model, base cost in USD, base latency in s, an error every N-th prompt turn)
TOPICS = [
    (["How do I reset my password?", "I forgot my password and cannot log in",
      "My account is locked after too many attempts", "The password reset email never arrived"],
     "gpt-4o-mini", 0.0002, 0.6, 0),
    (["Translate this product description into French", "Can you put our shop's item text into German?",
      'Translate the label "organic cotton shirt" to Spanish', "I need the Italian version of this product page"],
     "gpt-4o", 0.0015, 1.4, 0),
    (["Write a SQL query that counts orders per customer", "How do I join the orders and customers tables?",
      "My GROUP BY query returns duplicate rows", "Which index speeds up this slow SELECT?"],
     "gpt-4o", 0.0020, 2.1, 9),
    (["Summarise this support ticket for the on-call engineer", "Give me the key points of the customer complaint below",
      "Write a short summary of this email thread", "What is this bug report asking for, in two lines?"],
     "claude-3-5-sonnet", 0.0030, 3.2, 0),
    (["Suggest a healthy dinner recipe with chickpeas", "What can I cook tonight with rice, eggs and spinach?",
      "Give me a vegetarian lunch idea for the week", "A quick breakfast without sugar, please"],
     "gpt-4o-mini", 0.0003, 0.9, 0),
    (["Explain this Python stack trace: KeyError in the nightly job", "Why does my script fail with ModuleNotFoundError?",
      "TypeError: NoneType object is not subscriptable, what does it mean?", "My pytest run crashes with a RecursionError"],
     "o1", 0.0120, 8.5, 4),
]

# Topics whose requests first fetch context, and those whose model calls a tool first.
RETRIEVES = {1, 3}
TOOLS = {2: "run_sql", 5: "run_tests"}

server, key = sys.argv[1:3]
errors = []
posthog = Posthog(key, host=server, gzip=True, flush_at=100, on_error=lambda e, batch: errors.append(str(e)))
now = datetime.now(timezone.utc)
sent = 0


def send(event, i, n, at, properties):
    """One event of trace i; its uuid fixed by (i, n), so re-running sends the same events."""
    global sent
    posthog.capture(event, distinct_id=f"user-{i % 37}", timestamp=at, properties=properties,
                    uuid=str(uuid.uuid5(uuid.NAMESPACE_URL, f"llm_clusters-demo-{i}-{n}")))
    sent += 1


for i in range(1, 601):
    topic = i % 6
    prompts, model, cost, latency, error_every = TOPICS[topic]
    prompt = prompts[(i // 6) % 4] + (" Thanks!" if i % 5 == 0 else "")
    trace = f"trace-{i}"
    start = now - timedelta(hours=i % 144)
    at = start
    messages = [{"role": "system", "content": "You are the assistant of an online shop."}, {"role": "user", "content": prompt}]
    failed = error_every > 0 and (i // 6) % error_every == 0
    usage = {"$ai_model": model, "$ai_input_tokens": 20 + i % 50, "$ai_output_tokens": 40 + i % 200,
             "$ai_total_cost_usd": cost * (1 + (i % 5) / 10), "$ai_latency": latency + (i % 7) / 10}
    if topic in RETRIEVES:
        at += timedelta(seconds=0.3)
        send("$ai_span", i, 1, at, {"$ai_trace_id": trace, "$ai_span_id": f"{trace}-retrieve", "$ai_parent_id": trace,
                                    "$ai_span_name": "retrieve context", "$ai_latency": 0.3})
    if topic in TOOLS and not failed:
        tool = TOOLS[topic]
        at += timedelta(seconds=usage["$ai_latency"] / 2)
        call = {"role": "assistant", "content": None,
                "tool_calls": [{"type": "function", "id": f"call-{i}", "function": {"name": tool, "arguments": "{}"}}]}
        send("$ai_generation", i, 2, at, {"$ai_trace_id": trace, "$ai_span_id": f"{trace}-plan", "$ai_parent_id": trace,
                                          "$ai_input": messages, "$ai_output_choices": [call],
                                          **usage, "$ai_latency": usage["$ai_latency"] / 2})
        at += timedelta(seconds=0.8)
        send("$ai_span", i, 3, at, {"$ai_trace_id": trace, "$ai_span_id": f"{trace}-tool", "$ai_parent_id": trace,
                                    "$ai_span_name": tool, "$ai_latency": 0.8})
        messages = messages + [call, {"role": "tool", "tool_call_id": f"call-{i}", "content": "[3 rows]"}]
    at += timedelta(seconds=usage["$ai_latency"])
    send("$ai_generation", i, 4, at, {
        "$ai_trace_id": trace, "$ai_parent_id": trace, "$ai_input": messages,
        "$ai_output_choices": [{"role": "assistant", "content": "Here you go."}], **usage,
        "$ai_is_error": failed, **({"$ai_error": "the model timed out"} if failed else {})})
    send("$ai_trace", i, 0, at, {"$ai_trace_id": trace, "$ai_span_id": trace, "$ai_span_name": "shop assistant",
                                 "$ai_latency": (at - start).total_seconds()})
posthog.shutdown()
if errors:
    sys.exit("the SDK reported errors: " + "; ".join(errors))
print(f"sent {sent} events (600 traces: spans, tool calls, generations) through PostHog's Python SDK")
