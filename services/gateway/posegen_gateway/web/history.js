// History, downloads and credits on the web page: the user's generations with thumbnails, reopening one with
// its results, downloads (one image in a format, or a ZIP of chosen formats, fetched with the token and saved
// from a blob), the credit balance, the ledger and the user's stats. A plain module; app.js imports it and
// passes live updates as "posegen:update" events (a finished generation refreshes the lists).
const API = "/api/apps/pose-generator";
const $ = (id) => document.getElementById(id);
const state = { page: 1, formats: [], opened: null };

function token() { return localStorage.getItem("posegen-token") || ""; }

export async function api(path, options = {}) {
  const response = await fetch(API + path, { ...options,
    headers: { Authorization: `Bearer ${token()}`, ...(options.headers || {}) } });
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new Error(body?.error?.message || `HTTP ${response.status}`);
  return body;
}

export function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

export function when(iso) { return iso ? new Date(iso).toLocaleString() : "–"; }

// A download that needs the token: fetched, then saved from a blob under the server's file name.
export async function download(path, fallbackName) {
  const response = await fetch(API + path, { headers: { Authorization: `Bearer ${token()}` } });
  if (!response.ok) {
    const body = await response.json().catch(() => null);
    throw new Error(body?.error?.message || `HTTP ${response.status}`);
  }
  const name = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "")?.[1] || fallbackName;
  const url = URL.createObjectURL(await response.blob());
  const link = el("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return name;
}

function summaryText(g) {
  const what = g.generationType === "TEXT_DESCRIPTION" ? `“${g.textPrompt}”` : `${g.posesTotal} image(s)`;
  return `${what} · ${g.status} · ${g.posesCompleted}/${g.posesTotal} made · ${when(g.createdAt)}`;
}

function historyItem(g) {
  const thumb = el("img", { alt: g.thumbnailUrl ? `First image of ${g.id.slice(0, 8)}` : "" });
  if (g.thumbnailUrl) thumb.src = g.thumbnailUrl;
  const open = el("button", { type: "button", className: "secondary", textContent: "Open" });
  open.setAttribute("aria-label", `Open generation ${g.id.slice(0, 8)}`);
  open.addEventListener("click", () => openGeneration(g.id).catch((e) => say(`Could not open: ${e.message}`)));
  const item = el("li", { className: `history-item ${g.status}` }, thumb,
    el("span", { className: "muted", textContent: summaryText(g) }), open);
  item.dataset.generationId = g.id;
  return item;
}

function say(text) { $("download-status").textContent = text; }

export async function loadHistory(reset = true) {
  if (reset) { state.page = 1; $("history").replaceChildren(); }
  const query = new URLSearchParams({ page: state.page, limit: 12 });
  if ($("history-status").value) query.set("status", $("history-status").value);
  if ($("history-project").checked && $("project").value) query.set("projectId", $("project").value);
  const result = await api(`/generations?${query}`);
  $("history").append(...result.items.map(historyItem));
  $("history-empty").hidden = result.pagination.total > 0;
  $("history-more").hidden = !result.pagination.hasMore;
}

function formatChoices() {
  const box = $("export-formats");
  box.replaceChildren(el("legend", { textContent: "Formats for the ZIP" }));
  for (const f of state.formats) {
    const input = el("input", { type: "checkbox", value: f.key, checked: f.key === "original" });
    const size = f.width ? `${f.width}×${f.height}` : "as generated";
    box.append(el("label", { className: "format" }, input, ` ${f.label} (${size}, ${f.fileType.toUpperCase()})`));
  }
}

function resultCard(generationId, result) {
  const select = el("select", { ariaLabel: `Format for image ${result.variationKey}` },
    ...state.formats.map((f) => new Option(f.label, f.key)));
  const button = el("button", { type: "button", className: "secondary", textContent: "Download" });
  button.addEventListener("click", () =>
    download(`/generations/${generationId}/results/${result.id}/export/${select.value}`, "image")
      .then((name) => say(`Saved ${name}.`)).catch((e) => say(`Download failed: ${e.message}`)));
  const img = el("img", { src: result.thumbnailUrl, alt: `Result ${result.variationKey}` });
  return el("li", { className: "job done" }, img,
    el("div", { className: "muted", textContent: `seed ${result.seed} · ${result.seconds ?? "?"} s` }),
    el("div", { className: "row" }, select, button));
}

export async function openGeneration(id) {
  const [generation, results] = await Promise.all([api(`/generations/${id}`), api(`/generations/${id}/results`)]);
  state.opened = generation;
  $("opened").hidden = false;
  $("opened-title").textContent = `Generation ${id.slice(0, 8)}: ${generation.status}`;
  $("opened-meta").textContent = [
    generation.textPrompt ? `Description: “${generation.textPrompt}”` : `${generation.selectedPoseIds.length} pose(s)`,
    generation.prompt ? `prompt: ${generation.prompt}` : null,
    `${generation.width}×${generation.height}, ${generation.steps} steps, seed ${generation.seed ?? "random"}`,
    `${generation.creditCharged} credits charged, ${generation.creditRefunded} refunded`,
  ].filter(Boolean).join(" · ");
  $("opened-results").replaceChildren(...results.results.map((r) => resultCard(id, r)));
  $("download-zip").disabled = results.results.length === 0;
  say(results.results.length ? "" : "No finished image to download yet.");
  $("opened").scrollIntoView({ block: "nearest" });
}

async function downloadZip() {
  if (!state.opened) return;
  const keys = [...$("export-formats").querySelectorAll("input:checked")].map((i) => i.value);
  if (!keys.length) return say("Choose at least one format.");
  say("Preparing the ZIP…");
  try {
    const name = await download(`/generations/${state.opened.id}/export?formats=${keys.join(",")}`, "export.zip");
    say(`Saved ${name}.`);
  } catch (error) { say(`Download failed: ${error.message}`); }
}

function ledgerRow(entry) {
  const amount = `${entry.amount > 0 ? "+" : ""}${entry.amount}`;
  return el("tr", {}, ...[when(entry.createdAt), entry.type, amount, entry.balance,
    `${entry.referenceType} ${entry.referenceId.slice(0, 8)}`].map((text) => el("td", { textContent: text })));
}

function stat(list, term, value) { list.append(el("dt", { textContent: term }), el("dd", { textContent: value })); }

export async function loadAccount() {
  const [credits, stats] = await Promise.all([api("/credits"), api("/stats")]);
  $("balance").textContent = credits.balance;
  $("ledger").querySelector("tbody").replaceChildren(...credits.ledger.slice(0, 15).map(ledgerRow));
  const list = $("stats");
  list.replaceChildren();
  stat(list, "Generations", `${stats.generations} (${Object.entries(stats.generationsByStatus)
    .filter(([, n]) => n).map(([s, n]) => `${n} ${s}`).join(", ") || "none"})`);
  stat(list, "Images made", `${stats.imagesMade} (${stats.imagesFailed} failed)`);
  stat(list, "Credits", `${stats.creditsCharged} charged, ${stats.creditsRefunded} refunded`);
  stat(list, "Median seconds per image", stats.medianSecondsPerImage ?? "–");
  stat(list, "Most used poses", stats.mostUsedPoses.map((p) => `${p.name} (${p.images})`).join(", ") || "–");
}

let wired = false;

export async function initHistory() {
  if (!wired) {
    $("history-filters").addEventListener("submit", (e) => { e.preventDefault(); loadHistory(); });
    $("history-more").addEventListener("click", () => { state.page++; loadHistory(false); });
    $("download-zip").addEventListener("click", downloadZip);
    window.addEventListener("posegen:update", (e) => {
      if (["completed", "failed", "cancelled"].includes(e.detail.type)) {
        loadHistory().catch(() => {});
        loadAccount().catch(() => {});
        if (state.opened?.id === e.detail.generationId) openGeneration(state.opened.id).catch(() => {});
      }
    });
    wired = true;
  }
  state.formats = (await api("/formats")).formats;
  formatChoices();
  await Promise.all([loadHistory(), loadAccount()]);
}
