"""The demo's traffic (scripts/demo_traces.py, same seed) as a labelled text set, without
PostgreSQL or PostHog's SDK: one line per conversation, {"text", "label"}, the text
rendered as the extension renders a trace ("user: ..." and "assistant: ..." lines), the
label the intent's name (null for the outliers). For measuring offline titles on the
demo with the engine's `evaluate` example:

python3 scripts/demo_requests.py > DIR/demo.jsonl
"""
import json
import os
import random
import sys
import types

# demo_traces imports PostHog's SDK at the top; nothing here sends anything.
sys.modules.setdefault("posthog", types.SimpleNamespace(Posthog=None))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import demo_traces  # noqa: E402


def main():
    traffic = demo_traces.Traffic(demo_traces.SEED)
    answers = random.Random(demo_traces.SEED)
    for name, turns, chosen in traffic.conversations():
        intent = demo_traces.INTENTS.get(name)
        lines = []
        for turn in turns:
            lines.append(f"user: {turn}")
            if intent:
                lines.append("assistant: " + answers.choice(intent.answers).format_map(demo_traces.Default(chosen)))
        print(json.dumps({"text": "\n".join(lines), "label": name}))


if __name__ == "__main__":
    main()
