package dev.attestmesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.attestmesh.sealing.SealedFile;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code attestmesh seal --policy ID --public-key-from URL|FILE --in F --out F.sealed}: encrypts a file so that only
 * nodes satisfying the policy can open it (docs/secrets.md, "Sealing to a policy"). Offline once the key list is
 * in a file.
 */
@Command(name = "seal", mixinStandardHelpOptions = true,
        description = "Encrypt a file to a policy's sealing key: only nodes satisfying the policy can open it.")
final class SealCommand implements Callable<Integer> {
    /** Largest key list read from a file or URL. */
    static final int MAX_KEY_LIST_BYTES = 1024 * 1024;

    @Option(names = "--policy", required = true, paramLabel = "ID", description = "The policy to seal to.")
    String policy;
    @Option(names = "--public-key-from", required = true, paramLabel = "URL|FILE",
            description = "The key list: https://<cp>/.well-known/attestmesh/sealing-keys, or a saved copy of it.")
    String keysFrom;
    @Option(names = "--key-id", paramLabel = "HEX", description = "Seal to this key (default: the policy's active key).")
    String keyId;
    @Option(names = "--in", required = true, paramLabel = "FILE")
    Path in;
    @Option(names = "--out", required = true, paramLabel = "FILE")
    Path out;
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        JsonNode list = AdminApiClient.JSON.readTree(readKeyList(keysFrom));
        JsonNode chosen = null;
        for (JsonNode k : list.path("keys")) {
            if (k.path("policyId").asText().equals(policy) && (keyId == null ? k.path("state").asText().equals("ACTIVE")
                    : k.path("keyId").asText().equals(keyId))) {
                chosen = k;
            }
        }
        if (chosen == null) {
            throw new IllegalArgumentException(keysFrom + " lists no " + (keyId == null ? "active key" : "key "
                    + keyId) + " for policy '" + policy + "' (is sealing: true set on it?)");
        }
        if (!SealedFile.SUITE.equals(chosen.path("algorithm").asText())) {
            throw new IllegalArgumentException("key " + chosen.path("keyId").asText() + " uses "
                    + chosen.path("algorithm").asText() + "; only " + SealedFile.SUITE + " is supported");
        }
        byte[] publicKey = Base64.getDecoder().decode(chosen.path("publicKey").asText());
        if (!SealedFile.keyId(publicKey).equals(chosen.path("keyId").asText())) {
            throw new IllegalArgumentException("key list entry " + chosen.path("keyId").asText()
                    + " does not match its public key");
        }
        byte[] plain = readBounded(in, SealedFile.MAX_PLAINTEXT_BYTES);
        Files.write(out, SealedFile.seal(policy, publicKey, plain));
        spec.commandLine().getOut().printf("sealed %s to policy '%s' key %s: %s%n", in, policy,
                chosen.path("keyId").asText(), out);
        return 0;
    }

    static byte[] readKeyList(String from) throws IOException, InterruptedException {
        if (from.startsWith("https://") || from.startsWith("http://")) {
            try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build()) {
                HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(URI.create(from))
                        .timeout(Duration.ofSeconds(30)).GET().build(), HttpResponse.BodyHandlers.ofInputStream());
                try (InputStream body = r.body()) {
                    if (r.statusCode() != 200) {
                        throw new IllegalArgumentException(from + " answered HTTP " + r.statusCode());
                    }
                    byte[] b = body.readNBytes(MAX_KEY_LIST_BYTES + 1);
                    if (b.length > MAX_KEY_LIST_BYTES) {
                        throw new IllegalArgumentException(from + " is larger than " + MAX_KEY_LIST_BYTES + " bytes");
                    }
                    return b;
                }
            }
        }
        return readBounded(Path.of(from), MAX_KEY_LIST_BYTES);
    }

    static byte[] readBounded(Path file, int max) throws IOException {
        try (InputStream s = Files.newInputStream(file)) {
            byte[] b = s.readNBytes(max + 1);
            if (b.length > max) {
                throw new IllegalArgumentException(file + " is larger than " + max + " bytes");
            }
            return b;
        }
    }
}
