"""PostHog's Python SDK, unchanged, pointed at llm-clusters-server: the OpenAI wrapper
(posthog.ai.openai) around a local OpenAI-compatible stub, with a chat, a stream, a tool
call and its answer, plus a span and a $pageview (which the server acknowledges and does
not store). Writes the uuid and trace of every $ai_* event the SDK sent, one per line.

python3 sdk_python.py SERVER_URL API_KEY STUB_URL SENT_FILE PREFIX [--gzip] [--ai-lane] [--v1]
"""
import json
import sys

from posthog import Posthog
from posthog.ai.openai import OpenAI

server, key, stub, sent_file, prefix = sys.argv[1:6]
flags = set(sys.argv[6:])
sent = []
errors = []


def record(event):
    if event["event"].startswith("$ai_"):
        sent.append({"uuid": event["uuid"], "trace": event["properties"].get("$ai_trace_id")})
    return event


options = dict(host=server, gzip="--gzip" in flags, before_send=record, flush_at=5, max_retries=3,
               on_error=lambda error, batch: errors.append(str(error)))
if "--ai-lane" in flags:
    options["enable_full_ai_capture"] = True
if "--v1" in flags:
    options["capture_mode"] = "v1"
posthog = Posthog(key, **options)
client = OpenAI(api_key="sk-stub", base_url=stub + "/v1", posthog_client=posthog)

client.chat.completions.create(
    model="gpt-4o-mini", messages=[{"role": "user", "content": "How do I reset my password?"}],
    posthog_distinct_id="user-1", posthog_trace_id=prefix + "-chat", posthog_properties={"plan": "pro"})
for _ in client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Write a haiku about autumn"}], stream=True,
        posthog_distinct_id="user-2", posthog_trace_id=prefix + "-stream"):
    pass
tools = [{"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
                                            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
question = [{"role": "user", "content": "What is the weather in Paris?"}]
first = client.chat.completions.create(model="gpt-4o-mini", messages=question, tools=tools,
                                       posthog_distinct_id="user-3", posthog_trace_id=prefix + "-tools")
call = first.choices[0].message.tool_calls[0]
client.chat.completions.create(
    model="gpt-4o-mini", tools=tools,
    messages=question + [first.choices[0].message.model_dump(exclude_none=True),
                         {"role": "tool", "tool_call_id": call.id, "content": json.dumps({"celsius": 12})}],
    posthog_distinct_id="user-3", posthog_trace_id=prefix + "-tools")
posthog.capture("$ai_span", distinct_id="user-3",
                properties={"$ai_trace_id": prefix + "-tools", "$ai_span_name": "lookup weather", "$ai_latency": 0.2})
posthog.capture("$pageview", distinct_id="user-1", properties={"$current_url": "https://example.com"})
posthog.flush()
posthog.shutdown()
with open(sent_file, "w") as f:
    for event in sent:
        f.write(json.dumps(event) + "\n")
if errors:
    sys.exit("the SDK reported errors: " + "; ".join(errors))
print(f"sent {len(sent)} $ai_* events")
