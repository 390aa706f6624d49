package dev.attestmesh.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code attestmesh mesh get} and {@code attestmesh mesh apply FILE}: read and replace the mesh config
 * through the admin API ({@code /api/v1/mesh}) with a bearer token.
 */
@Command(name = "mesh", mixinStandardHelpOptions = true,
        description = "Show or replace the mesh config (services, ingress/egress ports, required policies).",
        subcommands = {MeshCommand.Get.class, MeshCommand.Apply.class})
final class MeshCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required: get or apply FILE");
    }

    /** Options shared by the subcommands. */
    static final class AdminOptions {
        @Option(names = "--admin", description = "Admin API base URL (default http://127.0.0.1:15014).",
                defaultValue = "http://127.0.0.1:15014")
        String admin;

        @Option(names = {"--admin-token", "--token"},
                description = "Bearer token for the admin API (or ATTESTMESH_ADMIN_TOKEN).")
        String token;

        HttpRequest.Builder request() {
            URI uri;
            try {
                uri = URI.create(admin.replaceAll("/+$", "") + "/api/v1/mesh");
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--admin '" + admin + "' is not a URL: " + e.getMessage(), e);
            }
            HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30));
            if (token != null && !token.isBlank()) {
                b.header("Authorization", "Bearer " + token.strip());
            }
            return b;
        }

        /** Sends, prints the body, and maps the status to an exit code (0 for 2xx, else 1). */
        int send(HttpRequest req, PrintWriter out, PrintWriter err) throws IOException, InterruptedException {
            try (HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build()) {
                HttpResponse<String> r = client.send(req, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
                if (r.statusCode() / 100 == 2) {
                    out.println(r.body());
                    return 0;
                }
                String hint = switch (r.statusCode()) {
                    case 401 -> " (give a valid token with --token or ATTESTMESH_ADMIN_TOKEN)";
                    case 403 -> " (the token's role may not do this)";
                    default -> "";
                };
                err.println("attestmesh: admin API answered " + r.statusCode() + hint);
                if (!r.body().isBlank()) {
                    err.println(r.body());
                }
                return 1;
            } catch (java.net.ConnectException e) {
                throw new IOException("cannot reach the admin API at " + req.uri() + "; is the control plane running "
                        + "and --admin right?", e);
            }
        }
    }

    @Command(name = "get", mixinStandardHelpOptions = true, description = "Print the mesh config in force (JSON).")
    static final class Get implements Callable<Integer> {
        @CommandLine.Mixin
        AdminOptions admin;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            return admin.send(admin.request().GET().build(), spec.commandLine().getOut(), spec.commandLine().getErr());
        }
    }

    @Command(name = "apply", mixinStandardHelpOptions = true,
            description = "Validate and replace the mesh config with FILE (YAML or JSON); all problems are listed.")
    static final class Apply implements Callable<Integer> {
        @CommandLine.Mixin
        AdminOptions admin;

        @Parameters(paramLabel = "FILE", description = "Mesh config document.")
        Path file;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            String document;
            try {
                document = Files.readString(file, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new IOException("cannot read mesh config file " + file + ": " + e.getMessage(), e);
            }
            HttpRequest req = admin.request().header("Content-Type", "application/yaml")
                    .PUT(HttpRequest.BodyPublishers.ofString(document, StandardCharsets.UTF_8)).build();
            return admin.send(req, spec.commandLine().getOut(), spec.commandLine().getErr());
        }
    }
}
