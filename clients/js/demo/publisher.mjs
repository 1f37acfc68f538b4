// The ticker demo's price feed: a random walk for a few dozen symbols, each update published
// to `ticker.<SYMBOL>` through the broker's HTTP publish endpoint (PROTOCOL.md section 7), so
// it needs nothing but Node's fetch.

export const kSymbols = [
  'AAPL',
  'MSFT',
  'NVDA',
  'AMZN',
  'GOOGL',
  'META',
  'TSLA',
  'AVGO',
  'ORCL',
  'ADBE',
  'CRM',
  'AMD',
  'INTC',
  'CSCO',
  'QCOM',
  'TXN',
  'IBM',
  'NFLX',
  'PYPL',
  'SHOP',
  'UBER',
  'ABNB',
  'SNOW',
  'PLTR',
  'JPM',
  'BAC',
  'GS',
  'V',
  'MA',
  'KO',
  'PEP',
  'MCD',
  'NKE',
  'DIS',
  'WMT',
  'XOM',
];

/**
 * Publishes `updatesPerTick` random price moves every `intervalMs` to the broker at `httpUrl`
 * (http://host:port). Every symbol is published once at start. Returns { stop() }.
 */
export function startPublisher(
  httpUrl,
  { intervalMs = 100, updatesPerTick = 6, random = Math.random } = {},
) {
  const prices = new Map(kSymbols.map((s) => [s, { open: 20 + random() * 480 }]));
  for (const state of prices.values()) state.last = state.open;
  let stopped = false;
  let inFlight = Promise.resolve();

  const publish = (symbol) => {
    const state = prices.get(symbol);
    state.last = Math.max(1, state.last * (1 + (random() - 0.5) * 0.004));
    const body = JSON.stringify({
      symbol,
      price: Number(state.last.toFixed(2)),
      change: Number((((state.last - state.open) / state.open) * 100).toFixed(2)),
      time: Date.now(),
    });
    return fetch(`${httpUrl}/publish?topic=ticker.${symbol}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body,
    }).then((response) => {
      if (!response.ok) throw new Error(`publish ${symbol}: HTTP ${response.status}`);
      return response.arrayBuffer();
    });
  };

  const tick = () => {
    if (stopped) return;
    const batch = Array.from(
      { length: updatesPerTick },
      () => kSymbols[Math.floor(random() * kSymbols.length)],
    );
    // One batch at a time: a slow broker slows the feed rather than piling up requests.
    inFlight = Promise.all(batch.map(publish))
      .catch((error) => console.error(`ticker publisher: ${error.message}`))
      .finally(() => setTimeout(tick, intervalMs));
  };
  const ready = Promise.all(kSymbols.map(publish)).then(tick);
  return {
    ready,
    stop() {
      stopped = true;
      return inFlight;
    },
  };
}
