// An authenticator app for the MFA tests, with node:crypto only: RFC 6238 TOTP (HMAC-SHA-1,
// 6 digits, 30 s steps) from the base32 secret that AssociateSoftwareToken hands out.
//
// The server accepts the current step ±1 and never a step at or before the last one it accepted
// for the user. `Authenticator.code()` starts at the previous step and moves one step forward per
// code, so a fresh user gets three codes without waiting; a fourth within the same 30 s waits for
// the clock (computed, not a blind 30 s sleep).

import { createHmac } from "node:crypto";

export const STEP = 30;
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

export function base32Decode(text) {
  const clean = text.replace(/=+$/, "").toUpperCase();
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of clean) {
    const i = ALPHABET.indexOf(ch);
    if (i < 0) throw new Error(`not base32: ${JSON.stringify(text)}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The code for time step `step` (RFC 4226 HOTP of the step counter). */
export function hotp(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac("sha1", base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 1_000_000).padStart(6, "0");
}

/** The code at Unix time `seconds`. */
export function totp(secret, seconds = Date.now() / 1000) {
  return hotp(secret, Math.floor(seconds / STEP));
}

export const wrongCode = (code) => (code === "000000" ? "111111" : "000000");

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class Authenticator {
  constructor(secret) {
    this.secret = secret;
    this.lastStep = null;
  }

  /** What the app shows right now (no bookkeeping). */
  now() {
    return totp(this.secret);
  }

  /** The next code the server can accept: a later step than any handed out before. */
  async code() {
    for (;;) {
      const now = Date.now() / 1000;
      const current = Math.floor(now / STEP);
      // The previous step stops being accepted at the next boundary; near one, skip it.
      let step = (current + 1) * STEP - now < 2 ? current : current - 1;
      if (this.lastStep !== null) step = Math.max(step, this.lastStep + 1);
      if (step <= current + 1) {
        this.lastStep = step;
        return hotp(this.secret, step);
      }
      await sleep(Math.max(50, ((step - 1) * STEP - now) * 1000 + 50));
    }
  }
}
