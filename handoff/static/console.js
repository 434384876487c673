// The agent console. All customer-written text is inserted with textContent, never as HTML.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const ROLE = { customer: "客户", bot: "机器人", agent: "客服", system: "系统" };
  const TEAM = { pre_sale: "售前", after_sale: "售后", complaints: "投诉", supervisor: "主管" };
  let me = null;
  let selected = null; // { ticket, packet }
  const shown = new Set();

  async function api(path, options = {}) {
    const headers = { "X-CSRF-Token": me ? me.csrf_token : "" };
    if (options.body) headers["Content-Type"] = "application/json";
    const response = await fetch(path, { credentials: "same-origin", ...options, headers });
    if (response.status === 401) { location.href = "/agent/login"; throw new Error("logged out"); }
    const body = await response.json();
    if (!response.ok) throw new Error(body.message || response.statusText);
    return body;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function time(ts) {
    return new Date(ts * 1000).toLocaleTimeString();
  }

  function moment(ts) { // a date and time: a reply window spans two days
    return new Date(ts * 1000).toLocaleString();
  }

  function ticketItem(ticket) {
    const item = el("li", "p" + ticket.priority);
    item.dataset.ticketId = ticket.id;
    if (selected && selected.ticket.id === ticket.id) item.classList.add("selected");
    item.appendChild(el("div", "", ticket.summary.slice(0, 80)));
    item.appendChild(el("div", "meta", `${ticket.id} · ${ticket.team} · ${time(ticket.created_at)}`));
    item.addEventListener("click", () => open(ticket.id));
    return item;
  }

  async function refresh() {
    const data = await api("/api/agent/tickets");
    $("mine").replaceChildren(...data.mine.map(ticketItem));
    $("load").textContent = `${data.mine.length}/${data.capacity}`;
    $("waiting").replaceChildren(...data.waiting.map(ticketItem));
    $("waiting-count").textContent = String(data.waiting.length);
  }

  function addTurn(message) {
    if (message.id && shown.has(message.id)) return;
    if (message.id) shown.add(message.id);
    const item = el("li", message.role);
    const who = message.role === "agent" ? `客服 ${message.author}` : ROLE[message.role] || message.role;
    item.appendChild(el("span", "who", `${who} ${time(message.ts)}`));
    item.appendChild(document.createTextNode(message.text));
    $("transcript").appendChild(item);
    item.scrollIntoView({ block: "end" });
  }

  // One order as the bot saw it (personal data arrives masked).
  function orderCard(order) {
    const card = el("div", "order-card");
    const head = el("div", "order-head", `${order.id} · ${order.status} · ¥${order.total_yuan}`);
    head.appendChild(el("span", order.verified_owner ? "owner ok" : "owner", order.verified_owner
      ? "已核实本人 verified" : "未核实 not verified"));
    card.appendChild(head);
    card.appendChild(el("div", "", order.items));
    card.appendChild(el("div", "meta", `${order.receiver} ${order.phone} ${order.address}`));
    const times = [["下单", order.created_at], ["付款", order.paid_at], ["发货", order.shipped_at], ["签收", order.delivered_at]]
      .filter(([, value]) => value).map(([label, value]) => `${label} ${value}`).join(" · ");
    if (times) card.appendChild(el("div", "meta", times));
    if (order.tracking_no) card.appendChild(el("div", "meta", `${order.courier} ${order.tracking_no}`));
    const events = el("ul", "tracking");
    (order.tracking || []).slice().reverse().forEach((line) => events.appendChild(el("li", "", line)));
    if (events.children.length) card.appendChild(events);
    return card;
  }

  async function open(ticketId) {
    const data = await api(`/api/agent/tickets/${encodeURIComponent(ticketId)}`);
    selected = data;
    shown.clear();
    const { ticket, packet } = data;
    $("empty").hidden = true;
    $("duty").hidden = true;
    $("detail").hidden = false;
    $("ticket-title").textContent = `${ticket.id}`;
    $("ticket-status").textContent = ticket.status;
    $("summary").textContent = ticket.summary;
    $("summary-en").textContent = packet.summary_en || "";
    $("reasons").textContent = (packet.reasons || ticket.reasons || []).join("；");
    $("team").textContent = ticket.team;
    $("priority").textContent = String(ticket.priority);
    // Each step in Chinese, then in English (packets made before it have no English).
    const stepsEn = packet.suggested_steps_en || [];
    $("steps").replaceChildren(...(packet.suggested_steps || []).map((s, i) => {
      const item = el("li", "", s);
      if (stepsEn[i]) item.appendChild(el("span", "en", ` · ${stepsEn[i]}`));
      return item;
    }));
    const slots = Object.entries(packet.slots || {})
      .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join("  ");
    const angers = (packet.turns || []).filter((t) => t.role === "customer" && t.anger != null)
      .map((t) => t.anger.toFixed(2));
    $("slots").textContent = [
      slots ? `槽位 Slots: ${slots}` : "",
      angers.length ? `情绪 Anger: ${angers.join(" → ")}` : "",
    ].filter(Boolean).join("  ·  ");
    const orders = packet.orders || [];
    $("orders").replaceChildren(...orders.map(orderCard));
    $("orders-section").hidden = !orders.length;
    const answers = packet.faq_answers || [];
    $("faq-answers").replaceChildren(...answers.map((a) => el("li", "", a)));
    $("faq-section").hidden = !answers.length;
    $("notes").replaceChildren(...data.notes.map((n) => el("li", "", `${n.agent} ${time(n.ts)}：${n.text}`)));
    showReach(data.reach);
    $("transcript").replaceChildren();
    data.transcript.forEach(addTurn);
    const mine = ticket.status === "claimed" && ticket.agent === me.name;
    $("claim").hidden = ticket.status !== "queued";
    $("notice").hidden = true;
    $("reply-form").hidden = !mine;
    document.querySelectorAll(".tickets li").forEach((li) =>
      li.classList.toggle("selected", li.dataset.ticketId === ticket.id));
  }

  const PLATFORM = { wx: "微信公众号 WeChat", wk: "企业微信客服 WeCom", tg: "Telegram" };
  const UNDELIVERED = {
    window_closed: "48 小时回复窗口已关闭 · the 48-hour reply window closed",
    quota_used: "回复条数已用完 · no messages left in the window",
    unfollowed: "客户已取消关注 · the customer unfollowed",
    blocked: "客户已屏蔽 · the customer blocked the bot",
    session_ended: "企业微信会话已结束 · the WeCom session has ended",
    with_servicer: "会话在企业微信排队或由企业微信客服接待 · the session is queued for or with a WeCom servicer",
  };

  // A messaging-app customer: how many messages may still reach them, and what did not.
  function showReach(reach) {
    $("reach").hidden = !reach;
    if (!reach) return;
    const platform = PLATFORM[reach.platform] || reach.platform;
    const w = reach.window;
    let line = platform;
    if (w && w.open) {
      line += ` · 还可发送 ${w.remaining} 条，${moment(w.closes_at)} 前 · ${w.remaining} left until ${moment(w.closes_at)}`;
    } else if (w) {
      line += " · 客户现在无法接收消息，需等客户再次发消息 · the customer cannot be reached until they write again";
    }
    $("reach-window").textContent = line;
    $("reach").classList.toggle("closed", Boolean(w && !w.open));
    $("undelivered").replaceChildren(...reach.undelivered.map((u) => el(
      "li", "undelivered",
      `未送达 Undelivered ${moment(u.ts)}：${u.text}（${UNDELIVERED[u.reason] || u.reason}）`)));
  }

  $("claim").addEventListener("click", async () => {
    let refused = "";
    try {
      await api(`/api/agent/tickets/${encodeURIComponent(selected.ticket.id)}/claim`, { method: "POST" });
    } catch (error) { refused = error.message; }
    await open(selected.ticket.id);
    await refresh();
    // Shown after the reload of the ticket, which clears any older notice.
    $("notice").textContent = refused;
    $("notice").hidden = !refused;
  });

  $("reply-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("reply").value.trim();
    if (!text) return;
    try {
      const body = await api(`/api/agent/tickets/${encodeURIComponent(selected.ticket.id)}/reply`, {
        method: "POST", body: JSON.stringify({ text }),
      });
      $("reply").value = "";
      addTurn(body.message);
    } catch (error) { alert(error.message); }
  });

  $("close").addEventListener("click", async () => {
    try {
      await api(`/api/agent/tickets/${encodeURIComponent(selected.ticket.id)}/close`, {
        method: "POST", body: JSON.stringify({ outcome: $("outcome").value }),
      });
    } catch (error) { alert(error.message); }
    await open(selected.ticket.id);
    await refresh();
  });

  $("note-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("note").value.trim();
    if (!text) return;
    try {
      await api(`/api/agent/tickets/${encodeURIComponent(selected.ticket.id)}/notes`, {
        method: "POST", body: JSON.stringify({ text }),
      });
      $("note").value = "";
      await open(selected.ticket.id);
    } catch (error) { alert(error.message); }
  });

  $("transfer").addEventListener("click", async () => {
    const team = $("transfer-team").value;
    const agentName = $("transfer-agent").value.trim();
    try {
      await api(`/api/agent/tickets/${encodeURIComponent(selected.ticket.id)}/transfer`, {
        method: "POST", body: JSON.stringify(team ? { team } : { agent: agentName }),
      });
    } catch (error) { alert(error.message); }
    await open(selected.ticket.id);
    await refresh();
  });

  let cannedTimer = null;
  $("canned-q").addEventListener("input", () => {
    clearTimeout(cannedTimer);
    cannedTimer = setTimeout(async () => {
      const data = await api(`/api/agent/canned?${new URLSearchParams({ q: $("canned-q").value })}`);
      const language = (selected && selected.packet.language) || "zh";
      $("canned").replaceChildren(...data.replies.map((reply) => {
        const item = el("li", "", reply.question);
        item.title = reply[language] || reply.zh;
        item.addEventListener("click", () => { $("reply").value = reply[language] || reply.zh; });
        return item;
      }));
    }, 250);
  });

  function due(at, late) {
    const cell = el("td", late ? "late" : "", new Date(at * 1000).toLocaleString());
    if (late) cell.textContent += " 已超时 late";
    return cell;
  }

  async function showDuty() {
    $("detail").hidden = true;
    $("empty").hidden = true;
    $("duty").hidden = false;
    const handover = await api("/api/agent/handover");
    $("handover").replaceChildren(...handover.notes.slice().reverse()
      .map((n) => el("li", "", `${n.agent} ${new Date(n.ts * 1000).toLocaleString()}：${n.text}`)));
    const promised = await api("/api/agent/follow-ups");
    $("follow-ups").replaceChildren(...(promised.available
      ? promised.follow_ups.map((f) => el("li", f.late ? "late" : "",
        `${f.order_id} · 催件跟进 urge · 截止 due ${f.due_at}${f.late ? " 已超时 late" : ""}`))
      : [el("li", "", "由店铺订单系统管理 · kept in the shop's order system")]));
    if (promised.available && !promised.follow_ups.length) {
      $("follow-ups").appendChild(el("li", "", "暂无 · none open"));
    }
    if (me.role !== "supervisor") return;
    $("supervisor").hidden = false;
    const found = await api("/api/agent/supervisor/complaints");
    $("complaints").replaceChildren(...found.complaints.map((c) => {
      const row = el("tr");
      row.appendChild(el("td", "", `${c.ticket.id} ${c.ticket.summary.slice(0, 40)}`));
      row.appendChild(el("td", "", c.ticket.reasons.join(", ")));
      row.appendChild(el("td", "", c.ticket.status));
      row.appendChild(due(c.first_feedback_due, c.first_feedback_late));
      row.appendChild(due(c.resolution_due, c.resolution_late));
      return row;
    }));
    const report = await api("/api/agent/supervisor/report?hours=12");
    const byAgent = Object.entries(report.handled_by_agent).map(([a, n]) => `${a}: ${n}`).join(", ");
    $("report-counts").textContent =
      `新会话 opened ${report.opened} · 已处理 handled ${report.handled} (${byAgent || "-"}) · 未解决 unresolved ${report.unresolved.length}`;
    $("report-suggestions").replaceChildren(...report.suggestions.map((t) => el("li", "", t)));
  }

  $("show-duty").addEventListener("click", showDuty);
  $("handover-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("handover-text").value.trim();
    if (!text) return;
    try {
      await api("/api/agent/handover", { method: "POST", body: JSON.stringify({ text }) });
      $("handover-text").value = "";
      await showDuty();
    } catch (error) { alert(error.message); }
  });

  $("logout").addEventListener("click", async () => {
    await api("/agent/logout", { method: "POST" });
    location.href = "/agent/login";
  });

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}/ws/agent`);
    socket.addEventListener("open", () => { $("live").textContent = "在线 · live"; refresh(); });
    socket.addEventListener("message", (event) => {
      const frame = JSON.parse(event.data);
      const here = selected && frame.conversation_id === selected.ticket.conversation_id;
      if (frame.type === "message") {
        if (here) addTurn(frame.message);
      } else if (frame.type === "undelivered") {
        if (here) open(selected.ticket.id);
      } else {
        refresh();
        if (selected && frame.ticket_id === selected.ticket.id) open(selected.ticket.id);
      }
    });
    socket.addEventListener("close", (event) => {
      // 4401: the session ended (logged out elsewhere, account removed).
      if (event.code === 4401) { location.href = "/agent/login"; return; }
      $("live").textContent = "重连中 · reconnecting";
      setTimeout(connect, 1000);
    });
  }

  api("/api/agent/me").then((who) => {
    me = who;
    const teams = who.teams.map((t) => TEAM[t] || t).join("、");
    $("me").textContent = `${who.display_name} (${who.role}) · ${teams}`;
    $("reports-link").hidden = who.role !== "supervisor";
    connect();
  });
})();
