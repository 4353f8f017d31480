// Starts the real `tessera` release binary for the Node suite, exactly as an operator would:
// `tessera serve --listen 127.0.0.1:0` with a temporary data dir, fixed root credentials and the
// cheap password-hashing cost. The first stdout line gives the port.

import { execFileSync, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { createHmac, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, openSync, closeSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { CognitoIdentityProviderClient } from "@aws-sdk/client-cognito-identity-provider";

export const REGION = "us-east-1";
export const ROOT_ACCESS_KEY_ID = "AKIATESTTESTTEST0001";
export const ROOT_SECRET_ACCESS_KEY = "tessera/client/tests/0123456789abcdefSECRET";

const here = dirname(fileURLToPath(import.meta.url));

export function tesseraBin() {
  const fallback = resolve(here, "..", "..", "..", "..", "target", "release", "tessera");
  return resolve(process.env.TESSERA_BIN || fallback);
}

const BANNER = /^Tessera \S+ listening on (http:\/\/127\.0\.0\.1:(\d+))\s*$/;

// `args`: extra `tessera serve` flags (e.g. --smtp-url, --sms-webhook).
export async function startServer({ dataDir, port = 0, args = [], env: extraEnv = {} } = {}) {
  const bin = tesseraBin();
  if (!existsSync(bin)) {
    throw new Error(`tessera binary not found at ${bin}; build it or set TESSERA_BIN`);
  }
  const ownDir = !dataDir;
  const root = ownDir ? mkdtempSync(join(tmpdir(), "tessera-node-")) : dirname(dataDir);
  dataDir = dataDir || join(root, "data");
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith("TESSERA_") || k === "TESSERA_LOG"),
  );
  env.TESSERA_ROOT_ACCESS_KEY_ID = ROOT_ACCESS_KEY_ID;
  env.TESSERA_ROOT_SECRET_ACCESS_KEY = ROOT_SECRET_ACCESS_KEY;
  // Suites go faster than Cognito's default request rates; quota tests turn them back on.
  env.TESSERA_QUOTAS = "false";
  Object.assign(env, extraEnv);
  const logPath = join(root, `stderr-${Date.now()}.log`);
  const log = openSync(logPath, "w");
  const child = spawn(
    bin,
    ["serve", "--listen", `127.0.0.1:${port}`, "--data-dir", dataDir, "--hash-cost", "insecure-fast", ...args],
    { env, stdio: ["ignore", "pipe", log] },
  );
  closeSync(log);
  // Never leave a server behind, even when the test process dies early.
  const reap = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  process.once("exit", reap);
  const stderrTail = () => {
    try {
      return readFileSync(logPath, "utf8").split("\n").slice(-30).join("\n");
    } catch {
      return "(no stderr)";
    }
  };
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise((resolveLine, reject) => {
    const timer = setTimeout(() => reject(new Error(`tessera did not start in time: ${stderrTail()}`)), 30000);
    lines.once("line", (line) => {
      clearTimeout(timer);
      resolveLine(line);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`tessera exited with ${code}: ${stderrTail()}`));
    });
  });
  lines.on("line", () => {}); // keep draining stdout
  const m = BANNER.exec(first);
  if (!m) {
    child.kill("SIGKILL");
    throw new Error(`unexpected first line ${JSON.stringify(first)}`);
  }
  const endpoint = m[1];
  const exited = new Promise((r) => child.once("exit", r));
  return {
    endpoint,
    port: Number(m[2]),
    dataDir,
    stderrTail,
    issuer: (poolId) => `${endpoint}/${poolId}`,
    // Another `tessera` command on this server's data dir, as an operator on the host would run
    // it while the server runs; e.g. cli("keys", "rotate", "--pool", id). Returns its stdout.
    cli: (command, ...rest) =>
      execFileSync(bin, [command, ...rest, "--data-dir", dataDir], { env, encoding: "utf8", timeout: 30000 }),
    client: (credentials = { accessKeyId: ROOT_ACCESS_KEY_ID, secretAccessKey: ROOT_SECRET_ACCESS_KEY }) =>
      new CognitoIdentityProviderClient({ region: REGION, endpoint, credentials, maxAttempts: 1 }),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10000);
        await exited;
        clearTimeout(timer);
      }
      if (ownDir) rmSync(root, { recursive: true, force: true });
    },
  };
}

export function secretHash(username, clientId, clientSecret) {
  return createHmac("sha256", clientSecret).update(username + clientId).digest("base64");
}

export function unique(prefix = "u") {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}

export function password() {
  return `Pw1!${randomBytes(9).toString("base64url")}aZ9`;
}
