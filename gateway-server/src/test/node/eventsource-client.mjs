// A WHATWG EventSource client (the `eventsource` package: the browser algorithm, including
// reconnection with Last-Event-ID) for the Java tests. Prints one JSON line per event on stdout,
// and {"error": ...} whenever the connection fails (EventSource then reconnects on its own).
// Exits after the event whose data is "[DONE]".
import { EventSource } from 'eventsource';

const url = process.argv[2];
const es = new EventSource(url);
es.onopen = () => console.log(JSON.stringify({ open: true }));
es.onmessage = (event) => {
  console.log(JSON.stringify({ id: event.lastEventId, data: event.data }));
  if (event.data === '[DONE]') {
    es.close();
    process.exit(0);
  }
};
es.onerror = (event) => console.log(JSON.stringify({ error: event.message ?? 'connection lost' }));
