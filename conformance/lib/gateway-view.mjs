// node gateway-view.mjs PORT TOKEN [AGENT] -> the gateway's openai profileOrder, as JSON.
// An independent client (Node's own WebSocket), as OpenClaw's CLI connects: wait for the
// challenge, `connect` as an operator, then `models.authStatus` without refresh.
const [port, token, agent = "main"] = process.argv.slice(2);
const ws = new WebSocket(`ws://127.0.0.1:${port}`);
const timer = setTimeout(() => { console.log("timeout"); process.exit(1); }, 10000);
ws.onmessage = (m) => {
  const f = JSON.parse(m.data);
  if (f.type === "event" && f.event === "connect.challenge") {
    ws.send(JSON.stringify({ type: "req", id: "c1", method: "connect", params: {
      minProtocol: 3, maxProtocol: 4, client: { id: "cli", version: "conformance", platform: "linux", mode: "cli" },
      auth: { token }, role: "operator", scopes: ["operator.admin"] } }));
  } else if (f.id === "c1") {
    if (!f.ok) { console.log(JSON.stringify(f.error)); process.exit(1); }
    ws.send(JSON.stringify({ type: "req", id: "r1", method: "models.authStatus", params: { agentId: agent } }));
  } else if (f.id === "r1") {
    const p = (f.payload?.providers ?? []).find((x) => x.provider === "openai");
    console.log(JSON.stringify(p?.profileOrder ?? null));
    clearTimeout(timer);
    ws.close();
  }
};
ws.onerror = (e) => { console.log("error " + e.message); process.exit(1); };
