package io.sluice.session;

import io.sluice.http.ErrorKind;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * One streamed response kept as a session (gateway-core/docs/streams.md, "Resume" and "Long
 * polling"): the events the gateway relayed, each with its sequence number, so that a client that
 * lost the stream — or polls it — gets exactly the ones it has not seen.
 *
 * <p>Producer: the {@link io.sluice.relay.ProxyCall} relaying the upstream's stream, on its event
 * loop, {@link #append}s every event (already stamped with {@code id: <stream-id>.<seq>}) and
 * finally {@link #end}s the session. Readers: the SSE client attached now ({@link #attach}, at
 * most one: a resume displaces the previous one) and long polls waiting for news
 * ({@link #await}), each on its own connection's event loop.
 *
 * <p>Threading: every method may be called from any thread. State is guarded by this object's
 * monitor; readers are woken outside it and hop to their own loop. Events are kept as heap
 * {@code byte[]}, not pooled buffers, so any thread may read them and the garbage collector frees
 * them whenever the last reader lets go (an evicted session's bytes vanish with it; nobody has to
 * release them on the right thread).
 *
 * <p>Memory: at most {@code maxEvents} events and {@code maxBytes} bytes; older ones are dropped
 * (a resume from before them gets {@code 410 resume_gap}, never a silent gap).
 */
public final class StreamSession {

  /** Somebody reading the session: told (from any thread) that something changed. */
  public interface Reader {
    /** New events, the end, or the session's removal. Must not block: hop to your own loop. */
    void wake();

    /** A newer client took the session over (a resume): stop reading and close. */
    default void displaced() {}
  }

  /** The running generation behind the session. */
  public interface Generation {
    /** Stop it now, ending the stream with an error event of this kind. Any thread. */
    void stop(ErrorKind why);
  }

  /** A copy of the session kept elsewhere (Redis), told every change in order by the producer. */
  public interface Replica {
    void appended(long seq, byte[] event);

    void lost(long seq);

    void ended();
  }

  /** One event as it went to the client, with its sequence number. */
  public record Event(long seq, byte[] bytes) {}

  /** What {@link #readAfter} found. */
  public sealed interface Read {
    /** Events after the cursor (possibly none), and whether the session has ended after them. */
    record Events(List<Event> events, boolean ended) implements Read {}

    /** The events right after the cursor were dropped from the buffer already. */
    record Gap() implements Read {}

    /** The cursor is beyond anything this session produced: not a position of this stream. */
    record Unknown() implements Read {}
  }

  /** Bookkeeping bytes per buffered event (record, array header, deque slot), for the weigher. */
  static final int EVENT_OVERHEAD = 64;
  /** Bookkeeping bytes per session (this object, the store's entry). */
  static final int SESSION_OVERHEAD = 512;

  private final String id;
  private final String owner;
  private final String route;
  private final int maxEvents;
  private final long maxBytes;
  private final long ttlNanos;
  private final SessionListener listener;

  private final ArrayDeque<Event> buffer = new ArrayDeque<>();
  private long bytes;
  private long lastSeq;
  private long droppedThrough; // events with seq <= this are no longer in the buffer
  private boolean ended;
  private boolean removed;
  private Reader reader;
  private final List<Reader> waiting = new ArrayList<>(1);
  private Generation generation;
  private Replica replica;
  private long counted; // bytes the store counts for this session
  private ErrorKind removalKind = ErrorKind.STREAM_CANCELLED;

  /** What the session tells its store about (so the store's size and expiry follow it). */
  interface SessionListener {
    void grew(StreamSession session);

    void clientsChanged(StreamSession session, boolean anyClient);
  }

  StreamSession(String id, String owner, String route, int maxEvents, long maxBytes, long ttlNanos,
      SessionListener listener) {
    this(id, owner, route, maxEvents, maxBytes, ttlNanos, listener, 0);
  }

  /** @param startAfter the events up to this one are not here (a mirror that follows from there) */
  StreamSession(String id, String owner, String route, int maxEvents, long maxBytes, long ttlNanos,
      SessionListener listener, long startAfter) {
    this.lastSeq = startAfter;
    this.droppedThrough = startAfter;
    this.ttlNanos = ttlNanos;
    this.id = id;
    this.owner = owner;
    this.route = route;
    this.maxEvents = maxEvents;
    this.maxBytes = maxBytes;
    this.listener = listener;
  }

  public String id() {
    return id;
  }

  /** The consumer (or {@code ip:<address>} without authentication) that started the stream. */
  public String owner() {
    return owner;
  }

  /** The route the stream started on: its plugins apply to polls and deletes. */
  public String route() {
    return route;
  }

  /** Mirrors every change to {@code replica} as well; set before the first event. */
  void replicate(Replica replica) {
    this.replica = replica;
  }

  /** The generation to stop on {@code DELETE} or eviction; set once the upstream stream runs. */
  public synchronized void generation(Generation generation) {
    this.generation = generation;
  }

  // ---- producer -----------------------------------------------------------------------------

  /** Adds the next event (seq = the previous one's + 1) and wakes the readers. */
  public void append(long seq, byte[] event) {
    List<Reader> wake;
    synchronized (this) {
      if (ended) {
        return;
      }
      if (seq != lastSeq + 1) {
        throw new IllegalArgumentException("event " + seq + " after " + lastSeq);
      }
      lastSeq = seq;
      buffer.addLast(new Event(seq, event));
      bytes += event.length;
      while (buffer.size() > maxEvents || (bytes > maxBytes && buffer.size() > 1)) {
        Event dropped = buffer.removeFirst();
        bytes -= dropped.bytes().length;
        droppedThrough = dropped.seq();
      }
      if (bytes > maxBytes) { // one event larger than the whole buffer: it cannot be replayed
        Event dropped = buffer.removeFirst();
        bytes -= dropped.bytes().length;
        droppedThrough = dropped.seq();
      }
      wake = readers();
    }
    if (replica != null) {
      replica.appended(seq, event);
    }
    listener.grew(this); // re-weighed on every event, so that the store's cap is exact
    wake.forEach(Reader::wake);
  }

  /**
   * An event that could not be kept (larger than the framer holds): it went to the attached
   * client as it came, so everything before it is unreplayable too. A resume from before it gets
   * {@code 410 resume_gap}.
   */
  public void lost(long seq) {
    synchronized (this) {
      lastSeq = seq;
      droppedThrough = seq;
      buffer.clear();
      bytes = 0;
    }
    if (replica != null) {
      replica.lost(seq);
    }
  }

  /** The stream ended (its last event, if any, was appended). */
  public void end() {
    List<Reader> wake;
    synchronized (this) {
      if (ended) {
        return;
      }
      ended = true;
      generation = null;
      wake = readers();
    }
    if (replica != null) {
      replica.ended();
    }
    wake.forEach(Reader::wake);
  }

  // ---- readers ------------------------------------------------------------------------------

  /**
   * Events after {@code seq}, at most {@code max} of them (the first {@code max}: the reader
   * continues from the last one it got).
   */
  public synchronized Read readAfter(long seq, int max) {
    if (seq > lastSeq || seq < 0) {
      return new Read.Unknown();
    }
    if (seq < droppedThrough) {
      return new Read.Gap();
    }
    List<Event> out = new ArrayList<>(Math.min(max, (int) (lastSeq - seq)));
    // The buffer holds exactly the events droppedThrough+1 .. lastSeq: skip those up to seq.
    int skip = buffer.size() - (int) (lastSeq - seq);
    Iterator<Event> forward = buffer.iterator();
    for (int i = 0; i < skip; i++) {
      forward.next();
    }
    while (forward.hasNext() && out.size() < max) {
      out.add(forward.next());
    }
    return new Read.Events(out, ended && out.size() == lastSeq - seq);
  }

  /** Whether the stream has ended (no more events will come). */
  public synchronized boolean ended() {
    return ended;
  }

  /** The last event's sequence number (0 before the first). */
  public synchronized long lastSeq() {
    return lastSeq;
  }

  /**
   * Makes {@code next} the session's live SSE client. The one it replaces, if any, is told it was
   * {@link Reader#displaced}. False when the session is gone from the store.
   */
  public boolean attach(Reader next) {
    Reader previous;
    synchronized (this) {
      if (removed) {
        return false;
      }
      previous = reader;
      reader = next;
    }
    if (previous != null && previous != next) {
      previous.displaced();
    }
    listener.clientsChanged(this, true);
    return true;
  }

  /** The live client went away (if it still was {@code current}). */
  public void detach(Reader current) {
    boolean any;
    synchronized (this) {
      if (reader != current) {
        return;
      }
      reader = null;
      any = !waiting.isEmpty();
    }
    listener.clientsChanged(this, any);
  }

  /** Whether {@code candidate} is the live client now (producers check before writing to it). */
  public synchronized boolean isReader(Reader candidate) {
    return reader == candidate;
  }

  /** A long poll waits for the next change; false when the session is gone from the store. */
  public boolean await(Reader poll) {
    synchronized (this) {
      if (removed) {
        return false;
      }
      waiting.add(poll);
    }
    listener.clientsChanged(this, true);
    return true;
  }

  /** A poll stopped waiting (answered, timed out or disconnected). */
  public void stopWaiting(Reader poll) {
    boolean any;
    synchronized (this) {
      if (!waiting.remove(poll)) {
        return;
      }
      any = reader != null || !waiting.isEmpty();
    }
    listener.clientsChanged(this, any);
  }

  // ---- removal ------------------------------------------------------------------------------

  /**
   * The session left the store (expired, evicted, deleted): a running generation is stopped with
   * {@code why}, and readers are woken to find it over.
   */
  void removed(ErrorKind why) {
    Generation running;
    List<Reader> wake;
    synchronized (this) {
      if (removed) {
        return;
      }
      removed = true;
      running = ended ? null : generation;
      wake = readers();
    }
    if (running != null) {
      running.stop(why);
    }
    wake.forEach(Reader::wake);
  }

  /** Whether the session is gone from the store (readers end; new ones get 404). */
  public synchronized boolean isRemoved() {
    return removed;
  }

  /** How long the session outlives its last client. */
  long ttlNanos() {
    return ttlNanos;
  }

  /** Bytes this session holds, for the store's memory cap. */
  synchronized long weight() {
    return SESSION_OVERHEAD + bytes + (long) EVENT_OVERHEAD * buffer.size();
  }

  /**
   * Brings the store's count of this session's bytes up to date: returns the change to add to
   * the store's total (nothing is counted once the session was removed).
   */
  synchronized long recount() {
    long now = removed ? 0 : weight();
    long change = now - counted;
    counted = now;
    return change;
  }

  /** Why the store is about to remove the session (what a running generation ends with). */
  synchronized void removalKind(ErrorKind kind) {
    removalKind = kind;
  }

  synchronized ErrorKind removalKind() {
    return removalKind;
  }

  /** Whether a client reads the session now (its expiry waits while one does). */
  synchronized boolean hasClient() {
    return reader != null || !waiting.isEmpty();
  }

  private List<Reader> readers() {
    if (reader == null && waiting.isEmpty()) {
      return List.of();
    }
    List<Reader> out = new ArrayList<>(waiting.size() + 1);
    if (reader != null) {
      out.add(reader);
    }
    out.addAll(waiting);
    return out;
  }
}
