// Verifying a tinyforge notification in Node.js (no dependencies).
// Header: X-Tinyforge-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
const crypto = require("crypto");

function verifyTinyforgeSignature(secret, header, rawBody, toleranceSecs = 300) {
  const parts = header.split(",").map((p) => p.trim().split("="));
  const t = Number((parts.find(([k]) => k === "t") || [])[1]);
  if (!Number.isInteger(t) || Math.abs(Date.now() / 1000 - t) > toleranceSecs) return false;
  const expected = crypto.createHmac("sha256", secret).update(`${t}.`).update(rawBody).digest();
  return parts
    .filter(([k]) => k === "v1")
    .some(([, v]) => {
      const got = Buffer.from(v, "hex");
      return got.length === expected.length && crypto.timingSafeEqual(got, expected);
    });
}

module.exports = { verifyTinyforgeSignature };
