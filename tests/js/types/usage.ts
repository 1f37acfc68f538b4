// Compiled (never run) by types.test.mjs: the README's usage typed against the generated
// declarations (clients/js/types), plus lines that must not compile, marked @ts-expect-error.
import {
  HeraldClient,
  HeraldError,
  type ErrorCode,
  type GapInfo,
  type Message,
  type SubscriptionState,
} from '../../../clients/js/types/index.js';

// The `ws` package's constructor, as its own declarations would describe it.
declare const WebSocketImpl: {
  new (
    url: string,
    protocols?: string | string[],
  ): {
    binaryType: 'nodebuffer' | 'arraybuffer' | 'fragments';
    send(data: string | Uint8Array | ArrayBuffer, cb?: (error?: Error) => void): void;
    close(code?: number, reason?: string): void;
  };
};

interface Quote {
  bid: number;
}

export async function usage(): Promise<number> {
  const client = new HeraldClient(['ws://127.0.0.1:8080/', 'ws://127.0.0.1:8081/'], {
    WebSocket: WebSocketImpl,
    backoffCapMs: 5000,
  });
  new HeraldClient('ws://127.0.0.1:8080/', { WebSocket: globalThis.WebSocket });
  client.on('gap', (g: GapInfo) => console.warn(g.topic, g.from, g.to, g.reason));
  client.on('close', ({ code, reason, wasClean }) => console.log(code, reason, wasClean));
  client.on('reconnecting', ({ attempt, delay, url, planned }) => [attempt, delay, url, planned]);
  client.on('error', (error) => {
    if (error instanceof HeraldError && error.code === 'handler_failed') {
      console.log(error.topic, error.seq, error.cause);
    }
  });
  const subscription = client.subscribe<Quote>(
    'prices.>',
    (m: Message<Quote>) => console.log(m.topic, m.seq, m.data.bid.toFixed(2)),
    { policy: 'conflate' },
  );
  subscription.on('state', ({ state, previous }) => {
    const states: SubscriptionState[] = [state, previous];
    return states;
  });
  const { complete }: { complete: boolean } = await subscription.ready;
  await client.connect({ timeoutMs: 5000 });
  await client.ready({ signal: AbortSignal.timeout(1000) });
  const controller = new AbortController();
  const seq: number = await client.publish(
    'prices.nasdaq.AAPL',
    { bid: 189.3 },
    { signal: controller.signal, timeoutMs: 2000 },
  );
  await client.publish('frames.cam1', new Uint8Array([1, 2, 3]));
  await client.publish('t', 'text', { echo: false });

  const stream = client.subscribe<Quote>('prices.*', { bufferSize: 64, signal: controller.signal });
  for await (const m of stream) {
    const bid: number = m.data.bid;
    // @ts-expect-error: Quote has no ask
    console.log(bid, m.data.ask);
    break;
  }
  // @ts-expect-error: data is unknown until the caller says what it is
  client.subscribe('raw', (m) => m.data.bid);
  // @ts-expect-error: not a policy
  client.subscribe('a', () => {}, { policy: 'fast' });
  // @ts-expect-error: not an event
  client.on('message', () => {});
  // @ts-expect-error: emit is the client's own
  client.emit('open');
  // @ts-expect-error: the client drives a subscription's state, not the caller
  subscription.setState('live');
  // @ts-expect-error: publish options are checked
  client.publish('a', 1, { timeout: 5 });
  await subscription.unsubscribe();
  try {
    await client.publish('a', 1);
  } catch (error) {
    if (error instanceof HeraldError) {
      const code: ErrorCode = error.code;
      // @ts-expect-error: not a code PROTOCOL.md or the client defines
      if (code === 'bad_thing') return 0;
      console.log(code, error.text);
    }
  }
  client.close();
  return complete ? seq : 0;
}
