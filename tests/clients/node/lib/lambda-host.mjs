// A small AWS Lambda Invoke API host for the trigger tests: what Tessera calls when a pool's
// LambdaConfig names a function and `tessera serve --lambda-endpoint` points here.
//
//   POST /2015-03-31/functions/{FunctionName}/invocations
//   X-Amz-Invocation-Type: RequestResponse | Event
//
// FunctionName is the ARN from LambdaConfig, URL-encoded as one path segment. The function's
// name (the ARN's last segment after `function:`, without a qualifier) picks a handler module in
// functions/ (`pre-sign-up` -> functions/pre-sign-up.mjs, an ES module exporting `handler` as
// the Node.js Lambda runtime expects of .mjs files). It is called as the runtime calls it:
// `await handler(event, context)` (or with a callback for three-argument handlers). Its result is
// the answer; a thrown error becomes Lambda's function error: 200 with
// `X-Amz-Function-Error: Unhandled` and `{errorType, errorMessage, trace}`. `Event` invocations
// are answered 202 at once and run afterwards. Every invocation is recorded for assertions.

import { createServer } from "node:http";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const FUNCTIONS_DIR = resolve(here, "..", "functions");
export const ACCOUNT = "123456789012";
export const REGION = "us-east-1";

/** The ARN a pool's LambdaConfig uses for function `name`. */
export const arn = (name) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;

/** `pre-sign-up` from `arn:aws:lambda:…:function:pre-sign-up[:qualifier]` (or a plain name). */
export function functionName(fn) {
  const i = fn.indexOf(":function:");
  return i < 0 ? fn : fn.slice(i + ":function:".length).split(":")[0];
}

function lambdaContext(fn, timeoutMs = 5000) {
  const name = functionName(fn);
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: name,
    functionVersion: "$LATEST",
    invokedFunctionArn: fn.startsWith("arn:") ? fn : arn(name),
    memoryLimitInMB: "128",
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: `${new Date().toISOString().slice(0, 10).replaceAll("-", "/")}/[$LATEST]${randomUUID().replaceAll("-", "")}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

const PREFIX = "/2015-03-31/functions/";
const SUFFIX = "/invocations";

function send(res, status, headers, body) {
  if (res.destroyed) return;
  const bytes = Buffer.from(body);
  res.writeHead(status, { "X-Amzn-RequestId": randomUUID(), "Content-Length": bytes.length, ...headers });
  res.end(bytes);
}
const sendJson = (res, status, headers, value) =>
  send(res, status, { "Content-Type": "application/json", ...headers }, JSON.stringify(value ?? null));

/** Calls `handler` as the Node.js runtime does: a promise, or a callback for (event, context, cb). */
function invoke(handler, event, context) {
  if (handler.length >= 3) {
    return new Promise((resolvePromise, reject) => {
      const r = handler(event, context, (err, value) => (err ? reject(err) : resolvePromise(value)));
      if (r && typeof r.then === "function") r.then(resolvePromise, reject);
    });
  }
  return Promise.resolve().then(() => handler(event, context));
}

export async function startLambdaHost({ functionsDir = FUNCTIONS_DIR } = {}) {
  const invocations = [];
  const modules = new Map();
  const raw = new Map();
  const waiters = new Set();
  const notify = () => waiters.forEach((w) => w());

  async function load(name) {
    if (!modules.has(name)) {
      const file = join(functionsDir, `${name}.mjs`);
      if (!existsSync(file)) return null;
      modules.set(name, await import(pathToFileURL(file).href));
    }
    return modules.get(name);
  }

  async function run(mod, inv) {
    try {
      // The handler gets its own copy: the record keeps the event as it arrived.
      inv.answer = await invoke(mod.handler, structuredClone(inv.event), lambdaContext(inv.function));
      inv.status ||= 200;
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      inv.status ||= 200;
      inv.error = e.message;
      inv.answer = { errorType: e.name || "Error", errorMessage: e.message, trace: String(e.stack || "").split("\n") };
    }
    inv.done = true;
    notify();
  }

  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", async () => {
      const path = req.url.split("?")[0];
      if (req.method !== "POST" || !path.startsWith(PREFIX) || !path.endsWith(SUFFIX)) {
        return sendJson(res, 404, { "x-amzn-ErrorType": "ResourceNotFoundException" }, { Type: "User", message: `No route ${path}` });
      }
      const fn = decodeURIComponent(path.slice(PREFIX.length, -SUFFIX.length));
      const name = functionName(fn);
      let event;
      try {
        event = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
      } catch {
        return sendJson(res, 400, { "x-amzn-ErrorType": "InvalidRequestContentException" }, { Type: "User", message: "Could not parse request body into json" });
      }
      const kind = req.headers["x-amz-invocation-type"];
      const inv = { path, function: fn, name, invocationType: kind, headers: { ...req.headers }, event, status: 0, error: null, answer: undefined, done: false };
      invocations.push(inv);

      if (raw.has(name)) {
        const { status, headers, body } = raw.get(name);
        inv.status = status;
        inv.done = true;
        notify();
        return send(res, status, headers, body);
      }
      const mod = await load(name);
      if (!mod) {
        inv.status = 404;
        inv.done = true;
        notify();
        return sendJson(res, 404, { "x-amzn-ErrorType": "ResourceNotFoundException" }, { Type: "User", message: `Function not found: ${fn}` });
      }
      if (kind === "Event") {
        inv.status = 202;
        send(res, 202, {}, "");
        return run(mod, inv);
      }
      await run(mod, inv);
      return sendJson(res, 200, inv.error !== null ? { "X-Amz-Function-Error": "Unhandled" } : {}, inv.answer);
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  const endpoint = `http://127.0.0.1:${port}`;

  const matches = (name, poolId) => (i) => i.name === name && (!poolId || i.event?.userPoolId === poolId);
  return {
    endpoint,
    invocations,
    /** `tessera serve` flags sending every trigger here. */
    serverArgs: () => ["--lambda-endpoint", endpoint, "--lambda-allow-private"],
    calls: (name, poolId) => invocations.filter(matches(name, poolId)),
    events: (name, poolId) => invocations.filter(matches(name, poolId)).map((i) => i.event),
    /** From now on, function `name` answers exactly this. */
    respondRaw(name, body, { status = 200, headers = {} } = {}) {
      raw.set(name, { status, headers, body });
    },
    reset: (name) => raw.delete(name),
    /** The first `count` finished invocations of `name` (for `poolId`), waiting for them. */
    async waitFor(name, count = 1, poolId = undefined, timeoutMs = 10000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const got = invocations.filter((i) => matches(name, poolId)(i) && i.done);
        if (got.length >= count) return got.slice(0, count);
        if (Date.now() > deadline) throw new Error(`${got.length} of ${count} invocations of ${name} after ${timeoutMs} ms`);
        await new Promise((r) => {
          const w = () => {
            waiters.delete(w);
            r();
          };
          waiters.add(w);
          setTimeout(w, 100);
        });
      }
    },
    async stop() {
      server.closeAllConnections?.();
      await new Promise((r) => server.close(r));
    },
  };
}
