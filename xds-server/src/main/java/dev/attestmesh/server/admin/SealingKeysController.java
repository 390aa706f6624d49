package dev.attestmesh.server.admin;

import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.secrets.SealingKeys;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.micronaut.serde.annotation.Serdeable;
import java.util.Base64;
import java.util.List;

/**
 * {@code /api/v1/sealing-keys}: rotation and retirement of policy sealing keys (operator role), and their public
 * halves (viewer). The same public keys are served without credentials at
 * {@code /.well-known/attestmesh/sealing-keys} ({@link WellKnownSealingKeysController}).
 */
@Controller("/api/v1/sealing-keys")
@ExecuteOn(TaskExecutors.BLOCKING)
public class SealingKeysController {
    private final ControlPlane cp;

    SealingKeysController(ControlPlane cp) {
        this.cp = cp;
    }

    /**
     * One public sealing key.
     *
     * @param publicKey the raw X25519 public key, base64
     * @param state {@code ACTIVE} (seal with this one) or {@code PREVIOUS} (still opens older files)
     */
    @Serdeable
    public record KeyView(String policyId, String keyId, String algorithm, String publicKey, String state) {}

    /** The answer of both routes: every unretired key. */
    @Serdeable
    public record KeyList(List<KeyView> keys) {}

    /** The result of a rotation. */
    @Serdeable
    public record Rotated(String policyId, String keyId) {}

    @Get(produces = MediaType.APPLICATION_JSON)
    public KeyList list() {
        return keys(cp.sealingKeys());
    }

    /** Makes a new active key; the old one stays released (so older files open) until retired. */
    @Post(uri = "/{policyId}/rotate", produces = MediaType.APPLICATION_JSON)
    @ApiAnswer(status = 200, body = Rotated.class, description = "the new key")
    @ApiAnswer(status = 400, description = "no such sealing policy, or rotation refused")
    public HttpResponse<?> rotate(@PathVariable String policyId) {
        try {
            return HttpResponse.ok(new Rotated(policyId, cp.sealingKeys().rotate(policyId)));
        } catch (IllegalArgumentException e) {
            return HttpResponse.badRequest(ApiError.of(e.getMessage()));
        }
    }

    /** Retires a previous key: no node receives it again. */
    @Post(uri = "/{policyId}/{keyId}/retire", produces = MediaType.APPLICATION_JSON)
    @ApiAnswer(status = 200, body = KeyList.class, description = "the keys after retiring")
    @ApiAnswer(status = 400, description = "no such key, or retiring refused")
    public HttpResponse<?> retire(@PathVariable String policyId, @PathVariable String keyId) {
        try {
            cp.sealingKeys().retire(policyId, keyId);
            return HttpResponse.ok(keys(cp.sealingKeys()));
        } catch (IllegalArgumentException e) {
            return HttpResponse.badRequest(ApiError.of(e.getMessage()));
        }
    }

    static KeyList keys(SealingKeys keys) {
        return new KeyList(keys.publicKeys().stream().map(k -> new KeyView(k.policyId(), k.keyId(), k.algorithm(),
                Base64.getEncoder().encodeToString(k.publicKey()), k.state().name())).toList());
    }
}
