"""The demo's traffic generator (scripts/demo_traces.py) without a server: the events it
would send are recorded and checked for the shape the demo promises (Zipf-sized intents,
many phrasings, multi-turn traces, well-formed tool calls and failures, long inputs, slow
calls) and for being the same on every run.

python3 tests/demo_traffic_test.py   (with PostHog's Python SDK importable: $SDK_HOME/venv)
"""
import importlib.util
import unittest
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

spec = importlib.util.spec_from_file_location("demo_traces", Path(__file__).parent.parent / "scripts" / "demo_traces.py")
demo = importlib.util.module_from_spec(spec)
spec.loader.exec_module(demo)

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)


class Recorder:
    """Stands in for the SDK's client: keeps what would be sent."""

    def __init__(self):
        self.events = []

    def capture(self, event, distinct_id, timestamp, properties, uuid):
        self.events.append({"event": event, "distinct_id": distinct_id, "timestamp": timestamp,
                            "properties": properties, "uuid": uuid})


def generate():
    traffic = demo.Traffic(demo.SEED)
    conversations = traffic.conversations()
    recorder = Recorder()
    sender = demo.Sender(recorder, traffic, NOW)
    for number, (name, turns, chosen) in enumerate(conversations, start=1):
        sender.trace(number, name, turns, chosen)
    return conversations, recorder.events


class DemoTraffic(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.conversations, cls.events = generate()
        cls.generations = [e for e in cls.events if e["event"] == "$ai_generation"]
        cls.by_trace = defaultdict(list)
        for e in cls.events:
            cls.by_trace[e["properties"]["$ai_trace_id"]].append(e)

    def test_same_events_on_every_run(self):
        self.assertEqual(generate(), (self.conversations, self.events))

    def test_size_and_identity(self):
        self.assertTrue(1500 <= len(self.generations) <= 3000, len(self.generations))
        self.assertEqual(len({e["uuid"] for e in self.events}), len(self.events))
        traces = Counter(e["properties"]["$ai_trace_id"] for e in self.events if e["event"] == "$ai_trace")
        self.assertEqual(set(traces.values()), {1})
        self.assertEqual(set(traces), set(self.by_trace))
        for e in self.events:
            self.assertTrue(NOW - timedelta(days=demo.DAYS) <= e["timestamp"] <= NOW + timedelta(hours=1))

    def test_zipf_sizes_and_phrasings(self):
        sizes = Counter(name for name, _, _ in self.conversations if name)
        ordered = [sizes[name] for name in demo.INTENTS]
        self.assertEqual(ordered, sorted(ordered, reverse=True))
        self.assertGreaterEqual(ordered[0] / ordered[-1], 20)
        self.assertEqual(sum(1 for name, _, _ in self.conversations if name is None), len(demo.OUTLIERS))
        first_requests = {turns[0] for _, turns, _ in self.conversations}
        self.assertGreaterEqual(len(first_requests), 500)
        # Intents in other languages are named with theirs: "pedido (es)".
        foreign = [(name, turns[0]) for name, turns, _ in self.conversations if name and name.endswith(")")]
        self.assertGreaterEqual(len({name[-3:-1] for name, _ in foreign}), 4)
        self.assertGreaterEqual(len({request for _, request in foreign}), 40)

    def test_conversations_of_several_turns(self):
        turns = Counter(sum(1 for e in events if e["event"] == "$ai_generation") for events in self.by_trace.values())
        for n in range(1, 6):
            self.assertGreater(turns[n], 10, f"traces with {n} generations: {turns}")
        for events in self.by_trace.values():
            calls = [e["properties"] for e in events if e["event"] == "$ai_generation"]
            for earlier, later in zip(calls, calls[1:]):
                before, after = earlier["$ai_input"], later["$ai_input"]
                self.assertEqual(after[:len(before)], before, "a call's input carries the conversation so far")
                retry = earlier.get("$ai_http_status") == 429
                self.assertEqual(len(after) > len(before), not retry, "the next turn, or the same call retried")

    def test_tool_calls(self):
        calls = [e for e in self.generations if e["properties"].get("$ai_stop_reason") == "tool_calls"]
        self.assertGreater(len(calls), 100)
        for e in calls:
            p = e["properties"]
            called = [c["function"]["name"] for c in p["$ai_output_choices"][0]["tool_calls"]]
            offered = [t["function"]["name"] for t in p["$ai_tools"]]
            self.assertTrue(set(called) <= set(offered))
            spans = [s for s in self.by_trace[p["$ai_trace_id"]] if s["event"] == "$ai_span"
                     and s["properties"]["$ai_span_name"] in called]
            self.assertEqual(len(spans), 1, "the tool's span follows its call")

    def test_failures_slow_calls_and_long_inputs(self):
        failed = [e for e in self.generations if e["properties"].get("$ai_is_error")]
        self.assertTrue(20 <= len(failed) <= 0.1 * len(self.generations), len(failed))
        for e in failed:
            p = e["properties"]
            self.assertGreaterEqual(p["$ai_http_status"], 400)
            self.assertTrue(p["$ai_error"])
            self.assertNotIn("$ai_output_choices", p)
            if p["$ai_http_status"] == 429:
                retried = [g for g in self.by_trace[p["$ai_trace_id"]] if g["event"] == "$ai_generation"
                           and g["timestamp"] > e["timestamp"] and g["properties"]["$ai_input"] == p["$ai_input"]]
                self.assertTrue(retried, "a rate-limited call is retried")
        self.assertTrue(any(e["event"] == "$ai_span" and e["properties"].get("$ai_is_error") for e in self.events))
        self.assertGreaterEqual(sum(1 for e in self.generations if e["properties"]["$ai_latency"] > 20), 10)
        long_inputs = {t for _, turns, _ in self.conversations for t in turns[:1] if len(t) > 3000}
        self.assertGreaterEqual(len(long_inputs), 5)
        costs = {e["properties"]["$ai_total_cost_usd"] for e in self.generations}
        self.assertGreater(len(costs), 500, "costs vary with model and tokens")


if __name__ == "__main__":
    unittest.main()
