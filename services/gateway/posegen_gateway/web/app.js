// The Pose Generator web page: plain modules, no build step. It talks to the gateway's REST API with the
// token from the field (or the #token= fragment), and follows a generation over the relay's WebSocket.
import { initAdmin } from "./admin.js";
import { initHistory, loadAccount, loadHistory } from "./history.js";
import { initPoses } from "./poses.js";

const API = "/api/apps/pose-generator";
const $ = (id) => document.getElementById(id);
const state = { token: "", page: 1, selected: new Set(), generation: null, lastEventId: null, socket: null,
                retry: 0, jobs: new Map(), config: { relayUrl: "" } };

function headers(extra = {}) { return { Authorization: `Bearer ${state.token}`, ...extra }; }

async function api(path, options = {}) {
  const response = await fetch(API + path, { ...options, headers: headers(options.headers) });
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new Error(body?.error?.message || `HTTP ${response.status}`);
  return body;
}

function say(text) { $("status").textContent = text; }

async function skeleton(img, poseId) {
  const response = await fetch(`${API}/library/${poseId}/skeleton.png?size=256`, { headers: headers() });
  if (response.ok) img.src = URL.createObjectURL(await response.blob());
}

function poseCard(pose) {
  const item = document.createElement("li");
  item.className = "pose" + (state.selected.has(pose.id) ? " selected" : "");
  item.dataset.poseId = pose.id;
  const label = document.createElement("label");
  const box = document.createElement("input");
  box.type = "checkbox";
  box.checked = state.selected.has(pose.id);
  box.setAttribute("aria-label", `Select ${pose.name}`);
  box.addEventListener("change", () => {
    box.checked ? state.selected.add(pose.id) : state.selected.delete(pose.id);
    item.classList.toggle("selected", box.checked);
    $("selected-count").textContent = state.selected.size;
  });
  const img = document.createElement("img");
  img.alt = `Skeleton of the pose ${pose.name}`;
  skeleton(img, pose.id);
  const name = document.createElement("span");
  name.className = "name";
  name.textContent = pose.name;
  const meta = document.createElement("span");
  meta.className = "muted";
  meta.textContent = `${pose.category.name} · ${pose.difficulty}${pose.isPrivate ? " · mine" : ""}`;
  if (pose.isPrivate) item.classList.add("private");
  label.append(box, img, name, meta);
  item.append(label);
  return item;
}

async function loadPoses(reset = true) {
  if (reset) { state.page = 1; $("poses").replaceChildren(); }
  const query = new URLSearchParams({ page: state.page, limit: 24 });
  for (const key of ["category", "search", "difficulty"]) if ($(key).value) query.set(key, $(key).value);
  if ($("mine")?.checked) query.set("mine", "true");
  const result = await api(`/library?${query}`);
  $("poses").append(...result.items.map(poseCard));
  $("library-total").textContent = `${result.pagination.total} poses`;
  $("more").hidden = !result.pagination.hasMore;
}

async function loadCategories() {
  const tree = await api("/categories");
  const select = $("category");
  select.replaceChildren(new Option("All", ""));
  for (const root of tree.categories) {
    select.append(new Option(`${root.name} (${root.poseCount})`, root.slug));
    for (const child of root.children) select.append(new Option(`— ${child.name} (${child.poseCount})`, child.slug));
  }
}

async function loadProjects(selectId) {
  const result = await api("/projects?limit=100");
  const select = $("project");
  select.replaceChildren(...result.items.map((p) => new Option(p.projectName, p.id)));
  if (selectId) select.value = selectId;
  showAvatar(result.items.find((p) => p.id === select.value));
}

function showAvatar(project) {
  const img = $("avatar-preview");
  state.hasAvatar = Boolean(project?.avatarImageUrl);
  img.hidden = !state.hasAvatar;
  if (state.hasAvatar) { img.src = project.avatarImageUrl; img.alt = `Avatar of ${project.projectName}`; }
  $("identity").disabled = !state.hasAvatar;
}

async function showGenerationAvatar(generationId) {
  const generation = await api(`/generations/${generationId}`);
  const img = $("generation-avatar");
  img.hidden = !generation.avatarImageUrl;
  if (generation.avatarImageUrl) {
    img.src = generation.avatarImageUrl;
    img.alt = `Avatar used, identity strength ${generation.identityStrength}`;
    img.title = img.alt;
  }
}

function jobCard(index) {
  let job = state.jobs.get(index);
  if (job) return job;
  const item = document.createElement("li");
  item.className = "job";
  item.innerHTML = `<img alt=""><progress max="100" value="0"></progress><div class="muted"></div>`;
  item.querySelector("progress").setAttribute("aria-label", `Image ${index + 1}`);
  $("jobs").append(item);
  job = { item, img: item.querySelector("img"), bar: item.querySelector("progress"), text: item.querySelector("div") };
  job.text.textContent = `Image ${index + 1}: waiting`;
  state.jobs.set(index, job);
  return job;
}

function onEvent(event) {
  if (!state.generation || event.generationId !== state.generation) return;
  if (event.id) state.lastEventId = event.id;
  switch (event.type) {
    case "queued": say(`Queued (position ${event.queuePosition}).`); break;
    case "started": say(`Running on ${event.worker}.`); for (let i = 0; i < event.posesTotal; i++) jobCard(i); break;
    case "progress": {
      const job = jobCard(event.poseIndex);
      job.bar.value = (100 * event.step) / event.totalSteps;
      job.text.textContent = `Image ${event.poseIndex + 1}: step ${event.step}/${event.totalSteps}`;
      if (event.preview) { job.img.src = event.preview; job.img.alt = `Preview of image ${event.poseIndex + 1}`; }
      $("overall").value = event.percentage;
      say(`${Math.round(event.percentage)}% · about ${Math.round(event.etaSeconds ?? 0)} s left`);
      break;
    }
    case "pose_completed": {
      const job = jobCard(event.poseIndex);
      job.item.classList.add("done");
      job.bar.value = 100;
      job.img.src = event.thumbnailUrl;
      job.img.alt = `Result ${event.poseIndex + 1}`;
      job.text.innerHTML = "";
      const link = document.createElement("a");
      link.href = event.imageUrl; link.download = `${event.variationKey}.png`; link.textContent = "Download";
      job.text.append(`Image ${event.poseIndex + 1} (seed ${event.seed}) · `, link);
      break;
    }
    case "pose_failed": jobCard(event.poseIndex).item.classList.add("failed"); break;
    case "completed": case "failed": case "cancelled":
      $("overall").value = event.type === "completed" ? 100 : $("overall").value;
      say(event.type === "completed"
        ? `Done: ${event.posesCompleted} image(s)${event.posesFailed ? `, ${event.posesFailed} failed (refunded)` : ""}.`
        : `${event.type === "failed" ? "Failed" : "Cancelled"}; ${event.creditRefunded} credits refunded.`);
      $("cancel").disabled = true; $("start").disabled = false;
      break;
  }
}

// The relay's path on the page's own origin (the edge, or the gateway under `make run`), unless
// RELAY_PUBLIC_URL names another address.
function relayUrl() {
  if (state.config.relayUrl) return state.config.relayUrl;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/pose-generator-ws`;
}

function connect() {
  if (state.socket) state.socket.onclose = null, state.socket.close();
  const socket = new WebSocket(relayUrl());
  state.socket = socket;
  socket.onopen = () => socket.send(JSON.stringify({ type: "auth", token: state.token }));
  socket.onmessage = (message) => {
    const { event, data } = JSON.parse(message.data);
    if (event === "connected") {
      state.retry = 0;
      $("whoami").textContent = `signed in as ${data.userId}`;
      if (state.generation) resubscribe();
    } else if (event === "pose-generation-update") {
      onEvent(data);
      window.dispatchEvent(new CustomEvent("posegen:update", { detail: data }));
    }
    else if (event === "resync" && data.generationId === state.generation) {
      if (data.lastEventId) state.lastEventId = data.lastEventId;
      resubscribe();
    }
    else if (event === "error") console.warn("relay:", data.message);
  };
  socket.onclose = () => {
    const delay = Math.min(10000, 500 * 2 ** state.retry++);
    say(`Live updates lost; reconnecting in ${Math.round(delay / 1000)} s…`);
    setTimeout(connect, delay);
  };
}

function resubscribe() {
  const message = { type: "subscribe", generationId: state.generation };
  if (state.lastEventId) message.lastEventId = state.lastEventId;
  state.socket.send(JSON.stringify(message));
}

async function start(event) {
  event.preventDefault();
  const text = $("mode").value === "TEXT_DESCRIPTION";
  if (text && $("text-prompt").value.trim().length < 3) return say("Describe the images first.");
  if (!text && !state.selected.size) return say("Select at least one pose first.");
  if (!$("project").value) return say("Create a project first.");
  const size = Number($("size").value);
  const body = { projectId: $("project").value, steps: Number($("steps").value), width: size, height: size,
    ...(text
      ? { generationType: "TEXT_DESCRIPTION", textPrompt: $("text-prompt").value.trim(),
          variationCount: Number($("variation-count").value) }
      : { generationType: "GALLERY_REFERENCE", selectedPoseIds: [...state.selected],
          variationsPerPose: Number($("variations").value) }) };
  if ($("prompt").value.trim()) body.prompt = $("prompt").value.trim();
  body.identityStrength = state.hasAvatar ? Number($("identity").value) : 0;
  $("jobs").replaceChildren(); state.jobs.clear(); $("overall").value = 0;
  try {
    const accepted = await api("/generate", { method: "POST", body: JSON.stringify(body),
                                              headers: { "Content-Type": "application/json" } });
    state.generation = accepted.generationId; state.lastEventId = null;
    for (let i = 0; i < accepted.posesTotal; i++) jobCard(i);
    say(`Queued: ${accepted.posesTotal} image(s), ${accepted.creditCharged} credits.`);
    $("cancel").disabled = false; $("start").disabled = true;
    if (state.socket?.readyState === WebSocket.OPEN) resubscribe();
    showGenerationAvatar(accepted.generationId).catch(() => {});
    loadHistory().catch(() => {}); loadAccount().catch(() => {});
  } catch (error) { say(`Could not start: ${error.message}`); }
}

// The user a token names (its `userId` claim), read without verifying it: only to ask the user.
function tokenUser(token) {
  try {
    const payload = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return String(payload.userId ?? payload.id ?? payload.sub ?? "an unknown user");
  } catch { return "an unknown user"; }
}

// A `#token=` link (the one `make run` prints) signs this browser in, but never silently replaces a token
// stored for another user: the page asks first, naming both (docs/decisions.md).
function takeLinkToken() {
  const linked = new URLSearchParams(location.hash.slice(1)).get("token");
  if (!linked) return;
  history.replaceState(null, "", location.pathname + location.search);
  const stored = localStorage.getItem("posegen-token");
  const [from, to] = [stored && tokenUser(stored), tokenUser(linked)];
  const question = from === to
    ? `This link replaces this browser's sign-in for "${from}" with another token for "${to}". Use it?`
    : `This link signs you in as "${to}". This browser is signed in as "${from}". `
      + `Switch to "${to}"? Choose Cancel unless you expected to change accounts.`;
  if (stored && stored !== linked && !confirm(question)) return;
  localStorage.setItem("posegen-token", linked);
}

async function init() {
  takeLinkToken();
  state.token = localStorage.getItem("posegen-token") || "";
  $("token").value = state.token;
  state.config = await fetch("/web/config.json").then((r) => r.json()).catch(() => state.config);
  $("token-form").addEventListener("submit", (e) => { e.preventDefault(); state.token = $("token").value.trim();
    localStorage.setItem("posegen-token", state.token); boot(); });
  $("filters").addEventListener("submit", (e) => { e.preventDefault(); loadPoses(); });
  $("more").addEventListener("click", () => { state.page++; loadPoses(false); });
  $("project").addEventListener("change", () => loadProjects($("project").value));
  $("project-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    try { const p = await api("/projects", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ projectName: $("project-name").value.trim() }) });
      $("project-name").value = ""; await loadProjects(p.id); say(`Project “${p.projectName}” created.`);
    } catch (error) { say(`Could not create the project: ${error.message}`); }
  });
  $("avatar-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const file = $("avatar").files[0];
    if (!file || !$("project").value) return say("Choose a project and an image first.");
    const form = new FormData(); form.append("file", file);
    try { const p = await api(`/projects/${$("project").value}/avatar`, { method: "POST", body: form });
      showAvatar(p); say("Avatar uploaded.");
    } catch (error) { say(`Upload refused: ${error.message}`); }
  });
  $("generate-form").addEventListener("submit", start);
  $("mode").addEventListener("change", () => {
    const text = $("mode").value === "TEXT_DESCRIPTION";
    $("text-fields").hidden = !text;
    $("variations").disabled = text;
  });
  window.addEventListener("posegen:pose-saved", (e) => {
    state.selected.add(e.detail.id); $("selected-count").textContent = state.selected.size; loadPoses();
  });
  $("identity").addEventListener("input", () => { $("identity-value").value = Number($("identity").value).toFixed(2); });
  $("cancel").addEventListener("click", async () => {
    if (!state.generation) return;
    const result = await api(`/generations/${state.generation}/cancel`, { method: "POST" });
    say(result.action === "cancel_requested" ? "Cancelling…" : `Cancelled; ${result.creditRefunded} credits refunded.`);
  });
  if (state.token) boot();
}

async function boot() {
  try {
    await Promise.all([loadCategories(), loadPoses(), loadProjects(), initPoses(), initHistory(), initAdmin()]);
    connect();
  } catch (error) { say(`Could not load: ${error.message}. Check the token.`); }
}

init();
