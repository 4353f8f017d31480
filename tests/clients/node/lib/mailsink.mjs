// Where Tessera's messages land in the Node suite, with no dependency beyond Node itself:
// - a minimal SMTP server (RFC 5321 over `node:net`: EHLO/HELO, MAIL, RCPT, DATA with dot
//   unstuffing, RSET, NOOP, QUIT; no STARTTLS offered, so Tessera sends in plain text) that
//   parses what it receives (headers, multipart bodies, quoted-printable and base64);
// - an SMS webhook receiver (`node:http`) for Tessera's JSON POST {id, pool_id, destination,
//   message}.
// Both listen on 127.0.0.1 on a free port and let a test wait for messages to one destination.

import net from "node:net";
import http from "node:http";

export const WAIT_MS = 10000;

/** The six-digit code in a text: six digits standing alone (not inside a longer number or an
 * identifier such as a client id in a link). */
export function codeIn(text) {
  const m = /(?<![0-9A-Za-z])(\d{6})(?![0-9A-Za-z])/.exec(text);
  if (!m) throw new Error(`no six-digit code in ${JSON.stringify(text)}`);
  return m[1];
}

// A list of received items and the tests waiting on it.
function inbox(matches) {
  const items = [];
  const waiters = new Set();
  return {
    items,
    add(item) {
      items.push(item);
      for (const w of waiters) w();
    },
    to: (dest) => items.filter((i) => matches(i, dest)),
    waitFor(dest, count = 1, timeoutMs = WAIT_MS) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const got = items.filter((i) => matches(i, dest));
          if (got.length >= count) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(got.slice(0, count));
            return true;
          }
          return false;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          const n = items.filter((i) => matches(i, dest)).length;
          reject(new Error(`${n} of ${count} messages to ${dest} after ${timeoutMs} ms`));
        }, timeoutMs);
        if (!check()) waiters.add(check);
      });
    },
  };
}

// -- MIME ------------------------------------------------------------------------------------

function parseHeaders(text) {
  const headers = {};
  for (const line of text.replace(/\r\n[ \t]+/g, " ").split("\r\n")) {
    const i = line.indexOf(":");
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return headers;
}

function decodeBody(body, encoding) {
  switch ((encoding || "7bit").toLowerCase()) {
    case "quoted-printable": {
      const soft = body.replace(/=\r\n/g, "");
      const bytes = [];
      for (let i = 0; i < soft.length; i++) {
        if (soft[i] === "=" && /^[0-9A-Fa-f]{2}$/.test(soft.slice(i + 1, i + 3))) {
          bytes.push(parseInt(soft.slice(i + 1, i + 3), 16));
          i += 2;
        } else {
          bytes.push(soft.charCodeAt(i) & 0xff);
        }
      }
      return Buffer.from(bytes).toString("utf8");
    }
    case "base64":
      return Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
    default:
      return Buffer.from(body, "latin1").toString("utf8");
  }
}

// Leaves of a MIME entity (`raw` is latin1 text with CRLF line ends): [{type, text}].
function leaves(raw) {
  const split = raw.indexOf("\r\n\r\n");
  const headers = parseHeaders(split < 0 ? raw : raw.slice(0, split));
  const body = split < 0 ? "" : raw.slice(split + 4);
  const type = (headers["content-type"] || "text/plain").split(";")[0].trim().toLowerCase();
  if (type.startsWith("multipart/")) {
    const boundary = /boundary="?([^";]+)"?/i.exec(headers["content-type"])?.[1];
    if (!boundary) return [];
    const parts = body.split(`--${boundary}`).slice(1);
    return parts
      .filter((p) => !p.startsWith("--"))
      .flatMap((p) => leaves(p.replace(/^\r\n/, "").replace(/\r\n$/, "")));
  }
  return [{ type, text: decodeBody(body, headers["content-transfer-encoding"]) }];
}

/** Parses a received message into {headers, text, html}; bodies lose their wire framing (CRLF
 * line ends, trailing line breaks). */
export function parseMail(raw) {
  const split = raw.indexOf("\r\n\r\n");
  const headers = parseHeaders(split < 0 ? raw : raw.slice(0, split));
  const unframe = (s) => s?.replace(/\r\n/g, "\n").replace(/\n+$/, "");
  const parts = leaves(raw);
  return {
    headers,
    subject: headers.subject,
    text: unframe(parts.find((p) => p.type === "text/plain")?.text),
    html: unframe(parts.find((p) => p.type === "text/html")?.text),
  };
}

// -- SMTP ------------------------------------------------------------------------------------

/** A minimal SMTP server on 127.0.0.1. `url` is what `tessera serve --smtp-url` takes. */
export async function startSmtpSink({ port = 0 } = {}) {
  const box = inbox((m, to) => m.rcptTo.includes(to));
  // Recipients refused with a permanent error (550), as a mail server refuses an unknown
  // mailbox: a test makes a delivery fail for good with refuse(address).
  const refused = new Set();
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.setEncoding("latin1");
    const reply = (line) => socket.write(`${line}\r\n`);
    let buffer = "";
    let envelope = { mailFrom: null, rcptTo: [] };
    let data = null; // lines of the message while in DATA

    const command = (line) => {
      const verb = line.slice(0, 4).toUpperCase();
      if (verb === "EHLO") return reply("250-tessera-test-sink\r\n250-8BITMIME\r\n250 SIZE 10485760");
      if (verb === "HELO") return reply("250 tessera-test-sink");
      if (/^MAIL FROM:/i.test(line)) {
        envelope = { mailFrom: /<([^>]*)>/.exec(line)?.[1] ?? "", rcptTo: [] };
        return reply("250 OK");
      }
      if (/^RCPT TO:/i.test(line)) {
        const to = /<([^>]*)>/.exec(line)?.[1] ?? "";
        if (refused.has(to)) return reply("550 5.1.1 mailbox unavailable");
        envelope.rcptTo.push(to);
        return reply("250 OK");
      }
      if (verb === "DATA") {
        data = [];
        return reply("354 End data with <CR><LF>.<CR><LF>");
      }
      if (verb === "RSET") {
        envelope = { mailFrom: null, rcptTo: [] };
        return reply("250 OK");
      }
      if (verb === "NOOP") return reply("250 OK");
      if (verb === "QUIT") {
        reply("221 Bye");
        return socket.end();
      }
      return reply("502 Command not implemented");
    };

    socket.on("data", (chunk) => {
      buffer += chunk;
      let eol;
      while ((eol = buffer.indexOf("\r\n")) >= 0) {
        const line = buffer.slice(0, eol);
        buffer = buffer.slice(eol + 2);
        if (data === null) {
          command(line);
        } else if (line === ".") {
          const raw = data.join("\r\n");
          box.add({ mailFrom: envelope.mailFrom, rcptTo: envelope.rcptTo, raw, ...parseMail(raw) });
          data = null;
          envelope = { mailFrom: null, rcptTo: [] };
          reply("250 OK: queued");
        } else {
          data.push(line.startsWith(".") ? line.slice(1) : line);
        }
      }
    });
    reply("220 tessera-test-sink ESMTP");
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const actual = server.address().port;
  return {
    port: actual,
    url: `smtp://127.0.0.1:${actual}`,
    messages: box.items,
    to: box.to,
    waitFor: box.waitFor,
    refuse: (address) => refused.add(address),
    accept: (address) => refused.delete(address),
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

// -- SMS webhook -----------------------------------------------------------------------------

/** Receives Tessera's SMS webhook. `url` is what `tessera serve --sms-webhook` takes. */
export async function startSmsSink() {
  const box = inbox((m, to) => m.destination === to);
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      let entry;
      try {
        entry = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        res.writeHead(400).end();
        return;
      }
      box.add({ ...entry, _method: req.method, _path: req.url, _contentType: req.headers["content-type"] });
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const port = server.address().port;
  return {
    port,
    url: `http://127.0.0.1:${port}/sms`,
    messages: box.items,
    to: box.to,
    waitFor: box.waitFor,
    async close() {
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
