package dev.attestmesh.server.admin;

import dev.attestmesh.server.ControlPlane;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;

/**
 * {@code GET /.well-known/attestmesh/sealing-keys}: the public sealing keys of every policy with {@code sealing:
 * true}, without credentials (public keys are public; the admin filter does not cover {@code /.well-known}). A
 * relying party seals to one with {@code attestmesh seal}; the mesh manifest lists the same keys.
 */
@Controller("/.well-known/attestmesh")
@ExecuteOn(TaskExecutors.BLOCKING)
public class WellKnownSealingKeysController {
    private final ControlPlane cp;

    WellKnownSealingKeysController(ControlPlane cp) {
        this.cp = cp;
    }

    @Get(uri = "/sealing-keys", produces = MediaType.APPLICATION_JSON)
    public SealingKeysController.KeyList sealingKeys() {
        return SealingKeysController.keys(cp.sealingKeys());
    }
}
