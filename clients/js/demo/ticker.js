// The ticker page: one subscription to `ticker.*` with the conflate policy (a slow screen
// only ever needs the newest price), each update drawn into its symbol's card.
import { HeraldClient } from '../src/index.js';

const params = new URLSearchParams(location.search);
const brokerUrl = params.get('broker') ?? `ws://${location.hostname}:8080/`;
const board = document.getElementById('board');
const cards = new Map();
let updates = 0;

function cardFor(symbol) {
  let card = cards.get(symbol);
  if (card) return card;
  const element = document.createElement('div');
  element.className = 'quote';
  element.innerHTML =
    '<div class="symbol"></div><div class="price"></div><div class="change"></div>';
  element.querySelector('.symbol').textContent = symbol;
  // Cards stay in alphabetical order whatever order the first prices arrive in.
  const next = [...cards.keys()].sort().find((other) => other > symbol);
  board.insertBefore(element, next ? cards.get(next).element : null);
  card = { element, price: null };
  cards.set(symbol, card);
  document.getElementById('symbols').textContent = String(cards.size);
  return card;
}

function show({ data }) {
  if (typeof data !== 'object' || data === null || typeof data.price !== 'number') return;
  const card = cardFor(String(data.symbol));
  const { element } = card;
  element.querySelector('.price').textContent = data.price.toFixed(2);
  const change = Number(data.change);
  element.querySelector('.change').textContent = `${change >= 0 ? '+' : ''}${change.toFixed(2)}%`;
  element.classList.toggle('up', change >= 0);
  element.classList.toggle('down', change < 0);
  if (card.price !== null && data.price !== card.price) {
    const flash = data.price > card.price ? 'flash-up' : 'flash-down';
    element.classList.add(flash);
    requestAnimationFrame(() => requestAnimationFrame(() => element.classList.remove(flash)));
  }
  card.price = data.price;
  document.getElementById('updates').textContent = String(++updates);
}

const client = new HeraldClient(brokerUrl);
client.on('state', ({ state }) => {
  const label = document.getElementById('state');
  label.textContent = state;
  label.className = `state-${state}`;
});
client.subscribe('ticker.*', show, { policy: 'conflate' });
client.connect();
window.ticker = { client, cards };
