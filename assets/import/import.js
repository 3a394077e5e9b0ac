// The operators' import page: a regency's enrollment list (.csv or .xlsx) checked by a dry run of
// importEnrollments, its errors shown and downloadable, then imported, through the public GraphQL
// API by trusted document ids only (see src/http/pages/import.rs). Bahasa Indonesia first,
// English with ?lang=en or the switch. No libraries from elsewhere: it must work on an intranet.
// The API key stays in this tab (sessionStorage), never in an address; with sign-in
// (--oidc-client-id) operators sign in instead, and the token stays in memory (see signin.js).
import * as signin from "/signin/assets/signin.js";

const TEXT = {
  id: {
    title: "Impor Daftar Kepesertaan", switch: "English", step1: "1. API key", step1SignIn: "1. Masuk", needSignIn: "Silakan masuk.", useKey: "Gunakan", forgetKey: "Lupakan",
    keyNote: "Key hanya disimpan di tab ini (sessionStorage), tidak pernah di alamat halaman.",
    step2: "2. Kabupaten/kota", step3: "3. Berkas (.csv atau .xlsx)", drop: "Letakkan berkas di sini, atau pilih:",
    template: "Unduh templat isian (.xlsx) untuk kabupaten/kota ini",
    partial: "Impor baris yang benar saja (lewati baris yang salah)", step4: "4. Periksa, lalu impor",
    dryRun: "Periksa (uji coba)", import: "Impor", download: "Unduh kesalahan (CSV)",
    needKey: "Masukkan API key.", loadingRegencies: "Memuat kabupaten/kota…", noRegency: "Key ini tidak menjangkau kabupaten/kota mana pun.",
    ready: "Pilih kabupaten/kota dan berkas, lalu periksa.", checking: "Memeriksa berkas…", importing: "Mengimpor…",
    checked: "Uji coba selesai: tidak ada kesalahan. Berkas siap diimpor.", checkedErrors: "Uji coba selesai: ada baris yang salah. Perbaiki berkas lalu periksa lagi.",
    checkedPartial: "Uji coba selesai: baris yang salah akan dilewati bila diimpor.", imported: "Impor selesai.", notWritten: "Tidak ada yang ditulis.",
    rowsRead: "Baris dibaca", workersRegistered: "Pekerja baru", workersKnown: "Pekerja sudah terdaftar", coveragesCreated: "Kepesertaan dibuat",
    rowsSkipped: "Baris sudah pernah diimpor", rowsInError: "Baris salah", line: "Baris", column: "Kolom", value: "Isi", code: "Kode", message: "Keterangan",
    dryRunTitle: "Hasil uji coba (belum ditulis)", importTitle: "Hasil impor", errorsTitle: "Kesalahan", shown: "ditampilkan", of: "dari",
    chosen: "Berkas:", bytes: "bita",
    UNAUTHENTICATED: "API key tidak dikenal atau sudah dicabut. Periksa key Anda.",
    FORBIDDEN: "API key ini tidak berhak melakukannya (impor perlu peran OPERATOR untuk wilayah ini).",
    RATE_LIMITED: "Terlalu banyak permintaan. Coba lagi dalam {s} detik.", TOO_LARGE: "Berkas terlalu besar.",
    SERVICE_UNAVAILABLE: "Server sedang tidak dapat melayani. Coba lagi sebentar lagi.",
    BAD_USER_INPUT: "Berkas atau permintaan ditolak:", INTERNAL_SERVER_ERROR: "Terjadi kesalahan di server. Sebutkan nomor permintaan ini kepada admin:",
    NETWORK: "Server tidak dapat dihubungi. Periksa jaringan.", OTHER: "Permintaan gagal:",
  },
  en: {
    title: "Import an enrollment list", switch: "Bahasa Indonesia", step1: "1. API key", step1SignIn: "1. Sign in", needSignIn: "Please sign in.", useKey: "Use", forgetKey: "Forget",
    keyNote: "The key is kept in this tab only (sessionStorage), never in the page's address.",
    step2: "2. Regency", step3: "3. File (.csv or .xlsx)", drop: "Drop the file here, or choose it:",
    template: "Download the template (.xlsx) for this regency",
    partial: "Import the correct rows only (skip the rows in error)", step4: "4. Check, then import",
    dryRun: "Check (dry run)", import: "Import", download: "Download the errors (CSV)",
    needKey: "Enter an API key.", loadingRegencies: "Loading regencies…", noRegency: "This key reaches no regency.",
    ready: "Choose a regency and a file, then check it.", checking: "Checking the file…", importing: "Importing…",
    checked: "Dry run done: no errors. The file is ready to import.", checkedErrors: "Dry run done: some rows are wrong. Correct the file and check it again.",
    checkedPartial: "Dry run done: the rows in error will be skipped if you import.", imported: "Import done.", notWritten: "Nothing was written.",
    rowsRead: "Rows read", workersRegistered: "New workers", workersKnown: "Workers already registered", coveragesCreated: "Coverages created",
    rowsSkipped: "Rows imported before", rowsInError: "Rows in error", line: "Line", column: "Column", value: "Value", code: "Code", message: "Message",
    dryRunTitle: "Dry run (nothing written)", importTitle: "Import result", errorsTitle: "Errors", shown: "shown", of: "of",
    chosen: "File:", bytes: "bytes",
    UNAUTHENTICATED: "The API key is unknown or was revoked. Check your key.",
    FORBIDDEN: "This API key may not do that (an import needs an OPERATOR key for this area).",
    RATE_LIMITED: "Too many requests. Try again in {s} seconds.", TOO_LARGE: "The file is too large.",
    SERVICE_UNAVAILABLE: "The server cannot serve right now. Try again shortly.",
    BAD_USER_INPUT: "The file or the request was refused:", INTERNAL_SERVER_ERROR: "The server failed. Quote this request id to an admin:",
    NETWORK: "The server cannot be reached. Check the network.", OTHER: "The request failed:",
  },
};

const documents = JSON.parse(document.getElementById("documents").textContent);
const params = new URLSearchParams(location.search);
const state = {
  lang: params.get("lang") === "en" ? "en" : "id",
  key: sessionStorage.getItem("jaminan-key") || "",
  regencies: [],
  file: null,
  // The last dry run's report, for the file, regency and option it was made with.
  checked: null,
  report: null,
  kind: null,
};

const t = (name) => TEXT[state.lang][name] || name;
// The signed-in person's token, else the API key given (empty: none yet).
const credential = () => signin.accessToken() || state.key;
const $ = (id) => document.getElementById(id);
const number = (n) => new Intl.NumberFormat(state.lang === "id" ? "id-ID" : "en-US").format(n);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  Object.entries(attrs).forEach(([k, v]) => (k === "class" ? (node.className = v) : node.setAttribute(k, v)));
  children.flat().forEach((c) => node.append(c instanceof Node ? c : String(c)));
  return node;
};

class Failure extends Error {}

// What went wrong, in plain words: the HTTP status and the first error's extensions.code.
function explain(status, body, response) {
  const error = body && body.errors && body.errors[0];
  const code = (error && error.extensions && error.extensions.code) || "";
  const message = error ? error.message : "";
  if (status === 401 || code === "UNAUTHENTICATED") return t("UNAUTHENTICATED");
  if (status === 403 || code === "FORBIDDEN") return t("FORBIDDEN") + (message ? " (" + message + ")" : "");
  if (status === 429 || code === "RATE_LIMITED") {
    const seconds = (response && response.headers.get("Retry-After")) || "60";
    return t("RATE_LIMITED").replace("{s}", seconds);
  }
  if (status === 413) return t("TOO_LARGE") + " " + message;
  if (status === 503 || code === "SERVICE_UNAVAILABLE") return t("SERVICE_UNAVAILABLE");
  if (code === "BAD_USER_INPUT") return t("BAD_USER_INPUT") + " " + message;
  if (code === "INTERNAL_SERVER_ERROR") return t("INTERNAL_SERVER_ERROR") + " " + ((response && response.headers.get("X-Request-Id")) || "");
  return t("OTHER") + " " + (message || "HTTP " + status) + (code ? " (" + code + ")" : "");
}

// Sends a request to /graphql; its data, or a Failure in plain words.
async function send(body, json) {
  const headers = { Authorization: "Bearer " + credential(), "Accept-Language": state.lang === "id" ? "id" : "en", Accept: "application/json" };
  if (json) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch("/graphql", { method: "POST", headers, body });
  } catch (e) {
    throw new Failure(t("NETWORK"));
  }
  let answer = null;
  try {
    answer = await response.json();
  } catch (e) {
    answer = null;
  }
  if (!response.ok || !answer || (answer.errors && answer.errors.length) || !answer.data) {
    throw new Failure(explain(response.status, answer, response));
  }
  return answer.data;
}

const bareId = (name) => documents[name].replace(/^sha256:/, "");

function status(text, kind) {
  const node = $("status");
  node.textContent = text;
  node.className = kind || "";
}

function translate() {
  document.documentElement.lang = state.lang;
  document.querySelectorAll("[data-t]").forEach((node) => (node.textContent = t(node.dataset.t)));
  document.title = t("title");
  $("lang").textContent = t("switch");
  showFile();
  signin.render();
  if (state.report) renderReport();
}

function buttons() {
  const regency = $("regency").value;
  // The template to fill in holds no personal data: a plain link, no key.
  $("template").hidden = !regency;
  if (regency) $("template").href = "/templates/enrollments.xlsx?regency=" + encodeURIComponent(regency);
  const ready = Boolean(credential() && regency && state.file);
  $("dry-run").disabled = !ready;
  const report = state.checked === current() ? state.report : null;
  const importable = report && state.kind === "dry" && report.rowsRead > report.rowsInError &&
    (report.rowsInError === 0 || $("partial").checked);
  $("import").disabled = !importable;
  $("download").disabled = !(state.report && state.report.errors.length);
}

// What a dry run was made for: a new file, regency or option needs a new one.
let generation = 0;
const current = () => generation;
function changed() {
  generation += 1;
  buttons();
}

async function loadRegencies() {
  const select = $("regency");
  select.replaceChildren();
  select.disabled = true;
  if (!credential()) {
    status(t(signin.configured ? "needSignIn" : "needKey"));
    buttons();
    return;
  }
  status(t("loadingRegencies"));
  try {
    const data = await send(JSON.stringify({ documentId: documents.ImportRegencies, variables: {} }), true);
    state.regencies = data.regencies;
    select.replaceChildren(...state.regencies.map((r) => el("option", { value: r.code }, r.code + " " + r.name)));
    select.disabled = state.regencies.length === 0;
    status(state.regencies.length ? t("ready") : t("noRegency"), state.regencies.length ? "" : "error");
  } catch (e) {
    status(e instanceof Failure ? e.message : String(e), "error");
  }
  changed();
}

function showFile() {
  $("chosen").textContent = state.file ? t("chosen") + " " + state.file.name + " (" + number(state.file.size) + " " + t("bytes") + ")" : "";
}

function chooseFile(file) {
  if (!file) return;
  state.file = file;
  state.report = null;
  $("report").replaceChildren();
  showFile();
  changed();
}

async function run(dryRun) {
  const asked = current();
  const variables = { regency: $("regency").value, file: null, dryRun, partial: $("partial").checked };
  const operations = { extensions: { persistedQuery: { version: 1, sha256Hash: bareId("ImportEnrollments") } }, variables };
  const form = new FormData();
  form.append("operations", JSON.stringify(operations));
  form.append("map", JSON.stringify({ 0: ["variables.file"] }));
  form.append("0", state.file, state.file.name);
  $("dry-run").disabled = true;
  $("import").disabled = true;
  status(t(dryRun ? "checking" : "importing"));
  try {
    const data = await send(form, false);
    state.report = data.importEnrollments;
    state.kind = dryRun ? "dry" : "real";
    state.checked = dryRun ? asked : null;
    renderReport();
    const r = state.report;
    if (dryRun) {
      status(r.rowsInError === 0 ? t("checked") : $("partial").checked ? t("checkedPartial") : t("checkedErrors"), r.rowsInError === 0 ? "ok" : "error");
    } else {
      status(r.written ? t("imported") : t("notWritten"), r.written ? "ok" : "error");
    }
  } catch (e) {
    status(e instanceof Failure ? e.message : String(e), "error");
  }
  buttons();
}

function renderReport() {
  const r = state.report;
  const counts = ["rowsRead", "workersRegistered", "workersKnown", "coveragesCreated", "rowsSkipped", "rowsInError"]
    .map((name) => el("div", { class: "count", "data-count": name }, t(name), el("b", {}, number(r[name]))));
  const parts = [el("h2", {}, t(state.kind === "dry" ? "dryRunTitle" : "importTitle")), el("div", { class: "counts" }, counts)];
  if (r.errors.length) {
    parts.push(el("h2", {}, t("errorsTitle") + " (" + number(r.errors.length) + " " + t("shown") + ")"));
    const head = el("tr", {}, el("th", { class: "n" }, t("line")), el("th", {}, t("column")), el("th", {}, t("value")), el("th", {}, t("message")), el("th", {}, t("code")));
    const rows = r.errors.map((e) => el("tr", { class: "error-row" }, el("td", { class: "n" }, e.line), el("td", {}, e.column || ""),
      el("td", {}, e.value || ""), el("td", {}, e.message), el("td", {}, e.code)));
    parts.push(el("table", { id: "errors" }, el("thead", {}, head), el("tbody", {}, rows)));
  }
  $("report").replaceChildren(...parts);
}

// The errors as a CSV file made here, in the page's language: `;` between fields in Indonesian
// (Excel's list separator there), a byte-order mark so that Excel reads UTF-8.
function download() {
  const separator = state.lang === "id" ? ";" : ",";
  const quote = (v) => {
    const text = v == null ? "" : String(v);
    return /[";,\r\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  };
  const lines = [["line", "column", "value", "code", "message"].map((c) => quote(t(c))).join(separator)];
  state.report.errors.forEach((e) => lines.push([e.line, e.column, e.value, e.code, e.message].map(quote).join(separator)));
  const blob = new Blob(["\ufeff" + lines.join("\r\n") + "\r\n"], { type: "text/csv;charset=utf-8" });
  const link = el("a", { href: URL.createObjectURL(blob), download: (state.file ? state.file.name.replace(/\.[^.]*$/, "") : "import") + "-errors.csv" });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

$("key").value = state.key;
$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  state.key = $("key").value.trim();
  if (state.key) sessionStorage.setItem("jaminan-key", state.key);
  else sessionStorage.removeItem("jaminan-key");
  loadRegencies();
});
$("forget-key").addEventListener("click", () => {
  state.key = "";
  $("key").value = "";
  sessionStorage.removeItem("jaminan-key");
  loadRegencies();
});
$("regency").addEventListener("change", changed);
$("partial").addEventListener("change", changed);
$("file").addEventListener("change", (event) => chooseFile(event.target.files[0]));
const drop = $("drop");
drop.addEventListener("dragover", (event) => {
  event.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  chooseFile(event.dataTransfer.files[0]);
});
$("dry-run").addEventListener("click", () => run(true));
$("import").addEventListener("click", () => run(false));
$("download").addEventListener("click", download);
$("lang").addEventListener("click", () => {
  state.lang = state.lang === "id" ? "en" : "id";
  const url = new URL(location.href);
  if (state.lang === "en") url.searchParams.set("lang", "en");
  else url.searchParams.delete("lang");
  history.replaceState(null, "", url);
  translate();
});
if (signin.configured) {
  // Operators sign in; the key form goes.
  state.key = "";
  $("key-form").hidden = true;
  $("key-note").hidden = true;
  $("step1").dataset.t = "step1SignIn";
  $("account").hidden = false;
  signin.attach($("signin-button"), $("person"), () => state.lang);
}
translate();
await signin.start();
signin.onChange(loadRegencies);
loadRegencies();
