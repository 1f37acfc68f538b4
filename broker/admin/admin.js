// The admin page: asks for the admin token (kept in sessionStorage), subscribes to $sys.stats
// and $sys.topics with Herald's own JavaScript client and draws what they say. No framework.
import { HeraldClient } from '/admin/js/index.js';

const kTokenKey = 'herald-admin-token';
const kHistory = 60; // seconds of sparkline

const $ = (id) => document.getElementById(id);
const series = { publishes: [], deliveries: [] };
let client = null;

function number(value) {
  if (value === null || value === undefined) return '–';
  if (value >= 1e6) return `${(value / 1e6).toFixed(1)}M`;
  if (value >= 1e4) return `${(value / 1e3).toFixed(1)}k`;
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

// The last kHistory seconds across the card's width (stretched while fewer are known).
function spark(id, values) {
  const max = Math.max(1, ...values);
  const step = kHistory / Math.max(1, values.length - 1);
  const points = values.map((v, i) => {
    const x = (i * step).toFixed(2);
    return `${i === 0 ? 'M' : 'L'}${x},${(20 - (v / max) * 19).toFixed(2)}`;
  });
  $(id).querySelector('path').setAttribute('d', points.join(' '));
}

function fill(list, entries) {
  list.replaceChildren();
  for (const [name, value] of entries) {
    const dt = document.createElement('dt');
    dt.textContent = name.replaceAll('_', ' ');
    const dd = document.createElement('dd');
    dd.textContent = number(value);
    list.append(dt, dd);
  }
}

function showStats(s) {
  $('connections').textContent = number(s.connections);
  $('subscriptions').textContent = number(s.subscriptions);
  $('topics').textContent = number(s.topics);
  $('publishes').textContent = number(s.publishes_per_s);
  $('deliveries').textContent = number(s.deliveries_per_s);
  for (const [key, field] of [['publishes', 'publishes_per_s'], ['deliveries', 'deliveries_per_s']]) {
    series[key].push(s[field]);
    if (series[key].length > kHistory) series[key].shift();
    spark(`${key}-line`, series[key]);
  }
  $('storage').textContent = s.storage;
  $('storage').className = s.storage === 'failing' ? 'error' : '';
  $('redis').textContent = s.redis === null ? 'not configured' : s.redis;
  const up = s.uptime_s < 120 ? `${s.uptime_s} s` : `${Math.floor(s.uptime_s / 60)} min`;
  $('meta').textContent = `version ${s.version} · up ${up}`;
  const workers = $('workers');
  workers.replaceChildren();
  s.workers.forEach((w, i) => {
    const row = document.createElement('div');
    row.className = 'bar';
    const percent = w.busy * 100;
    const text = percent < 10 ? percent.toFixed(1) : percent.toFixed(0);
    row.innerHTML = `<small>worker ${i}</small><div><span></span></div><small>${text}%</small>`;
    row.querySelector('span').style.width = `${percent}%`;
    workers.append(row);
  });
  fill($('slow'), Object.entries(s.slow_consumers));
  const refused = Object.entries(s.refusals).filter(([, n]) => n > 0);
  fill($('refusals'), refused.length > 0 ? refused : [['none', 0]]);
}

function showTopics(t) {
  const body = $('busiest');
  body.replaceChildren();
  if (t.topics.length === 0) {
    body.innerHTML = '<tr><td colspan="3" class="quiet">no publishes</td></tr>';
    return;
  }
  for (const row of t.topics) {
    const tr = document.createElement('tr');
    for (const [text, cls] of [
      [row.topic, ''],
      [number(row.publishes_per_s), 'num'],
      [number(row.subscribers), 'num'],
    ]) {
      const td = document.createElement('td');
      td.textContent = text;
      td.className = cls;
      tr.append(td);
    }
    body.append(tr);
  }
}

function setStatus(text, cls) {
  $('status').textContent = text;
  $('status').className = `status ${cls}`;
}

function showLogin(error) {
  $('dashboard').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = error ?? '';
  setStatus('not connected', '');
}

async function connect(token) {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  client?.close();
  client = new HeraldClient(`${scheme}://${location.host}/`, { token });
  client.on('state', ({ state }) => setStatus(state === 'open' ? 'live' : state,
    state === 'open' ? 'live' : 'down'));
  try {
    await client.connect({ timeoutMs: 5000 });
    const stats = client.subscribe('$sys.stats', (m) => showStats(m.data));
    const topics = client.subscribe('$sys.topics', (m) => showTopics(m.data));
    await Promise.all([stats.ready, topics.ready]);
  } catch (error) {
    client.close();
    client = null;
    sessionStorage.removeItem(kTokenKey);
    showLogin(`refused: ${error.message}`);
    return;
  }
  sessionStorage.setItem(kTokenKey, token);
  $('login').hidden = true;
  $('dashboard').hidden = false;
}

$('login').addEventListener('submit', (event) => {
  event.preventDefault();
  connect($('token').value.trim());
});

const saved = sessionStorage.getItem(kTokenKey);
if (saved) {
  $('login').hidden = true;
  setStatus('connecting', '');
  connect(saved);
}
