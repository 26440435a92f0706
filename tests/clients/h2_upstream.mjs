// An HTTP/2-only upstream for the relay test (Node's built-in http2 over TLS, ALPN h2 and
// nothing else): answers any POST with a short Anthropic Messages SSE stream.
//   node h2_upstream.mjs CERT KEY READY_FILE   (READY_FILE gets the port once listening)
import fs from 'node:fs';
import http2 from 'node:http2';

const [cert, key, readyFile] = process.argv.slice(2);
const server = http2.createSecureServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key), allowHTTP1: false });
server.on('stream', (stream) => {
  let body = '';
  stream.on('data', (c) => { body += c; });
  stream.on('end', () => {
    let model = 'unknown';
    try { model = JSON.parse(body).model; } catch { /* answer anyway */ }
    stream.respond({ ':status': 200, 'content-type': 'text/event-stream', 'x-upstream-protocol': 'h2' });
    const send = (name, data) => stream.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
    send('message_start', { type: 'message_start', message: { id: 'msg_h2', type: 'message', role: 'assistant',
      model: `${model}-h2`, content: [], stop_reason: null, usage: { input_tokens: 12, output_tokens: 1 } } });
    send('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
    send('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Over HTTP/2.' } });
    send('content_block_stop', { type: 'content_block_stop', index: 0 });
    send('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 3 } });
    send('message_stop', { type: 'message_stop' });
    stream.end();
  });
});
server.listen(0, '127.0.0.1', () => {
  fs.writeFileSync(`${readyFile}.tmp`, String(server.address().port));
  fs.renameSync(`${readyFile}.tmp`, readyFile);
});
process.on('SIGTERM', () => process.exit(0));
