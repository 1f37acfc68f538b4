// The ticker demo in one command: optionally starts a broker, serves the page on 127.0.0.1 and
// runs the simulated price feed. Usage (from the repository root):
//   node clients/js/demo/serve.mjs --herald build/release/broker/herald
//   node clients/js/demo/serve.mjs --broker 127.0.0.1:8080      (a broker already running)
// Options: --http-port N (the page, default 8000), --broker-port N (default 8080).

import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { startPublisher } from './publisher.mjs';
import { startStaticServer } from './static_server.mjs';

const { values } = parseArgs({
  options: {
    herald: { type: 'string' },
    broker: { type: 'string' },
    'http-port': { type: 'string', default: '8000' },
    'broker-port': { type: 'string', default: '8080' },
  },
});

const clientRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const brokerHost = values.broker ?? `127.0.0.1:${values['broker-port']}`;

let broker = null;
if (values.herald) {
  broker = spawn(values.herald, ['--host', '127.0.0.1', '--port', values['broker-port']], {
    stdio: 'inherit',
  });
  broker.once('exit', (code) => {
    console.error(`herald exited (${code})`);
    process.exit(1);
  });
  await waitForBroker(`http://${brokerHost}/healthz`);
}

const { server, origin } = await startStaticServer(
  { '/': clientRoot },
  Number(values['http-port']),
);
const publisher = startPublisher(`http://${brokerHost}`);
publisher.ready.catch((error) => {
  console.error(`cannot publish to ${brokerHost}: ${error.message}`);
  process.exit(1);
});
console.log(`ticker: open ${origin}/demo/?broker=ws://${brokerHost}/  (Ctrl-C stops)`);

const shutdown = async () => {
  await publisher.stop();
  server.close();
  broker?.removeAllListeners('exit');
  broker?.kill('SIGTERM');
  process.exit(0);
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);

async function waitForBroker(url) {
  for (let i = 0; i < 100; ++i) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no broker at ${url} after 10 s`);
}
