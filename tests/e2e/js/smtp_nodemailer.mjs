// nodemailer's SMTP transport against Sesame's submission listeners: STARTTLS on the
// submission port and implicit TLS, AUTH with SES SMTP credentials. Prints one JSON line per
// send: the final reply and the MessageId nodemailer reads back from it. Sesame's
// certificate is self-signed, so it is pinned (ca) rather than verification turned off.
// Env: SMTP_PORT SMTPS_PORT SMTP_USER SMTP_PASS FROM TO CA_FILE.
import fs from 'node:fs';
import nodemailer from 'nodemailer';
import { parseServerMessageId } from './node_modules/nodemailer/dist/esm/smtp-connection/server-message-id.js';

const env = process.env;
const ca = fs.readFileSync(env.CA_FILE);
const results = [];
for (const [name, port, secure] of [['starttls', env.SMTP_PORT, false], ['implicit-tls', env.SMTPS_PORT, true]]) {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: Number(port),
    secure,
    requireTLS: !secure,
    auth: { user: env.SMTP_USER, pass: env.SMTP_PASS },
    tls: { ca, servername: env.TLS_NAME, minVersion: 'TLSv1.2' },
    connectionTimeout: 10000,
    greetingTimeout: 10000,
    socketTimeout: 20000,
  });
  try {
    const info = await transport.sendMail({
      from: env.FROM,
      to: env.TO,
      subject: `nodemailer over ${name}`,
      text: `Hello from nodemailer (${name}), ünïcödé.`,
      html: `<p>Hello from <b>nodemailer</b> (${name})</p>`,
    });
    results.push({
      name,
      response: info.response,
      accepted: info.accepted,
      // What nodemailer makes of the reply when talking to SES's real host name.
      serverMessageId: parseServerMessageId(info.response, 'email-smtp.us-east-1.amazonaws.com') || null,
    });
  } catch (err) {
    results.push({ name, error: String(err && err.message), responseCode: err && err.responseCode, response: err && err.response });
  } finally {
    transport.close();
  }
}
console.log(JSON.stringify(results));
