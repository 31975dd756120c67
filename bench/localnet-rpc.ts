/**
 * Local chain RPC benchmark: sendTransaction throughput over HTTP (vs. in-process chain.sendTransaction), and one
 * filtered getProgramAccounts over 100,000 user stake accounts (time, response size, peak RSS).
 *
 *   node_modules/.bin/node bench/localnet-rpc.ts [transactions=4000] [connections=4] [accounts=100000]
 *
 * The chain and the RPC server run in this process; the HTTP client runs in a forked child process so that
 * building and parsing requests does not take CPU from the server it is measuring.
 */
import { fork } from "node:child_process";
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import { Agent, request } from "node:http";
import { createChain } from "../localnet/chain.ts";
import { createRpcServer } from "../localnet/rpc/index.ts";
import { decodeBase58, encodeBase58 } from "../src/solana/base58.ts";
import { USER_STAKE_DISCRIMINATOR, USER_STAKE_SIZE } from "../src/solana/program.ts";

const STAKING_PROGRAM_ID = "Fg6PaFpoGXkYsidMpWTK6W2BeZ7FEfcYkg476zPFsLnS";
const SYSTEM_PROGRAM = new Uint8Array(32);
const LAMPORTS = 10_000_000_000n;

// ---- wire transactions, signed with node:crypto (web3.js signing would dominate the run) ----

interface Signer {
  key: KeyObject;
  pubkey: Uint8Array;
}

function newSigner(): Signer {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const der = publicKey.export({ format: "der", type: "spki" });
  return { key: privateKey, pubkey: new Uint8Array(der.subarray(der.length - 32)) };
}

/** A legacy System transfer: header, keys [from, to, system], blockhash, one instruction. */
function transferTx(from: Signer, to: Uint8Array, lamports: bigint, blockhash: Uint8Array): Uint8Array {
  const data = Buffer.alloc(12);
  data.writeUInt32LE(2, 0);
  data.writeBigUInt64LE(lamports, 4);
  const message = Buffer.concat([
    Buffer.from([1, 0, 1, 3]),
    from.pubkey,
    to,
    SYSTEM_PROGRAM,
    blockhash,
    Buffer.from([1, 2, 2, 0, 1, data.length]),
    data,
  ]);
  const signature = sign(null, message, from.key);
  return new Uint8Array(Buffer.concat([Buffer.from([1]), signature, message]));
}

// ---- child: the HTTP client ----

type ClientJob =
  | { kind: "send"; httpUrl: string; transactions: number; connections: number }
  | { kind: "gpa"; httpUrl: string; pool: string };

function post(agent: Agent, url: URL, body: string): Promise<{ text: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { agent, host: url.hostname, port: url.port, method: "POST", path: "/", headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) } },
      (res) => {
        const parts: Buffer[] = [];
        let bytes = 0;
        res.on("data", (c: Buffer) => {
          bytes += c.length;
          parts.push(c);
        });
        res.on("end", () => resolve({ text: Buffer.concat(parts).toString("utf8"), bytes }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function runClient(job: ClientJob): Promise<Record<string, number>> {
  const url = new URL(job.httpUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: job.kind === "send" ? job.connections : 1 });
  try {
    return job.kind === "send" ? await sendJob(job, url, agent) : await gpaJob(job, url, agent);
  } finally {
    agent.destroy();
  }
}

async function sendJob(job: Extract<ClientJob, { kind: "send" }>, url: URL, agent: Agent): Promise<Record<string, number>> {
  let id = 0;
  const call = async (method: string, params: unknown[]) => {
    const { text } = await post(agent, url, JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params }));
    const json = JSON.parse(text);
    if (json.error) throw new Error(`${method}: ${json.error.message}`);
    return json.result;
  };

  // fund distinct signers through the surfnet_setAccount cheatcode, 100 per JSON-RPC batch
  const signers = Array.from({ length: job.transactions }, newSigner);
  const destination = randomBytes(32);
  await call("surfnet_setAccount", [encodeBase58(destination), { lamports: 1_000_000_000 }]);
  for (let i = 0; i < signers.length; i += 100) {
    const batch = signers.slice(i, i + 100).map((s, j) => ({
      jsonrpc: "2.0",
      id: i + j,
      method: "surfnet_setAccount",
      params: [encodeBase58(s.pubkey), { lamports: Number(LAMPORTS) }],
    }));
    const { text } = await post(agent, url, JSON.stringify(batch));
    const replies = JSON.parse(text) as { error?: unknown }[];
    if (replies.length !== batch.length || replies.some((r) => r.error)) throw new Error("funding batch failed");
  }
  const { value: latest } = await call("getLatestBlockhash", [{ commitment: "confirmed" }]);
  const blockhash = decodeBase58(latest.blockhash)!;
  const bodies = signers.map((s, i) =>
    JSON.stringify({
      jsonrpc: "2.0",
      id: i,
      method: "sendTransaction",
      // preflight at the level the blockhash was read at (the validator's default, finalized, has not seen it yet)
      params: [Buffer.from(transferTx(s, destination, 1000n + BigInt(i), blockhash)).toString("base64"), { encoding: "base64", preflightCommitment: "confirmed" }],
    }),
  );

  let next = 0;
  let failures = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const body = bodies[next++]!;
      const { text } = await post(agent, url, body);
      if (text.includes('"error"')) failures++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: job.connections }, worker));
  const sendSeconds = (performance.now() - started) / 1000;
  return { sendSeconds, failures };
}

async function gpaJob(job: Extract<ClientJob, { kind: "gpa" }>, url: URL, agent: Agent): Promise<Record<string, number>> {
  // one filtered getProgramAccounts: dataSize 147 + discriminator + pool
  const gpaBody = JSON.stringify({
    jsonrpc: "2.0",
    id: "gpa",
    method: "getProgramAccounts",
    params: [
      STAKING_PROGRAM_ID,
      {
        encoding: "base64",
        commitment: "confirmed",
        filters: [
          { dataSize: USER_STAKE_SIZE },
          { memcmp: { offset: 0, bytes: encodeBase58(USER_STAKE_DISCRIMINATOR) } },
          { memcmp: { offset: 40, bytes: job.pool } },
        ],
      },
    ],
  });
  const gpaStarted = performance.now();
  const gpa = await post(agent, url, gpaBody);
  const gpaSeconds = (performance.now() - gpaStarted) / 1000;
  const matched = (JSON.parse(gpa.text) as { result: unknown[] }).result.length;
  return { gpaSeconds, gpaBytes: gpa.bytes, matched };
}

// ---- parent: chain, server, in-process baseline ----

function inProcessRate(n: number): number {
  const chain = createChain({ slotMs: 0 });
  try {
    const blockhash = decodeBase58(chain.latestBlockhash().blockhash)!;
    const destination = randomBytes(32);
    chain.setAccount(encodeBase58(destination), { lamports: 1_000_000_000n });
    const signers = Array.from({ length: n }, newSigner);
    for (const s of signers) chain.setAccount(encodeBase58(s.pubkey), { lamports: LAMPORTS });
    const txs = signers.map((s, i) => transferTx(s, destination, 1000n + BigInt(i), blockhash));
    const started = performance.now();
    for (const tx of txs) chain.sendTransaction(tx, { skipPreflight: false });
    return n / ((performance.now() - started) / 1000);
  } finally {
    chain.close();
  }
}

/** Runs one client job in a forked child process and returns its figures. */
function inChild(job: ClientJob): Promise<Record<string, number>> {
  const child = fork(new URL(import.meta.url).pathname, ["--client"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  return new Promise((resolve, reject) => {
    child.once("message", (m) => resolve(m as Record<string, number>));
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code !== 0) reject(new Error(`benchmark client exited with ${code}`));
    });
    child.send(job);
  });
}

async function runParent(): Promise<void> {
  const transactions = Number(process.argv[2] ?? 4000);
  const connections = Number(process.argv[3] ?? 4);
  const accounts = Number(process.argv[4] ?? 100_000);
  if (transactions < 2000) throw new Error("use at least 2,000 transactions");

  const inProcess = inProcessRate(transactions);

  const chain = createChain({ slotMs: 0 });
  const server = createRpcServer({ chain });
  const { httpUrl } = await server.listen({ host: "127.0.0.1", httpPort: 0, wsPort: 0 });
  const sent = await inChild({ kind: "send", httpUrl, transactions, connections });

  const pool = randomBytes(32);
  const data = Buffer.alloc(USER_STAKE_SIZE);
  USER_STAKE_DISCRIMINATOR.copy(data, 0);
  pool.copy(data, 40);
  const setupStarted = performance.now();
  for (let i = 0; i < accounts; i++) {
    randomBytes(32).copy(data, 8);
    data.writeBigUInt64LE(BigInt(i + 1) * 1_000_000_000n, 72);
    chain.setAccount(encodeBase58(randomBytes(32)), {
      lamports: 1_914_240n,
      data: new Uint8Array(data),
      owner: STAKING_PROGRAM_ID,
    });
  }
  const setupSeconds = (performance.now() - setupStarted) / 1000;
  const rssBefore = process.memoryUsage.rss();
  let rssPeakSampled = rssBefore;
  const sampler = setInterval(() => {
    rssPeakSampled = Math.max(rssPeakSampled, process.memoryUsage.rss());
  }, 5);
  const gpa = await inChild({ kind: "gpa", httpUrl, pool: encodeBase58(pool) });
  clearInterval(sampler);
  const peakRss = process.resourceUsage().maxRSS * 1024;
  await server.close();
  chain.close();

  const httpRate = transactions / sent.sendSeconds!;
  const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
  console.log(`sendTransaction: ${transactions} pre-signed SOL transfers, ${connections} keep-alive connections`);
  console.log(`  over HTTP:       ${httpRate.toFixed(0)} tx/s (${sent.failures} errors)`);
  console.log(`  in-process:      ${inProcess.toFixed(0)} tx/s (chain.sendTransaction)`);
  console.log(`  ratio HTTP/in-process: ${(httpRate / inProcess).toFixed(2)}`);
  console.log(`getProgramAccounts: ${accounts} user stake accounts (set up in ${setupSeconds.toFixed(1)} s)`);
  console.log(`  filters dataSize ${USER_STAKE_SIZE} + discriminator memcmp + pool memcmp @40, base64`);
  console.log(`  matched ${gpa.matched} accounts in ${gpa.gpaSeconds!.toFixed(2)} s, response ${mb(gpa.gpaBytes!)} MB`);
  console.log(`  server process RSS: ${mb(rssBefore)} MB before the call, ${mb(rssPeakSampled)} MB peak during the run, ${mb(peakRss)} MB peak (maxRSS, whole run)`);
}

if (process.argv[2] === "--client") {
  process.once("message", (job) => {
    runClient(job as ClientJob).then(
      (result) => process.send!(result, () => process.exit(0)),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
} else {
  await runParent();
}
