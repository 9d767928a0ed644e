// The admin panel (role "admin" in the token; the routes answer 403 to anyone else, and the panel stays
// hidden for them): cluster stats with images per day, users, and everyone's generations.
import { api, el, when } from "./history.js";

const $ = (id) => document.getElementById(id);

function token() { return localStorage.getItem("posegen-token") || ""; }

export function isAdmin() {
  try { return JSON.parse(atob(token().split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).role === "admin"; }
  catch { return false; }
}

function cells(...values) { return el("tr", {}, ...values.map((v) => el("td", { textContent: v ?? "–" }))); }

function stat(list, term, value) { list.append(el("dt", { textContent: term }), el("dd", { textContent: value })); }

async function loadStats() {
  const s = await api("/admin/stats?days=14");
  const list = $("admin-stats");
  list.replaceChildren();
  stat(list, "Images (14 days)", `${s.imagesMade} made, ${s.imagesFailed} failed`);
  stat(list, "Failure rate", s.failureRate === null ? "–" : `${(100 * s.failureRate).toFixed(1)} %`);
  stat(list, "Refunds", `${s.refunds} (${s.creditsRefunded} credits)`);
  stat(list, "Queue depth", s.queueDepth ?? "unknown");
  stat(list, "Workers", s.workers ?? "unknown");
  stat(list, "Seconds per image", `p50 ${s.p50SecondsPerImage ?? "–"} · p95 ${s.p95SecondsPerImage ?? "–"}`);
  const most = Math.max(1, ...s.imagesPerDay.map((d) => d.images + d.failed));
  $("admin-days").replaceChildren(...s.imagesPerDay.map((d) => {
    const bar = el("span", { className: "bar", title: `${d.date}: ${d.images} made, ${d.failed} failed` });
    bar.style.height = `${Math.round((100 * (d.images + d.failed)) / most)}%`;
    return el("div", { className: "day" }, bar, el("small", { textContent: d.date.slice(5) }));
  }));
}

async function loadUsers() {
  const result = await api("/admin/users?limit=50");
  $("admin-users").querySelector("tbody").replaceChildren(...result.items.map((u) =>
    cells(u.id, u.role, u.balance, u.generations, u.images, when(u.lastActiveAt))));
}

async function loadGenerations() {
  const status = $("admin-status").value;
  const result = await api(`/admin/generations?limit=50${status ? `&status=${status}` : ""}`);
  $("admin-generations").querySelector("tbody").replaceChildren(...result.items.map((g) =>
    cells(g.id.slice(0, 8), g.userId, g.status, `${g.posesCompleted}/${g.posesTotal}`, when(g.createdAt))));
}

let wired = false;

export async function initAdmin() {
  const admin = isAdmin();
  $("admin").hidden = !admin;
  if (!admin) return;
  if (!wired) {
    $("admin-filters").addEventListener("submit", (e) => { e.preventDefault(); loadGenerations(); });
    window.addEventListener("posegen:update", (e) => {
      if (["completed", "failed", "cancelled"].includes(e.detail.type)) refresh().catch(() => {});
    });
    wired = true;
  }
  await refresh();
}

function refresh() { return Promise.all([loadStats(), loadUsers(), loadGenerations()]); }
