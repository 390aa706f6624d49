package dev.attestmesh.server.checkpoint;

import dev.attestmesh.issuance.LogCheckpointer;
import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.store.JdbcCheckpointStore;
import io.micronaut.context.annotation.Bean;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Factory;
import io.micronaut.context.annotation.Value;
import jakarta.inject.Singleton;
import java.time.Clock;
import java.time.Duration;

/**
 * Creates the issuance log's checkpointer (signing with the mesh CA's checkpoint key, storing in the
 * control plane's database) and its schedule ({@code attestmesh.log.checkpoint-interval}, default 5
 * minutes; 0 turns it off).
 */
@Factory
public class CheckpointFactory {

    @Singleton
    LogCheckpointer logCheckpointer(ControlPlane controlPlane) {
        return new LogCheckpointer(controlPlane.issuanceLog(), new JdbcCheckpointStore(controlPlane.database()),
                controlPlane::meshCa, Clock.systemUTC());
    }

    /** Eager, so a wrong interval stops the start and the schedule runs without any request. */
    @Context
    @Bean(preDestroy = "close")
    CheckpointSchedule checkpointSchedule(LogCheckpointer checkpointer,
            @Value("${attestmesh.log.checkpoint-interval:5m}") Duration interval) {
        return new CheckpointSchedule(checkpointer, interval);
    }
}
