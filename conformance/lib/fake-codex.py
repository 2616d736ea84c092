#!/usr/bin/env python3
"""conformance/lib/fake-codex.py PORT LOG [CERT KEY]

A fake ChatGPT Codex endpoint (`https://chatgpt.com/backend-api/codex/responses`) for chat
turns offline: the live test resolves chatgpt.com and api.openai.com to an address that
exists only inside the gateway's own network and mount namespaces and trusts our throw-away CA (NODE_EXTRA_CA_CERTS). Each request
is logged as one JSON line — path, the `chatgpt_account_id` of its bearer JWT (the account
the call really used; the token itself is never logged), the model and the `session_id`
header (the OpenClaw session the call is for: the live test tells a turn's own call from the
gateway's other calls by it, such as 9.6's background embeddings, which use the order's first
profile whatever the chat is pinned to) — and answered with one short streamed Responses reply."""
import base64, json, ssl, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
LOG = sys.argv[2]
def account(auth):
    try:
        tok = auth.split()[1]; p = tok.split(".")[1]; p += "=" * (-len(p) % 4)
        c = json.loads(base64.urlsafe_b64decode(p))
        return c.get("https://api.openai.com/auth", {}).get("chatgpt_account_id")
    except Exception:
        return None
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        if self.headers.get("upgrade", "").lower() == "websocket":
            # no WebSocket transport here: OpenClaw (2026.5.x tries it first) falls back to SSE
            b = b"websocket transport not offered"
            self.send_response(400); self.send_header("content-length", str(len(b)))
            self.send_header("connection", "close"); self.end_headers(); self.wfile.write(b)
            self.close_connection = True
            return
        self.reply_json({"data": []})
    def reply_json(self, v):
        b = json.dumps(v).encode(); self.send_response(200)
        self.send_header("content-type", "application/json"); self.send_header("content-length", str(len(b)))
        self.end_headers(); self.wfile.write(b)
    def do_POST(self):
        n = int(self.headers.get("content-length") or 0); body = self.rfile.read(n) if n else b""
        rec = {"t": time.time(), "path": self.path, "account": account(self.headers.get("authorization", "")),
               "chatgpt-account-id": self.headers.get("chatgpt-account-id"), "model": None}
        model = "gpt-5.5"
        # the body may be compressed (9.6 sends zstd); the model is read when it is plain JSON
        try: model = json.loads(body).get("model", model)
        except Exception: pass
        rec["model"] = model
        rec["session_id"] = self.headers.get("session_id")
        with open(LOG, "a") as f: f.write(json.dumps(rec) + "\n")
        evs = [
            {"type": "response.created", "response": {"id": "resp_1", "object": "response", "status": "in_progress", "model": model, "output": []}},
            {"type": "response.output_item.added", "output_index": 0, "item": {"id": "msg_1", "type": "message", "role": "assistant", "status": "in_progress", "content": []}},
            {"type": "response.content_part.added", "item_id": "msg_1", "output_index": 0, "content_index": 0, "part": {"type": "output_text", "text": ""}},
            {"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": "ok"},
            {"type": "response.output_text.done", "item_id": "msg_1", "output_index": 0, "content_index": 0, "text": "ok"},
            {"type": "response.output_item.done", "output_index": 0, "item": {"id": "msg_1", "type": "message", "role": "assistant", "status": "completed", "content": [{"type": "output_text", "text": "ok", "annotations": []}]}},
            {"type": "response.completed", "response": {"id": "resp_1", "object": "response", "status": "completed", "model": model, "output": [{"id": "msg_1", "type": "message", "role": "assistant", "status": "completed", "content": [{"type": "output_text", "text": "ok", "annotations": []}]}], "usage": {"input_tokens": 5, "output_tokens": 1, "total_tokens": 6}}},
        ]
        out = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in evs).encode()
        self.send_response(200); self.send_header("content-type", "text/event-stream")
        self.send_header("content-length", str(len(out))); self.end_headers(); self.wfile.write(out)
# all addresses of the gateway's private network namespace (loopback and the provider's)
srv = ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), H)
if len(sys.argv) > 4:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[3], sys.argv[4])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
