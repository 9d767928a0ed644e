// Poses from a photo, on the web page: upload a photo, see the skeleton found in it drawn over it, save it
// as a private pose (selected for the next generation), ask for a pose to be added to the library, and, for
// admins, review those requests. A plain module without a build step; app.js imports it, passes live updates
// as "posegen:update" events and listens for "posegen:pose-saved".
const API = "/api/apps/pose-generator";
const $ = (id) => document.getElementById(id);
const state = { extraction: null, admin: false, categories: [] };

function token() { return localStorage.getItem("posegen-token") || ""; }

async function api(path, options = {}) {
  const response = await fetch(API + path, { ...options,
    headers: { Authorization: `Bearer ${token()}`, ...(options.headers || {}) } });
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const error = new Error(body?.error?.message || `HTTP ${response.status}`);
    error.status = response.status; error.code = body?.error?.code;
    throw error;
  }
  return body;
}

function json(body) { return { body: JSON.stringify(body), headers: { "Content-Type": "application/json" } }; }

function isAdmin() {
  try { return JSON.parse(atob(token().split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).role === "admin"; }
  catch { return false; }
}

function categoryOptions(select) {
  select.replaceChildren(...state.categories.map(([slug, name]) => new Option(name, slug)));
}

async function loadCategories() {
  const tree = await api("/categories");
  state.categories = tree.categories.flatMap((root) =>
    [[root.slug, root.name], ...root.children.map((child) => [child.slug, `${root.name} › ${child.name}`])]);
  categoryOptions($("pose-category"));
}

// --- extraction ------------------------------------------------------------------------------------------
function showExtraction(extraction) {
  state.extraction = extraction;
  const done = extraction.status === "completed";
  $("extract-status").textContent = done
    ? `Found ${extraction.peopleCount} ${extraction.peopleCount === 1 ? "person" : "people"}` +
      (extraction.peopleCount > 1 ? `; took the largest (number ${extraction.chosenPerson + 1} from the left)` : "") +
      ` in ${extraction.seconds.toFixed(2)} s.`
    : `Finding the pose… (${extraction.status})`;
  const overlay = $("extract-overlay");
  overlay.hidden = !done;
  if (done) { overlay.src = extraction.overlayUrl; overlay.alt = "The skeleton found, drawn over the photo"; }
  $("save-pose-form").hidden = !done;
}

function extractionFailed(message) {
  state.extraction = null;
  $("extract-overlay").hidden = true;
  $("save-pose-form").hidden = true;
  $("extract-status").textContent = message;
}

async function refreshExtraction(id) {
  try { showExtraction(await api(`/poses/extract/${id}`)); }
  catch (error) { extractionFailed(error.code === "no_person" ? "No person found in this photo: try another one."
                                                               : `No pose: ${error.message}`); }
}

async function extract(event) {
  event.preventDefault();
  const file = $("pose-photo").files[0];
  if (!file) return ($("extract-status").textContent = "Choose a photo first.");
  const form = new FormData(); form.append("file", file);
  $("extract-overlay").hidden = true; $("save-pose-form").hidden = true;
  $("extract-status").textContent = "Uploading…";
  try {
    const accepted = await api("/poses/extract", { method: "POST", body: form });
    state.extraction = { extractionId: accepted.extractionId, status: "queued" };
    $("extract-status").textContent = "Finding the pose…";
    // The WebSocket says when it is done; a poll covers a missed event.
    setTimeout(() => { if (state.extraction?.status !== "completed") refreshExtraction(accepted.extractionId); }, 3000);
  } catch (error) { extractionFailed(`Upload refused: ${error.message}`); }
}

async function savePose(event) {
  event.preventDefault();
  if (!state.extraction) return;
  const tags = $("pose-tags").value.split(",").map((t) => t.trim()).filter(Boolean);
  try {
    const pose = await api("/poses", { method: "POST", ...json({ extractionId: state.extraction.extractionId,
      name: $("pose-name").value.trim(), description: $("pose-description").value.trim(),
      category: $("pose-category").value, tags }) });
    $("save-status").textContent = `Saved “${pose.name}” to your poses and selected it for the next generation.`;
    window.dispatchEvent(new CustomEvent("posegen:pose-saved", { detail: pose }));
  } catch (error) { $("save-status").textContent = `Not saved: ${error.message}`; }
}

// --- pose requests ---------------------------------------------------------------------------------------
function requestItem(request, review) {
  const item = document.createElement("li");
  item.className = `request ${request.status}`;
  item.dataset.requestId = request.id;
  if (request.overlayUrl || request.photoUrl) {
    const img = document.createElement("img");
    img.src = request.overlayUrl || request.photoUrl;
    img.alt = `Reference photo of the request “${request.name}”`;
    item.append(img);
  }
  const text = document.createElement("div");
  const title = document.createElement("strong");
  title.textContent = request.name;
  const detail = document.createElement("span");
  detail.className = "muted";
  detail.textContent = ` ${request.status}` + (request.reason ? `: ${request.reason}` : "") +
    (request.description ? ` · ${request.description}` : "");
  text.append(title, detail);
  item.append(text);
  if (review) item.append(reviewForm(request));
  return item;
}

function reviewForm(request) {
  const form = document.createElement("form");
  form.className = "row";
  const category = document.createElement("select");
  category.setAttribute("aria-label", `Library category for “${request.name}”`);
  categoryOptions(category);
  const approve = document.createElement("button");
  approve.type = "submit"; approve.textContent = "Approve";
  approve.disabled = request.extractionStatus !== "completed";
  approve.title = approve.disabled ? "no extracted pose yet" : "";
  const reason = document.createElement("input");
  reason.placeholder = "reason"; reason.setAttribute("aria-label", `Reason to reject “${request.name}”`);
  const reject = document.createElement("button");
  reject.type = "button"; reject.textContent = "Reject"; reject.className = "secondary";
  form.append(category, approve, reason, reject);
  const act = async (action, body) => {
    try { await api(`/admin/pose-requests/${request.id}/${action}`, { method: "POST", ...json(body) });
      $("review-status").textContent = `“${request.name}” ${action === "approve" ? "approved" : "rejected"}.`;
      await loadReviewQueue();
    } catch (error) { $("review-status").textContent = `Could not ${action}: ${error.message}`; }
  };
  form.addEventListener("submit", (e) => { e.preventDefault(); act("approve", { category: category.value }); });
  reject.addEventListener("click", () => {
    if (!reason.value.trim()) return ($("review-status").textContent = "Give a reason to reject.");
    act("reject", { reason: reason.value.trim() });
  });
  return form;
}

async function loadMyRequests() {
  const result = await api("/pose-requests?limit=20");
  $("my-requests").replaceChildren(...result.items.map((r) => requestItem(r, false)));
}

async function loadReviewQueue() {
  const result = await api("/admin/pose-requests?limit=20");
  $("review-queue").replaceChildren(...result.items.map((r) => requestItem(r, true)));
  $("review-empty").hidden = result.items.length > 0;
}

async function requestPose(event) {
  event.preventDefault();
  const form = new FormData();
  form.append("name", $("request-name").value.trim());
  form.append("description", $("request-description").value.trim());
  const file = $("request-photo").files[0];
  if (file) form.append("file", file);
  try {
    await api("/pose-requests", { method: "POST", body: form });
    $("request-status").textContent = "Requested: an admin will review it.";
    $("request-form").reset();
    await loadMyRequests();
  } catch (error) { $("request-status").textContent = `Not requested: ${error.message}`; }
}

function onUpdate(event) {
  const data = event.detail;
  if (data.extractionId && state.extraction?.extractionId === data.extractionId) {
    if (data.type === "pose_extracted") refreshExtraction(data.extractionId);
    else if (data.type === "pose_extraction_failed") {
      extractionFailed(data.code === "no_person" ? "No person found in this photo: try another one."
                                                 : `No pose: ${data.error}`);
    }
  }
  if (data.type === "pose_request_reviewed") {
    $("request-status").textContent = data.status === "approved"
      ? `Your request “${data.name}” was approved: it is in the library now.`
      : `Your request “${data.name}” was rejected: ${data.reason}`;
    loadMyRequests().catch(() => {});
  }
  if (data.extractionId && state.admin) loadReviewQueue().catch(() => {});
}

let wired = false;

export async function initPoses() {
  if (!wired) {
    $("extract-form").addEventListener("submit", extract);
    $("save-pose-form").addEventListener("submit", savePose);
    $("request-form").addEventListener("submit", requestPose);
    window.addEventListener("posegen:update", onUpdate);
    wired = true;
  }
  state.admin = isAdmin();
  $("review").hidden = !state.admin;
  await loadCategories();
  await loadMyRequests();
  if (state.admin) await loadReviewQueue();
}
