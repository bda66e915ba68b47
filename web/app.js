/* Jifen's reference H5 member page: plain JavaScript, fetch for queries and mutations, graphql-ws for
 * the live toasts. A brand's front end copies what it needs; every call is a documented GraphQL one. */
"use strict";

const params = new URLSearchParams(location.search);
// Only the page's own markup says where the API is: an address taken from the URL would let any link
// send the member's token wherever it names.
const API = new URL(document.querySelector('meta[name="jifen-api"]').content, location.href).href;
const SOCKET = API.replace(/^http/, "ws");
const TOKEN_KEY = "jifen-member-token";

// What a member reads on the first screen, in one request.
const HOME = `query Home {
  me { nickname growth tier { level name } checkIn { streak checkedInToday }
       points { available pending held expiringSoon(days: 30) } }
  tiers { level name growthThreshold }
  checkInRule { basePoints streakBonuses { day points } } }`;
const LEDGER = `query Ledger($after: String) { me { ledger(first: 20, after: $after) {
  edges { node { id delta reason memo occurredAt } } pageInfo { hasNextPage endCursor } } } }`;
const CHECK_IN = `mutation CheckIn($key: String!) { checkIn(input: {idempotencyKey: $key}) {
  entries { delta reason } userErrors { code message } } }`;
const MALL = `query Mall($category: String) { mallItems(first: 50, category: $category) {
  edges { node { id name pointsPrice stock category minTierLevel description } } } }`;
const REDEEM = `mutation Redeem($item: ID!, $key: String!) { redeem(input: {itemId: $item, idempotencyKey: $key}) {
  redemption { id itemName code } userErrors { code message } } }`;
const LOTTERIES = `query Lotteries { lotteries { id name entryCost dailyLimit running prizes { name probability } } }`;
const DRAW = `mutation Draw($lottery: ID!, $key: String!) { drawLottery(input: {lotteryId: $lottery, idempotencyKey: $key}) {
  draw { id prize { name kind points } } userErrors { code message } } }`;
const VERIFY = `query Verify($id: ID!) { verifyLotteryDraw(drawId: $id) {
  draw { prize { name } drawnAt clientSeed roll } seedCommitment serverSeed revealedAt valid } }`;
const BOARD = `query Board($period: LeaderboardPeriod!) { leaderboard(period: $period, first: 10) {
  rank points member { displayName isMe } } me { rank(period: $period) { rank points } } }`;
const MEMBER_CODE = `query MemberCode { me { memberCode memberCodeQr memberCodeValidUntil } }`;
const POINTS_CHANGED = `subscription { pointsChanged { toast points { available pending held } } }`;
const ACTIVITY = `subscription { activityFeed { memberName text at } }`;

// Every refusal a member can meet here, in words a member understands.
const REFUSALS = {
  INSUFFICIENT_POINTS: "积分不足",
  SOLD_OUT: "已兑完，下次早点来",
  LIMIT_REACHED: "已达到每人兑换上限",
  TIER_TOO_LOW: "会员等级不够，升级后再来",
  ITEM_OFF_SHELF: "商品已下架",
  NOT_POINTS_ONLY: "该商品需要积分加现金购买，请在商城结算",
  FLASH_SALE_NOT_STARTED: "秒杀尚未开始",
  FLASH_SALE_ENDED: "秒杀已结束",
  ALREADY_CHECKED_IN: "今天已经签到过了",
  LOTTERY_CLOSED: "抽奖未开放",
  DAILY_LIMIT_REACHED: "今天的抽奖次数已用完",
  NOT_FOUND: "找不到了，请刷新",
  IDEMPOTENCY_KEY_REUSED: "请求重复，请刷新后再试",
  CONFLICT: "操作太频繁，请稍后再试",
  INVALID_INPUT: "输入有误",
};
const REASONS = {
  CHECK_IN: "签到", STREAK_BONUS: "连签奖励", CHECK_IN_TOTAL: "累计签到奖励", OPENING: "期初积分", TASK: "任务", ORDER: "购物", REVIEW: "晒单评价", INVITE: "邀请好友",
  ASSIST: "好友助力", CAMPAIGN_BONUS: "活动加赠", REDEMPTION: "积分兑换", CHECKOUT: "积分加钱购", DEDUCTION: "积分抵现",
  LOTTERY_ENTRY: "抽奖", LOTTERY_PRIZE: "抽奖奖品", EXPIRY: "积分过期", REVERSAL: "退回", EXCHANGE_OUT: "兑出到合作品牌",
  EXCHANGE_IN: "从合作品牌兑入", ADJUSTMENT: "客服调整", LEADERBOARD_PRIZE: "排行榜奖励", GIFT_OUT: "积分转赠", GIFT_IN: "好友赠送", CONVERSION: "积分升值",
};

// Categories are the brand's slugs; their names on the page are the brand's to choose.
const CATEGORIES = { general: "综合", cups: "杯具", coupons: "优惠券", events: "活动", bags: "箱包", travel: "出行",
  home: "生活" };

let token = params.get("token") || sessionStorage.getItem(TOKEN_KEY) || "";
if (params.has("token")) {
  // Out of the address bar and the history at once: a URL is shared, bookmarked and logged.
  const clean = new URL(location.href);
  clean.searchParams.delete("token");
  history.replaceState(null, "", clean.href);
}
let socket = null;
let ledgerCursor = null;
let ledgerDone = false;
let loadingLedger = false;

const $ = (id) => document.getElementById(id);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class Refused extends Error {}
// No answer from Jifen itself (a dropped connection, a proxy's 502/503/504): the request may or may not
// have been applied, so it is sent again with the same idempotency key.
class Unanswered extends Error {}
const GATEWAY_FAILURES = new Set([502, 503, 504]);

async function graphql(query, variables = {}, { anonymous = false } = {}) {
  const headers = { "Content-Type": "application/json", Accept: "application/json" };
  if (token && !anonymous) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(API, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  const body = await response.json().catch(() => null);
  if (response.status === 401) {
    signOut("令牌无效或已过期，请重新登录");
    throw new Refused("UNAUTHENTICATED");
  }
  if (response.status === 429) throw new Refused("请求太频繁，请稍后再试");
  if (GATEWAY_FAILURES.has(response.status)) throw new Unanswered(`服务暂不可用 (${response.status})`);
  if (!body || (body.errors && body.errors.length)) throw new Refused((body && body.errors[0].message) || "服务暂不可用");
  return body.data;
}

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/* A mutation that moves points carries one idempotency key across its retries: a request lost on the
 * network is sent again with the same key, and the server applies it once whatever happened. */
async function mutate(query, variables) {
  const key = newKey();
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await graphql(query, { ...variables, key });
    } catch (error) {
      const unanswered = error instanceof TypeError || error instanceof Unanswered; // TypeError: no answer at all
      if (!unanswered || attempt >= 4) throw error;
      await sleep(300 * 2 ** attempt);
    }
  }
}

function refusal(userErrors) {
  const [first] = userErrors;
  return REFUSALS[first.code] || first.message;
}

function toast(text) {
  const item = document.createElement("div");
  item.className = "toast";
  item.textContent = text;
  const shown = $("toasts");
  while (shown.children.length >= 3) shown.firstElementChild.remove(); // a burst shows its latest three
  shown.append(item);
  setTimeout(() => item.remove(), 4000);
}

function show(section) {
  for (const id of ["sign-in", "app", "verify"]) $(id).hidden = id !== section;
  $("sign-out").hidden = section !== "app";
}

function signOut(message = "") {
  token = "";
  sessionStorage.removeItem(TOKEN_KEY);
  if (socket) socket.dispose();
  socket = null;
  $("sign-in-error").textContent = message;
  show("sign-in");
}

async function signIn(candidate) {
  token = candidate.trim();
  try {
    await renderHome();
  } catch (error) {
    if (error.message !== "UNAUTHENTICATED") signOut(`登录失败：${error.message}`);
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  show("app");
  subscribe();
  resetLedger();
}

function renderPoints(points) {
  $("available").textContent = points.available.toLocaleString("zh-CN");
  $("pending").textContent = points.pending;
  $("held").textContent = points.held;
  if (points.expiringSoon !== undefined) $("expiring").textContent = points.expiringSoon;
}

async function renderHome() {
  const { me, tiers, checkInRule } = await graphql(HOME);
  $("nickname").textContent = me.nickname;
  $("tier").textContent = `V${me.tier.level} ${me.tier.name}`;
  renderPoints(me.points);
  const next = tiers.find((tier) => tier.growthThreshold > me.growth);
  const floor = tiers.filter((tier) => tier.growthThreshold <= me.growth).pop();
  if (next) {
    const span = next.growthThreshold - (floor ? floor.growthThreshold : 0);
    $("growth-bar").style.width = `${Math.min(100, (100 * (me.growth - (floor ? floor.growthThreshold : 0))) / span)}%`;
    $("growth-text").textContent = `成长值 ${me.growth}，再得 ${next.growthThreshold - me.growth} 升级 V${next.level} ${next.name}`;
  } else {
    $("growth-bar").style.width = "100%";
    $("growth-text").textContent = `成长值 ${me.growth}，已是最高等级`;
  }
  renderCheckIn(me.checkIn, checkInRule);
}

function renderCheckIn(status, rule) {
  $("streak").textContent = status.streak ? `已连续签到 ${status.streak} 天` : "今天还没签到";
  $("check-in").disabled = status.checkedInToday;
  $("check-in").textContent = status.checkedInToday ? "已签到" : `签到 +${rule.basePoints}`;
  // The next check-in makes the run one longer, whether it is today's or tomorrow's.
  const day = status.streak + 1;
  const ahead = rule.streakBonuses.filter((bonus) => bonus.day >= day).sort((a, b) => a.day - b.day)[0];
  $("streak-ahead").textContent = ahead
    ? `再签 ${ahead.day - status.streak} 天，第 ${ahead.day} 天额外 +${ahead.points}`
    : "";
}

async function checkIn() {
  $("check-in").disabled = true;
  try {
    const { checkIn: result } = await mutate(CHECK_IN, {});
    if (result.userErrors.length) toast(refusal(result.userErrors));
    else toast(`签到成功 +${result.entries.reduce((sum, entry) => sum + entry.delta, 0)}`);
  } catch (error) {
    toast(`签到失败：${error.message}`);
  }
  await renderHome();
  resetLedger();
}

function resetLedger() {
  ledgerCursor = null;
  ledgerDone = false;
  $("ledger").replaceChildren();
  loadLedger();
}

async function loadLedger() {
  if (loadingLedger || ledgerDone || !token) return;
  loadingLedger = true;
  try {
    const { me } = await graphql(LEDGER, { after: ledgerCursor });
    for (const { node } of me.ledger.edges) {
      const row = document.createElement("li");
      row.className = "entry";
      const when = new Date(node.occurredAt).toLocaleString("zh-CN", { hour12: false });
      row.innerHTML = `<span><b></b><small></small></span><span class="delta"></span>`;
      row.querySelector("b").textContent = REASONS[node.reason] || node.reason;
      row.querySelector("small").textContent = `${when}${node.memo ? ` · ${node.memo}` : ""}`;
      row.querySelector(".delta").textContent = node.delta > 0 ? `+${node.delta}` : `${node.delta}`;
      row.querySelector(".delta").classList.add(node.delta > 0 ? "up" : "down");
      $("ledger").append(row);
    }
    ledgerCursor = me.ledger.pageInfo.endCursor;
    ledgerDone = !me.ledger.pageInfo.hasNextPage;
    $("ledger-end").textContent = ledgerDone ? ($("ledger").children.length ? "没有更多了" : "还没有积分明细") : "加载中…";
  } finally {
    loadingLedger = false;
  }
}

async function renderMall(category = null) {
  const { mallItems } = await graphql(MALL, { category });
  const items = mallItems.edges.map((edge) => edge.node);
  if (category === null) {
    const chips = $("categories");
    chips.replaceChildren();
    for (const slug of [null, ...new Set(items.map((item) => item.category))]) {
      const chip = document.createElement("button");
      chip.textContent = slug === null ? "全部" : CATEGORIES[slug] || slug;
      chip.setAttribute("aria-pressed", String(slug === null));
      chip.onclick = () => {
        for (const other of chips.children) other.setAttribute("aria-pressed", String(other === chip));
        renderMall(slug);
      };
      chips.append(chip);
    }
  }
  const list = $("items");
  list.replaceChildren();
  for (const item of items) {
    const tier = item.minTierLevel > 1 ? ` · V${item.minTierLevel} 以上` : "";
    list.append(actionRow(item.name, `${item.pointsPrice} 积分 · 剩 ${item.stock}${tier}`, "兑换", item.stock > 0,
      (button) => redeem(item, button)));
  }
}

/* A list row: a title, a line of detail, and a button that acts on it. */
function actionRow(title, detail, label, enabled, act) {
  const row = document.createElement("li");
  row.className = "item";
  row.innerHTML = `<span><b></b><small></small></span><button></button>`;
  row.querySelector("b").textContent = title;
  row.querySelector("small").textContent = detail;
  const button = row.querySelector("button");
  button.textContent = label;
  button.disabled = !enabled;
  button.onclick = () => act(button);
  return row;
}

async function redeem(item, button) {
  button.disabled = true;
  const message = $("mall-message");
  try {
    const { redeem: result } = await mutate(REDEEM, { item: item.id });
    if (result.userErrors.length) {
      message.textContent = `兑换失败：${refusal(result.userErrors)}`;
    } else {
      const code = result.redemption.code ? `，券码 ${result.redemption.code}` : "";
      message.textContent = `兑换成功：${result.redemption.itemName}${code}`;
    }
  } catch (error) {
    message.textContent = `兑换失败：${error.message}`;
  }
  button.disabled = false;
  await renderHome();
}

async function renderLotteries() {
  const { lotteries } = await graphql(LOTTERIES);
  const list = $("lotteries");
  list.replaceChildren();
  for (const lottery of lotteries) {
    const prizes = lottery.prizes.map((prize) => prize.name).join("、");
    list.append(actionRow(lottery.name, `${lottery.entryCost} 积分一次 · 奖品：${prizes}`,
      lottery.running ? "抽一次" : "未开放", lottery.running, (button) => draw(lottery, button)));
  }
}

async function draw(lottery, button) {
  button.disabled = true;
  const result = $("draw-result");
  try {
    const { drawLottery } = await mutate(DRAW, { lottery: lottery.id });
    if (drawLottery.userErrors.length) {
      result.textContent = `没抽成：${refusal(drawLottery.userErrors)}`;
    } else {
      const verify = new URL(location.href);
      verify.search = "";
      verify.searchParams.set("verify", drawLottery.draw.id);
      result.innerHTML = `<p class="prize"></p><a class="verify-link">验证这次抽奖是否公平</a>`;
      result.querySelector(".prize").textContent = `抽中：${drawLottery.draw.prize.name}`;
      result.querySelector("a").href = verify.href;
    }
  } catch (error) {
    result.textContent = `没抽成：${error.message}`;
  }
  button.disabled = false;
  await renderHome();
}

async function renderVerification(drawId) {
  show("verify");
  const body = $("verify-body");
  try {
    const { verifyLotteryDraw: found } = await graphql(VERIFY, { id: drawId }, { anonymous: true });
    if (!found) {
      body.textContent = "找不到这次抽奖";
      return;
    }
    const verdict = found.valid === null ? "种子尚未公开，公开后即可验证" : found.valid ? "验证通过：结果与公开种子一致" : "验证失败";
    body.innerHTML = "<p class='prize'></p><p class='verdict'></p><dl class='proof'></dl>";
    body.querySelector(".prize").textContent = `奖品：${found.draw.prize.name}`;
    body.querySelector(".verdict").textContent = verdict;
    const proof = body.querySelector(".proof");
    for (const [label, value] of [["种子承诺 (SHA-256)", found.seedCommitment], ["服务器种子", found.serverSeed || "未公开"],
      ["你的种子", found.draw.clientSeed], ["结果", found.draw.roll]]) {
      const term = document.createElement("dt");
      term.textContent = label;
      const detail = document.createElement("dd");
      detail.textContent = value;
      proof.append(term, detail);
    }
  } catch (error) {
    body.textContent = `验证失败：${error.message}`;
  }
}

async function renderLeaderboard(period = "WEEK") {
  const { leaderboard, me } = await graphql(BOARD, { period });
  const list = $("leaders");
  list.replaceChildren();
  for (const row of leaderboard) {
    const item = document.createElement("li");
    item.className = row.member.isMe ? "leader me" : "leader";
    item.innerHTML = "<span class='rank'></span><span class='name'></span><span class='score'></span>";
    item.querySelector(".rank").textContent = row.rank;
    item.querySelector(".name").textContent = row.member.displayName;
    item.querySelector(".score").textContent = row.points;
    list.append(item);
  }
  $("my-rank").textContent = me.rank ? `我的排名：第 ${me.rank.rank} 名，${me.rank.points} 积分` : "本期还没有上榜，赚点积分试试";
}

function subscribe() {
  if (socket) socket.dispose();
  socket = graphqlWs.createClient({
    url: SOCKET,
    connectionParams: () => ({ authorization: `Bearer ${token}` }),
    retryAttempts: Infinity,
    shouldRetry: () => true,
    // The page's live state on <body data-live>: a style can show it, a test can wait for it.
    on: { connected: () => { document.body.dataset.live = "connected"; },
          closed: () => { document.body.dataset.live = "closed"; } },
  });
  socket.subscribe({ query: POINTS_CHANGED }, {
    next: ({ data }) => {
      if (!data) return;
      toast(data.pointsChanged.toast);
      renderPoints(data.pointsChanged.points);
    },
    error: () => {},
    complete: () => {},
  });
  socket.subscribe({ query: ACTIVITY }, {
    next: ({ data }) => {
      if (data) $("ticker").textContent = `${data.activityFeed.memberName} ${data.activityFeed.text}`;
    },
    error: () => {},
    complete: () => {},
  });
}

// The member code changes every minute and each is honoured for two: asking every 30 s while it is
// shown keeps a code on screen that a till accepts.
const CODE_REFRESH_MS = 30_000;
let codeTimer = null;

async function renderMemberCode() {
  clearTimeout(codeTimer);
  const { me } = await graphql(MEMBER_CODE);
  $("member-qr").src = me.memberCodeQr;
  $("member-code").textContent = me.memberCode.replace(/(\d{4})(?=\d)/g, "$1 ");
  $("member-code-until").textContent = `有效至 ${new Date(me.memberCodeValidUntil).toLocaleTimeString("zh-CN")}`;
  codeTimer = setTimeout(() => {
    if (!$("tab-code").hidden) renderMemberCode().catch((error) => toast(error.message));
  }, CODE_REFRESH_MS);
}

const TABS = { ledger: resetLedger, mall: () => renderMall(), lottery: renderLotteries,
  leaderboard: () => renderLeaderboard(), code: renderMemberCode };

function openTab(name) {
  for (const button of document.querySelectorAll("[data-tab]")) {
    button.setAttribute("aria-selected", String(button.dataset.tab === name));
  }
  for (const tab of Object.keys(TABS)) $(`tab-${tab}`).hidden = tab !== name;
  if (name !== "code") clearTimeout(codeTimer);
  TABS[name]().catch((error) => toast(error.message));
}

function inView(element) {
  const box = element.getBoundingClientRect();
  return box.top < window.innerHeight && box.bottom > 0 && !element.closest("[hidden]");
}

function wire() {
  $("sign-in-form").addEventListener("submit", (event) => {
    event.preventDefault();
    signIn($("token").value);
  });
  $("sign-out").onclick = () => signOut();
  $("check-in").onclick = checkIn;
  for (const button of document.querySelectorAll("[data-tab]")) button.onclick = () => openTab(button.dataset.tab);
  for (const button of document.querySelectorAll("[data-period]")) {
    button.onclick = () => {
      for (const other of document.querySelectorAll("[data-period]")) other.setAttribute("aria-pressed", String(other === button));
      renderLeaderboard(button.dataset.period);
    };
  }
  // Infinite scroll: the next page loads as the end of the list comes into view. A report can arrive
  // late (a busy page), after a page of rows pushed the end away: where the end is now decides.
  new IntersectionObserver((seen) => {
    if (seen.some((entry) => entry.isIntersecting) && inView($("ledger-end"))) loadLedger();
  }).observe($("ledger-end"));
}

wire();
if (params.get("verify")) renderVerification(params.get("verify"));
else if (token) signIn(token);
else show("sign-in");
