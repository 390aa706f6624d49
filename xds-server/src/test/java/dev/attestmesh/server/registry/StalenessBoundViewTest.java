package dev.attestmesh.server.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.authz.RegistryView;
import dev.attestmesh.server.EmptyRegistryView;
import dev.attestmesh.server.store.Change;
import dev.attestmesh.server.store.ChangeNotifier;
import dev.attestmesh.server.store.DatabaseSettings;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The embedded ext_authz's view of a replica fails closed once the replica has been deaf to the store too long. */
class StalenessBoundViewTest {

    @Test
    void usableWhileHearingAndUntilTheBoundThenUnavailableWithAReasonNamingTheSetting() {
        DeafNotifier changes = new DeafNotifier();
        StalenessBoundView view = new StalenessBoundView(new EmptyRegistryView(), changes, Duration.ofSeconds(30));
        assertEquals(Optional.empty(), view.unavailableReason(), "hearing: the view is current");

        changes.deaf = Optional.of(Duration.ofSeconds(29));
        assertEquals(Optional.empty(), view.unavailableReason(), "deaf for less than the bound: last view still used");

        changes.deaf = Optional.of(Duration.ofMillis(30_001));
        String reason = view.unavailableReason().orElseThrow();
        assertTrue(reason.startsWith("registry view is stale:") && reason.contains("30001 ms")
                && reason.contains("attestmesh.database.max-staleness = 30000 ms"), reason);

        changes.deaf = Optional.empty();
        assertEquals(Optional.empty(), view.unavailableReason(), "hearing again: decisions resume");
    }

    @Test
    void theRegistrysOwnReasonStillCounts() {
        RegistryView unavailable = new EmptyRegistryView() {
            @Override
            public Optional<String> unavailableReason() {
                return Optional.of("registry closed");
            }
        };
        assertEquals(Optional.of("registry closed"),
                new StalenessBoundView(unavailable, new DeafNotifier(), Duration.ofSeconds(1)).unavailableReason());
    }

    @Test
    void delegatesEveryReadToTheRegistry() {
        RegistryView knowing = new EmptyRegistryView() {
            @Override
            public boolean knowsDestination(String destinationPrincipal) {
                return destinationPrincipal.equals("spiffe://attestmesh.local/node/payments");
            }
        };
        StalenessBoundView view = new StalenessBoundView(knowing, new DeafNotifier(), Duration.ofSeconds(1));
        assertTrue(view.knowsDestination("spiffe://attestmesh.local/node/payments"));
        assertEquals(false, view.knowsDestination("spiffe://attestmesh.local/node/orders"));
    }

    @Test
    void theSettingIsBounded() {
        DatabaseSettings embedded = DatabaseSettings.embedded();
        assertEquals(DatabaseSettings.DEFAULT_MAX_STALENESS, embedded.maxStaleness());
        assertEquals(Duration.ofSeconds(5), embedded.withMaxStaleness(Duration.ofSeconds(5)).maxStaleness());
        IllegalArgumentException tooShort = assertThrows(IllegalArgumentException.class,
                () -> embedded.withMaxStaleness(Duration.ofMillis(500)));
        assertTrue(tooShort.getMessage().contains("attestmesh.database.max-staleness"), tooShort.getMessage());
        assertThrows(IllegalArgumentException.class, () -> embedded.withMaxStaleness(Duration.ofHours(2)));
    }

    /** A notifier whose deafness the test sets. */
    private static final class DeafNotifier implements ChangeNotifier {
        volatile Optional<Duration> deaf = Optional.empty();

        @Override
        public Optional<Duration> deafFor() {
            return deaf;
        }

        @Override
        public void publish(Change change) {}

        @Override
        public void subscribe(Listener listener) {}

        @Override
        public void start() {}

        @Override
        public void close() {}
    }
}
