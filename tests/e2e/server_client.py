"""Clients that misbehave or keep sending, for tests/e2e/server.sh.

  slow-body PORT             headers and part of the body, then nothing: prints the status
  slow-headers PORT          half a request line, then nothing: prints when the server hangs up
  inflight PORT KEY UUID S   a valid request whose body takes S seconds to send: prints the status
  steady PORT KEY SECONDS OUT  one event per request for SECONDS, each retried on a non-200
                             answer as SDKs do; writes the uuid of every event answered 200
                             to OUT; prints how many answers of each status it got
"""
import json
import socket
import sys
import time
import uuid


def request_head(port, length, key=None):
    head = f"POST /batch/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n"
    if key:
        head += f"Authorization: Bearer {key}\r\n"
    return (head + "\r\n").encode()


def status_of(sock):
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return "closed"
        data += chunk
    return data.split(b" ")[1].decode()


def event_body(key, event_uuid, trace):
    return json.dumps({"api_key": key, "batch": [{"event": "$ai_generation", "uuid": event_uuid, "distinct_id": "steady",
                                                  "properties": {"$ai_trace_id": trace, "$ai_input": "steady traffic"}}]}).encode()


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "slow-body":
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(request_head(port, 100) + b'{"batch": [')
        started = time.time()
        print(status_of(s), round(time.time() - started))
    elif mode == "slow-headers":
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"POST /batch/ HTTP/1.1\r\nHost: x")
        started = time.time()
        s.settimeout(120)
        got = s.recv(4096)
        print("closed" if not got else got.split(b"\r\n")[0].decode(), round(time.time() - started))
    elif mode == "inflight":
        key, event_uuid, seconds = sys.argv[3], sys.argv[4], float(sys.argv[5])
        body = event_body(key, event_uuid, "inflight")
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(request_head(port, len(body)))
        pieces = 10
        step = len(body) // pieces + 1
        for i in range(0, len(body), step):
            s.sendall(body[i:i + step])
            time.sleep(seconds / pieces)
        print(status_of(s))
    elif mode == "steady":
        key, seconds, out = sys.argv[3], float(sys.argv[4]), sys.argv[5]
        counts, stored = {}, []
        deadline = time.time() + seconds
        import http.client
        while time.time() < deadline:
            event_uuid = str(uuid.uuid4())
            body = event_body(key, event_uuid, "steady")
            while True:
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                    conn.request("POST", "/batch/", body, {"Content-Type": "application/json"})
                    status = conn.getresponse().status
                    conn.close()
                except OSError:
                    status = "refused"
                counts[status] = counts.get(status, 0) + 1
                if status == 200:
                    stored.append(event_uuid)
                    break
                time.sleep(0.2)
            time.sleep(0.02)
        with open(out, "w") as f:
            f.write("\n".join(stored) + "\n")
        print(json.dumps({str(k): v for k, v in sorted(counts.items(), key=str)}))


main()
