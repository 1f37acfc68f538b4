// Compiled (never run) by types.test.mjs: the README's usage typed against src/index.d.ts,
// plus lines that must not compile, marked @ts-expect-error.
import {
  HeraldClient,
  HeraldError,
  type GapInfo,
  type Message,
} from '../../../clients/js/src/index.js';

declare const WebSocketImpl: { new (url: string, protocols?: string | string[]): unknown };

export async function usage(): Promise<number> {
  const client = new HeraldClient('ws://127.0.0.1:8080/', {
    WebSocket: WebSocketImpl,
    backoffCapMs: 5000,
  });
  client.on('gap', (g: GapInfo) => console.warn(g.topic, g.from, g.to, g.reason));
  client.on('close', ({ code, reason, wasClean }) => console.log(code, reason, wasClean));
  client.on('reconnecting', ({ attempt, delay }) => console.log(attempt, delay));
  const subscription = client.subscribe(
    'prices.>',
    (m: Message) => console.log(m.topic, m.seq, m.data),
    {
      policy: 'conflate',
    },
  );
  const { complete }: { complete: boolean } = await subscription.ready;
  await client.connect();
  const seq: number = await client.publish('prices.nasdaq.AAPL', { bid: 189.3 });
  await client.publish('frames.cam1', new Uint8Array([1, 2, 3]));
  await client.publish('t', 'text', { echo: false });
  // @ts-expect-error: not a policy
  client.subscribe('a', () => {}, { policy: 'fast' });
  // @ts-expect-error: not an event
  client.on('message', () => {});
  await subscription.unsubscribe();
  try {
    await client.publish('a', 1);
  } catch (error) {
    if (error instanceof HeraldError) console.log(error.code, error.text);
  }
  client.close();
  return complete ? seq : 0;
}
