// Reconnect delays: exponential backoff with full jitter and a cap ("Exponential Backoff And
// Jitter", AWS Architecture Blog, 2015): attempt n waits a uniform random time in
// [0, min(cap, base * 2^(n-1))], so a fleet of clients does not reconnect in lockstep.

export function backoffDelay(attempt, baseMs, capMs, random = Math.random) {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.floor(random() * ceiling);
}
