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
  // Messages typed but not yet acknowledged by the server, oldest first: kept across reloads
  // and sent again (with the same id, so the server takes each once) until acknowledged.
  const OUTBOX = STORAGE + ".outbox";
  let outbox = [];
  const bubbles = new Map(); // sent id -> the customer's bubble for it
  let flushTimer = null;

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
    // The server's copy of a message this page sent: the bubble is already there.
    if (message.sent_id && bubbles.has(message.sent_id)) {
      delivered(message.sent_id);
      return;
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
    return item;
  }

  function saveOutbox() {
    localStorage.setItem(OUTBOX, JSON.stringify(outbox.map(({ id, text, payload }) => ({ id, text, payload }))));
  }

  function waiting(message) {
    const item = render({ role: "customer", text: message.text });
    item.classList.add("waiting");
    const label = document.createElement("span");
    label.className = "state";
    label.textContent = "等待发送… · Waiting to send";
    item.appendChild(label);
    bubbles.set(message.id, item);
  }

  // The server has the message: it is answered (or with a person) whatever happens next.
  function delivered(id) {
    outbox = outbox.filter((m) => m.id !== id);
    saveOutbox();
    const item = bubbles.get(id);
    if (item) {
      item.classList.remove("waiting");
      const label = item.querySelector(".state");
      if (label) label.remove();
    }
  }

  // Refused for good (empty, too long, a stale button): the server's notice says why.
  function refused(id, text) {
    outbox = outbox.filter((m) => m.id !== id);
    saveOutbox();
    const item = bubbles.get(id);
    if (item) {
      item.classList.replace("waiting", "refused");
      const label = item.querySelector(".state");
      if (label) label.textContent = "未发送 · Not sent";
    }
    if (text) notice(text);
  }

  function newId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function scheduleFlush(delay) {
    if (flushTimer === null) flushTimer = setTimeout(() => { flushTimer = null; flush(); }, delay);
  }

  // Send the unacknowledged messages one at a time, oldest first (a message is sent once the
  // one before it is acknowledged, so they arrive in the order they were typed): on the
  // socket when it is open, else over REST. What fails stays in the outbox and goes again.
  async function flush() {
    if (!conversation) return;
    for (const message of outbox) {
      if (message.inFlight) return;
      const frame = message.payload
        ? { type: "message", id: message.id, text: message.text, payload: message.payload }
        : { type: "message", id: message.id, text: message.text };
      if (socket && socket.readyState === WebSocket.OPEN) {
        message.inFlight = true;
        socket.send(JSON.stringify(frame));
        return; // the next goes on this one's acknowledgement
      }
      message.inFlight = true;
      try {
        const response = await fetch("/api/chat/messages", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ ...conversation, ...frame, channel: "web" }),
        });
        const body = await response.json();
        if (response.ok) {
          delivered(message.id);
          body.messages.forEach(render);
        } else if (response.status >= 500) {
          message.inFlight = false;
          scheduleFlush(3000);
          return;
        } else {
          refused(message.id, body.message);
        }
      } catch (error) {
        message.inFlight = false; // the server is unreachable: keep it, try again
        scheduleFlush(3000);
        return;
      }
    }
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
    socket.addEventListener("open", () => {
      retryDelay = 500;
      for (const message of outbox) message.inFlight = false;
      flush();
    });
    socket.addEventListener("message", (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === "history") {
        frame.messages.forEach(render);
        for (const message of outbox) if (!bubbles.has(message.id)) waiting(message);
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
      } else if (frame.type === "ack") {
        if (frame.message_id) seen.add(frame.message_id);
        delivered(frame.id);
        flush();
      } else if (frame.type === "retry") {
        const message = outbox.find((m) => m.id === frame.id);
        if (message) message.inFlight = false;
        scheduleFlush(2000);
      } else if (frame.type === "notice") {
        if (frame.id) { refused(frame.id, frame.text); flush(); } else notice(frame.text);
      } else if (frame.owner) {
        setOwner(frame.owner);
      }
      if (frame.type === "ticket_opened") setOwner("queue");
    });
    socket.addEventListener("close", () => {
      for (const message of outbox) message.inFlight = false;
      statusLine.textContent = "连接已断开，正在重连… · Reconnecting…";
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 10000);
    });
  }

  // A typed message, or a tapped button: its title exactly as offered, with its payload.
  function send(text, payload = "") {
    const message = { id: newId(), text: payload ? text : text.trim(), payload };
    if (!message.text) return;
    outbox.push(message);
    saveOutbox();
    waiting(message);
    flush();
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

  // Unsent messages of an earlier visit: shown, after the history, until the server has them.
  function restoreOutbox() {
    try { outbox = JSON.parse(localStorage.getItem(OUTBOX) || "[]"); } catch (e) { outbox = []; }
  }

  startConversation().then((created) => { conversation = created; restoreOutbox(); connect(); })
    .catch(() => { statusLine.textContent = "暂时无法连接，请稍后刷新 · Cannot connect, please reload"; });
})();
