// The reference dashboard: a regency's coverage through the public GraphQL API, by trusted
// document ids only (see src/dashboard.rs). Bahasa Indonesia first, English as a switch. No
// libraries from elsewhere: it must work on an intranet without internet. With sign-in
// (--oidc-client-id) staff sign in instead of pasting an API key (see signin.js).
import * as signin from "/signin/assets/signin.js";

const TEXT = {
  id: {
    title: "Dasbor Jaminan Sosial Pekerja Rentan", switch: "English", trend: "Pekerja terlindungi dan target per tahun",
    districts: "Kecamatan", occupations: "Pekerjaan", genders: "Jenis kelamin", payouts: "Klaim manfaat",
    covered: "Pekerja terlindungi", previous: "Tahun sebelumnya", growth: "Pertumbuhan", target: "Target",
    ofTarget: "dari target", rate: "Cakupan", ofEligible: "dari pekerja rentan", premium: "Biaya iuran", newly: "Baru terlindungi",
    district: "Kecamatan", name: "Nama", needKey: "Masukkan API key untuk melihat klaim manfaat.", needSignIn: "Masuk untuk melihat klaim manfaat.",
    overdue: "Klaim terlambat", noOverdue: "Tidak ada klaim terlambat.", days: "hari kerja", withheld: "Angka di bawah ambang privasi disembunyikan.",
    loading: "Memuat…", chartCovered: "Terlindungi", chartTarget: "Target", live: "langsung",
    SUBMITTED: "Diajukan", VERIFIED: "Diverifikasi", APPROVED: "Disetujui", PAID: "Dibayar", REJECTED: "Ditolak",
    MALE: "Laki-laki", FEMALE: "Perempuan",
    FARMER: "Petani", FARM_LABORER: "Buruh tani", FISHER: "Nelayan", STREET_VENDOR: "Pedagang kaki lima",
    ONLINE_DRIVER: "Pengemudi ojek daring", MOTORCYCLE_TAXI: "Ojek pangkalan", CONSTRUCTION_WORKER: "Pekerja konstruksi",
    DOMESTIC_WORKER: "Pekerja rumah tangga", WASTE_PICKER: "Pemulung", RELIGIOUS_WORKER: "Pekerja keagamaan",
    VILLAGE_FACILITATOR: "Pendamping desa", NEIGHBORHOOD_OFFICIAL: "Pengurus RT/RW", MICRO_ENTREPRENEUR: "Pelaku usaha mikro",
    OTHER: "Lainnya",
  },
  en: {
    title: "Social security coverage of vulnerable workers", switch: "Bahasa Indonesia", trend: "Covered workers and target by year",
    districts: "Districts", occupations: "Occupations", genders: "Gender", payouts: "Benefit claims",
    covered: "Covered workers", previous: "Previous year", growth: "Growth", target: "Target",
    ofTarget: "of target", rate: "Coverage rate", ofEligible: "of eligible workers", premium: "Premium cost", newly: "Newly covered",
    district: "District", name: "Name", needKey: "Enter an API key to see benefit claims.", needSignIn: "Sign in to see benefit claims.",
    overdue: "Overdue claims", noOverdue: "No overdue claims.", days: "working days", withheld: "Figures below the privacy threshold are withheld.",
    loading: "Loading…", chartCovered: "Covered", chartTarget: "Target", live: "live",
    SUBMITTED: "Submitted", VERIFIED: "Verified", APPROVED: "Approved", PAID: "Paid", REJECTED: "Rejected",
    MALE: "Male", FEMALE: "Female",
    FARMER: "Farmer", FARM_LABORER: "Farm laborer", FISHER: "Fisher", STREET_VENDOR: "Street vendor",
    ONLINE_DRIVER: "Online driver", MOTORCYCLE_TAXI: "Motorcycle taxi", CONSTRUCTION_WORKER: "Construction worker",
    DOMESTIC_WORKER: "Domestic worker", WASTE_PICKER: "Waste picker", RELIGIOUS_WORKER: "Religious worker",
    VILLAGE_FACILITATOR: "Village facilitator", NEIGHBORHOOD_OFFICIAL: "Neighborhood official", MICRO_ENTREPRENEUR: "Micro entrepreneur",
    OTHER: "Other",
  },
};

const documents = JSON.parse(document.getElementById("documents").textContent);
const params = new URLSearchParams(location.search);
const state = {
  lang: params.get("lang") === "en" ? "en" : "id",
  regency: params.get("regency") || "36.03",
  year: Number(params.get("year")) || new Date().getFullYear(),
  key: sessionStorage.getItem("jaminan-key") || "",
  sort: { column: "coveredWorkers", descending: true },
  data: null,
};

const t = (name) => TEXT[state.lang][name] || name;
// The signed-in person's token, else the API key typed in (empty: anonymous).
const credential = () => signin.accessToken() || state.key;
const locale = () => (state.lang === "id" ? "id-ID" : "en-US");
const number = (n) => (n == null ? "–" : new Intl.NumberFormat(locale()).format(n));
const percent = (x) => (x == null ? "–" : new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 1 }).format(x));
const rupiah = (n) => (n == null ? "–" : "Rp" + new Intl.NumberFormat(locale()).format(Number(n)));
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  Object.entries(attrs).forEach(([k, v]) => (k === "class" ? (node.className = v) : node.setAttribute(k, v)));
  children.flat().forEach((c) => node.append(c instanceof Node ? c : String(c)));
  return node;
};

// Anonymous requests go by GET, so that browsers and proxies may cache the public figures; after
// a live update (`fresh`) the cached answer is revalidated (ETag) instead of reused.
async function graphql(name, variables, fresh = false) {
  const id = documents[name];
  let response;
  if (credential()) {
    response = await fetch("/graphql", {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: "Bearer " + credential() },
      body: JSON.stringify({ documentId: id, variables }),
    });
  } else {
    const query = new URLSearchParams({ documentId: id, variables: JSON.stringify(variables) });
    response = await fetch("/graphql?" + query.toString(), {
      headers: { Accept: "application/graphql-response+json" },
      cache: fresh ? "no-cache" : "default",
    });
  }
  const body = await response.json();
  if (body.errors && body.errors.length) throw new Error(body.errors[0].message);
  return body.data;
}

function card(label, value, note) {
  return el("div", { class: "card" }, el("div", { class: "label" }, label), el("div", { class: "value" }, value), note ? el("div", { class: "note" }, note) : "");
}

function renderCards(c) {
  const cards = document.getElementById("cards");
  cards.replaceChildren(
    card(t("covered"), number(c.coveredWorkers), state.year),
    card(t("previous"), number(c.previousYearCovered), state.year - 1),
    card(t("growth"), c.growthRate == null ? "–" : (c.growthRate > 0 ? "+" : "") + percent(c.growthRate)),
    card(t("target"), number(c.targetWorkers), c.targetProgress == null ? "" : percent(c.targetProgress) + " " + t("ofTarget")),
    card(t("rate"), percent(c.coverageRate), c.eligibleWorkers == null ? "" : number(c.eligibleWorkers) + " " + t("ofEligible")),
    card(t("premium"), rupiah(c.premiumCost)),
    card(t("newly"), number(c.newlyCovered)),
  );
}

// Covered workers (bars) against the target (line marks) per year, as an SVG.
function renderChart(trend) {
  const width = 640, height = 200, pad = 30;
  const max = Math.max(1, ...trend.map((y) => Math.max(y.coveredWorkers, y.targetWorkers || 0)));
  const step = (width - 2 * pad) / trend.length;
  const y = (v) => height - pad - (v / max) * (height - 2 * pad);
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", "100%");
  const add = (tag, attrs, text) => {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    Object.entries(attrs).forEach(([k, v]) => node.setAttribute(k, v));
    if (text != null) node.textContent = text;
    svg.append(node);
  };
  trend.forEach((row, i) => {
    const x = pad + i * step + step * 0.2;
    add("rect", { x, y: y(row.coveredWorkers), width: step * 0.6, height: height - pad - y(row.coveredWorkers), fill: "#2a9d6f" });
    if (row.targetWorkers != null) add("rect", { x: x - 4, y: y(row.targetWorkers) - 1, width: step * 0.6 + 8, height: 3, fill: "#d62828" });
    add("text", { x: x + step * 0.3, y: height - 10, "text-anchor": "middle" }, row.year);
    add("text", { x: x + step * 0.3, y: y(row.coveredWorkers) - 4, "text-anchor": "middle" }, number(row.coveredWorkers));
  });
  add("text", { x: pad, y: 14 }, `■ ${t("chartCovered")}   ▬ ${t("chartTarget")}`);
  document.getElementById("chart").replaceChildren(svg);
}

function renderDistricts(children) {
  const columns = [["areaName", t("name"), false], ["coveredWorkers", t("covered"), true], ["newlyCovered", t("newly"), true], ["premiumCost", t("premium"), true]];
  const { column, descending } = state.sort;
  const rows = [...children].sort((a, b) => {
    const [x, y] = column === "areaName" ? [a.areaName, b.areaName] : [Number(a[column]), Number(b[column])];
    return (x < y ? -1 : x > y ? 1 : 0) * (descending ? -1 : 1);
  });
  const head = el("tr", {}, columns.map(([key, label, numeric]) => {
    const th = el("th", { class: numeric ? "n" : "" }, label + (key === column ? (descending ? " ▼" : " ▲") : ""));
    th.addEventListener("click", () => {
      state.sort = { column: key, descending: key === column ? !descending : key !== "areaName" };
      renderDistricts(children);
    });
    return th;
  }));
  const body = rows.map((d) => el("tr", {}, el("td", {}, d.areaName), el("td", { class: "n" }, number(d.coveredWorkers)),
    el("td", { class: "n" }, number(d.newlyCovered)), el("td", { class: "n" }, rupiah(d.premiumCost))));
  const shown = ["COVERED_WORKERS", "NEWLY_COVERED", "PREMIUM_COST"];
  const withheld = children.some((d) => d.withheld.some((f) => shown.includes(f))) ? el("p", { class: "muted" }, t("withheld")) : "";
  document.getElementById("districts").replaceChildren(el("table", {}, el("thead", {}, head), el("tbody", {}, body)), withheld);
}

function renderCounts(id, rows, label) {
  const table = el("table", {}, rows.map((r) => el("tr", {}, el("td", {}, label(r)), el("td", { class: "n" }, number(r.coveredWorkers)))));
  document.getElementById(id).replaceChildren(table);
}

async function renderPayouts() {
  const target = document.getElementById("payouts");
  if (!credential()) return target.replaceChildren(el("p", { class: "muted" }, t(signin.configured ? "needSignIn" : "needKey")));
  try {
    const data = await graphql("DashboardPayouts", { code: state.regency });
    const statuses = ["SUBMITTED", "VERIFIED", "APPROVED", "PAID", "REJECTED"];
    const counts = el("div", { class: "cards" }, statuses.map((s) => card(t(s), number(data[s.toLowerCase()].totalCount))));
    const overdue = data.overduePayouts.length
      ? el("table", {}, data.overduePayouts.map((p) => el("tr", {}, el("td", {}, p.benefit), el("td", {}, t(p.status)),
          el("td", { class: "n" }, rupiah(p.amount)), el("td", { class: "n" }, `${number(p.overdueWorkingDays)} ${t("days")}`))))
      : el("p", { class: "muted" }, t("noOverdue"));
    target.replaceChildren(counts, el("h2", {}, t("overdue")), overdue);
  } catch (error) {
    target.replaceChildren(el("p", { class: "error" }, error.message));
  }
}

function renderText() {
  document.documentElement.lang = state.lang;
  document.title = t("title");
  document.querySelectorAll("[data-t]").forEach((node) => (node.textContent = t(node.dataset.t)));
  document.getElementById("lang").textContent = t("switch");
}

// `fresh`: a live update asked for it; otherwise the regency, year or key changed, and the live
// subscription follows them.
async function load(fresh = false) {
  const status = document.getElementById("status");
  if (!fresh) {
    status.textContent = t("loading");
    follow();
  }
  try {
    const data = await graphql("Dashboard", { code: state.regency, year: state.year, fromYear: state.year - 4 }, fresh);
    state.data = data.regency;
    render();
    const live = state.live ? ` · ● ${t("live")}` : "";
    status.textContent = `${data.regency.name}, ${data.regency.province.name} · ${state.year}${live}`;
  } catch (error) {
    status.replaceChildren(el("span", { class: "error" }, error.message));
  }
  renderPayouts();
}

// Live figures: the DashboardLive subscription over graphql-transport-ws (by its trusted
// document's hash); each update reloads the dashboard. Reconnects after 5 s when closed.
function follow() {
  if (state.socket) state.socket.close();
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/graphql";
  let socket;
  try {
    socket = new WebSocket(url, "graphql-transport-ws");
  } catch (error) {
    return;
  }
  state.socket = socket;
  const send = (message) => socket.send(JSON.stringify(message));
  socket.onopen = () => send({ type: "connection_init", payload: credential() ? { Authorization: "Bearer " + credential() } : {} });
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "connection_ack") {
      const persistedQuery = { version: 1, sha256Hash: documents.DashboardLive.replace("sha256:", "") };
      const variables = { code: state.regency, year: state.year };
      send({ id: "live", type: "subscribe", payload: { query: "", variables, extensions: { persistedQuery } } });
      state.live = true;
    } else if (message.type === "ping") {
      send({ type: "pong" });
    } else if (message.type === "next" && message.payload.data) {
      load(true);
    } else if (message.type === "error" || message.type === "complete") {
      state.live = false;
    }
  };
  socket.onclose = () => {
    if (state.socket !== socket) return;
    state.live = false;
    setTimeout(() => state.socket === socket && follow(), 5000);
  };
}

function render() {
  renderText();
  signin.render();
  if (!state.data) return;
  const c = state.data.coverage;
  renderCards(c);
  renderChart(state.data.coverageTrend);
  renderDistricts(c.children);
  renderCounts("occupations", c.byOccupation, (r) => t(r.occupation));
  renderCounts("genders", c.byGender, (r) => t(r.gender));
}

async function start() {
  renderText();
  const years = document.getElementById("year");
  for (let y = new Date().getFullYear(); y >= 2015; y--) years.append(el("option", { value: y }, y));
  years.value = state.year;
  years.addEventListener("change", () => { state.year = Number(years.value); load(); });
  document.getElementById("lang").addEventListener("click", () => { state.lang = state.lang === "id" ? "en" : "id"; render(); renderPayouts(); });
  const key = document.getElementById("key");
  if (signin.configured) {
    // People sign in; the key field goes.
    key.hidden = true;
    state.key = "";
    const button = document.getElementById("signin-button");
    button.hidden = false;
    signin.attach(button, document.getElementById("person"), () => state.lang);
    await signin.start();
    signin.onChange(() => load());
  } else {
    key.value = state.key;
    key.addEventListener("change", () => { state.key = key.value.trim(); sessionStorage.setItem("jaminan-key", state.key); load(); });
  }
  const regencies = document.getElementById("regency");
  regencies.addEventListener("change", () => { state.regency = regencies.value; load(); });
  load();
  try {
    const data = await graphql("DashboardRegencies", {});
    regencies.replaceChildren(...data.regencies.map((r) => el("option", { value: r.code }, `${r.name} (${r.code})`)));
    regencies.value = state.regency;
  } catch (error) {
    regencies.replaceChildren(el("option", { value: state.regency }, state.regency));
  }
}

start();
