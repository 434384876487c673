// The customer's web chat: one websocket per conversation, with REST as the fallback.
// Everything shown is set with textContent: customer and agent text is never parsed as HTML.
(() => {
  "use strict";
  const list = document.getElementById("messages");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const statusLine = document.getElementById("status");
  // One saved conversation per identity: a customer who logs in gets their own, not the guest's.
  const STORAGE = "kefu.conversation." + (new URLSearchParams(location.search).get("customer") || "guest");
  const OWNER_TEXT = {
    bot: "智能助手为您服务 · Assistant",
    queue: "正在为您转接人工客服… · Waiting for an agent",
    agent: "人工客服为您服务 · Agent",
  };
  let conversation = null;
  let socket = null;
  let lastId = "";
  let retryDelay = 500;
  const seen = new Set();

  function newerThan(a, b) {
    if (!b) return true;
    const [am, as] = a.split("-").map(Number);
    const [bm, bs] = b.split("-").map(Number);
    return am > bm || (am === bm && as > bs);
  }

  function setOwner(owner) {
    if (OWNER_TEXT[owner]) statusLine.textContent = OWNER_TEXT[owner];
  }

  function render(message) {
    if (message.id) {
      if (seen.has(message.id)) return;
      seen.add(message.id);
      if (newerThan(message.id, lastId)) lastId = message.id;
    }
    const item = document.createElement("li");
    item.className = "msg " + message.role;
    item.dataset.role = message.role;
    if (message.role === "agent" || message.role === "bot") {
      const who = document.createElement("span");
      who.className = "who";
      who.textContent = message.role === "agent" ? "客服 " + (message.author || "") : "智能助手";
      item.appendChild(who);
    }
    const bubble = document.createElement("div");
    bubble.className = "bubble";
    bubble.textContent = message.text;
    item.appendChild(bubble);
    if (message.buttons && message.buttons.length) {
      const row = document.createElement("div");
      row.className = "buttons";
      for (const b of message.buttons) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = b.title;
        // The chat shows the title the customer chose; the payload is what the bot acts on.
        button.addEventListener("click", () => send(b.title, b.payload));
        row.appendChild(button);
      }
      item.appendChild(row);
    }
    list.appendChild(item);
    list.scrollTop = list.scrollHeight;
  }

  function notice(text) {
    render({ role: "system", text });
  }

  async function startConversation() {
    const saved = localStorage.getItem(STORAGE);
    if (saved) {
      try { return JSON.parse(saved); } catch (e) { localStorage.removeItem(STORAGE); }
    }
    // A shop page that knows its logged-in customer links here with ?customer=ID&sig=SIGNATURE.
    const page = new URLSearchParams(location.search);
    const login = page.get("customer")
      ? { customer_id: page.get("customer"), customer_sig: page.get("sig") || "" }
      : null;
    const response = await fetch("/api/chat/session", login
      ? { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(login) }
      : { method: "POST" });
    const created = await response.json();
    localStorage.setItem(STORAGE, JSON.stringify(created));
    return created;
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const query = new URLSearchParams({
      conversation_id: conversation.conversation_id,
      token: conversation.token,
      after: lastId,
    });
    socket = new WebSocket(`${scheme}//${location.host}/ws/chat?${query}`);
    socket.addEventListener("open", () => { retryDelay = 500; });
    socket.addEventListener("message", (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === "history") {
        frame.messages.forEach(render);
        setOwner(frame.owner);
        if (!frame.messages.length && !list.children.length) {
          render({ role: "bot", text: list.dataset.welcome });
        }
      } else if (frame.type === "message") {
        render(frame.message);
      } else if (frame.type === "queue_position") {
        statusLine.textContent =
          `排队中：您前面还有 ${frame.message.position - 1} 位，预计等待约 ${frame.message.wait_minutes} 分钟 · ` +
          `In line: number ${frame.message.position}, about ${frame.message.wait_minutes} min`;
      } else if (frame.type === "notice") {
        notice(frame.text);
      } else if (frame.owner) {
        setOwner(frame.owner);
      }
      if (frame.type === "ticket_opened") setOwner("queue");
    });
    socket.addEventListener("close", () => {
      statusLine.textContent = "连接已断开，正在重连… · Reconnecting…";
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 10000);
    });
  }

  // A typed message, or a tapped button: its title exactly as offered, with its payload.
  async function send(text, payload = "") {
    const message = payload ? { text, payload } : { text: text.trim() };
    if (!message.text) return;
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "message", ...message }));
      return;
    }
    // The socket is reconnecting: the REST channel still delivers the message.
    const response = await fetch("/api/chat/messages", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ ...conversation, ...message, channel: "web" }),
    });
    const body = await response.json();
    if (!response.ok) { notice(body.message); return; }
    body.messages.forEach(render);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value;
    input.value = "";
    send(text);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  startConversation().then((created) => { conversation = created; connect(); })
    .catch(() => { statusLine.textContent = "暂时无法连接，请稍后刷新 · Cannot connect, please reload"; });
})();
