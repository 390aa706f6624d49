package dev.attestmesh.server.admin.console;

import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.store.Change;
import io.micronaut.context.annotation.Value;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.sse.Event;
import io.micronaut.serde.annotation.Serdeable;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.concurrent.atomic.AtomicInteger;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.FluxSink;

/**
 * The change feed behind {@code GET /api/v1/events}: tells each subscribed web console that something
 * changed (a node, the revocations, the policies...) so it fetches the view again. An event says only where
 * to look, never what the state is, so the feed leaks nothing the subscriber could not read anyway and a
 * subscriber that misses an event loses nothing a refetch does not restore.
 *
 * <p>Bounded: at most {@code attestmesh.console.max-event-subscribers} subscribers at once (others are
 * refused); each subscriber holds at most the latest undelivered event (reactor's {@code LATEST}
 * overflow), never a queue of them; an idle stream gets a {@code heartbeat} event every
 * {@code attestmesh.console.event-heartbeat}; every stream ends after {@code attestmesh.console.event-stream-max},
 * so a browser reconnects and presents its credentials again (a deleted token stops receiving events
 * then at the latest).
 */
@Singleton
public final class ConsoleEvents {
    /** One change notice. */
    @Serdeable
    public record Notice(String kind, @Nullable String nodeId) {}

    private final int maxSubscribers;
    private final Duration heartbeat;
    private final Duration maxStream;
    private final AtomicInteger subscribers = new AtomicInteger();
    private final Set<FluxSink<Event<Notice>>> sinks = new CopyOnWriteArraySet<>();

    ConsoleEvents(ControlPlane cp,
            @Value("${attestmesh.console.max-event-subscribers:16}") int maxSubscribers,
            @Value("${attestmesh.console.event-heartbeat:15s}") Duration heartbeat,
            @Value("${attestmesh.console.event-stream-max:10m}") Duration maxStream) {
        if (maxSubscribers < 1 || maxSubscribers > 1024) {
            throw new IllegalArgumentException("attestmesh.console.max-event-subscribers must be 1..1024, not " + maxSubscribers);
        }
        if (heartbeat.compareTo(Duration.ofMillis(100)) < 0 || heartbeat.compareTo(Duration.ofMinutes(5)) > 0) {
            throw new IllegalArgumentException("attestmesh.console.event-heartbeat must be 100ms..5m, not " + heartbeat);
        }
        if (maxStream.compareTo(heartbeat) <= 0 || maxStream.compareTo(Duration.ofHours(24)) > 0) {
            throw new IllegalArgumentException("attestmesh.console.event-stream-max must be longer than the heartbeat "
                    + "and at most 24h, not " + maxStream);
        }
        this.maxSubscribers = maxSubscribers;
        this.heartbeat = heartbeat;
        this.maxStream = maxStream;
        // Node listeners run after the registry applied the change in memory, so a refetch sees it.
        cp.registry().addNodeChangeListener(node -> publish(new Notice("node", node.orElse(null))));
        cp.changes().subscribe((change, origin) -> {
            if (change instanceof Change.Topic t && t != Change.Topic.NODES) {
                publish(new Notice(t.payload(), null));
            }
        });
    }

    /** Subscribers now. */
    public int subscribers() {
        return subscribers.get();
    }

    /** The most subscribers at once. */
    public int maxSubscribers() {
        return maxSubscribers;
    }

    /**
     * A new subscriber's stream: a {@code hello} event, then change notices and heartbeats; empty when the
     * limit of subscribers is reached.
     */
    public Optional<Publisher<Event<Notice>>> subscribe() {
        if (subscribers.incrementAndGet() > maxSubscribers) {
            subscribers.decrementAndGet();
            return Optional.empty();
        }
        Flux<Event<Notice>> changes = Flux.create(sink -> {
            sinks.add(sink);
            sink.onDispose(() -> sinks.remove(sink));
        }, FluxSink.OverflowStrategy.LATEST);
        Flux<Event<Notice>> beats = Flux.interval(heartbeat).map(i -> Event.of(new Notice("heartbeat", null)).name("heartbeat"));
        Flux<Event<Notice>> stream = Flux.just(Event.of(new Notice("hello", null)).name("hello"))
                .concatWith(Flux.merge(changes, beats))
                .take(maxStream)
                .doFinally(s -> subscribers.decrementAndGet());
        return Optional.of(stream);
    }

    private void publish(Notice n) {
        Event<Notice> e = Event.of(n).name("change");
        for (FluxSink<Event<Notice>> s : sinks) {
            s.next(e);
        }
    }
}
