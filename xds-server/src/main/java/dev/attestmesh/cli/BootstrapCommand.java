package dev.attestmesh.cli;

import dev.attestmesh.envoy.BootstrapParameters;
import dev.attestmesh.envoy.BootstrapRenderer;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code attestmesh bootstrap --node-id ID [--out FILE] ...}: renders a validated Envoy bootstrap for a
 * node sidecar (and the control-plane SDS file it reads) with {@link BootstrapRenderer}. Works offline.
 */
@Command(name = "bootstrap", mixinStandardHelpOptions = true,
        description = "Render an Envoy bootstrap for a node: ADS/SDS from the control plane over mTLS with the "
                + "node agent's certificate, optional static ingress/egress listeners.")
final class BootstrapCommand implements Callable<Integer> {
    @Option(names = "--node-id", required = true, description = "Envoy node id (as the node agent registered it).")
    String nodeId;

    @Option(names = "--cluster", description = "Envoy node cluster (service name; default: the node id).")
    String cluster;

    @Option(names = "--control-plane", defaultValue = "127.0.0.1:15010",
            description = "Control plane gRPC HOST:PORT (default ${DEFAULT-VALUE}).")
    String controlPlane;

    @Option(names = "--trust-domain", defaultValue = "attestmesh.local",
            description = "The mesh's trust domain (the control plane's attestmesh.trust-domain); Envoy accepts only a "
                    + "control plane presenting spiffe://<trust-domain>/attestmesh/control-plane (default ${DEFAULT-VALUE}).")
    String trustDomain;

    @Option(names = "--cert-dir", defaultValue = "/var/run/attestmesh",
            description = "Node agent output directory (absolute; default ${DEFAULT-VALUE}).")
    Path certDir;

    @Option(names = "--ingress", paramLabel = "PORT:APP_PORT:POLICY[+POLICY]",
            description = "Inbound mTLS listener requiring the policies, to the app on 127.0.0.1:APP_PORT (repeatable).")
    List<String> ingress = new ArrayList<>();

    @Option(names = "--egress", paramLabel = "LISTEN_PORT:HOST:PORT:SNI[:POLICY]",
            description = "Outbound listener on 127.0.0.1:LISTEN_PORT to an attested upstream (repeatable).")
    List<String> egress = new ArrayList<>();

    @Option(names = "--envoy-admin-port", defaultValue = "15000", description = "Envoy admin port on 127.0.0.1 (default ${DEFAULT-VALUE}).")
    int envoyAdminPort;

    @Option(names = "--out", description = "Write the bootstrap here (default: standard output).")
    Path out;

    @Option(names = "--sds-out", description = "Write the control-plane SDS file here (default with --out: "
            + "<cert-dir>/control-plane-sds.yaml, where the bootstrap expects it).")
    Path sdsOut;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        int colon = controlPlane.lastIndexOf(':');
        if (colon <= 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--control-plane must be HOST:PORT");
        }
        BootstrapParameters params;
        try {
            params = new BootstrapParameters(nodeId, cluster == null ? nodeId : cluster, trustDomain,
                    controlPlane.substring(0, colon),
                    Integer.parseInt(controlPlane.substring(colon + 1)), certDir,
                    ingress.stream().map(BootstrapCommand::ingress).toList(),
                    egress.stream().map(BootstrapCommand::egress).toList(), envoyAdminPort);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        BootstrapRenderer.RenderedBootstrap rendered = new BootstrapRenderer().render(params);
        PrintWriter stdout = spec.commandLine().getOut();
        if (out == null) {
            stdout.print(rendered.bootstrapYaml());
            stdout.flush();
            if (sdsOut != null) {
                Files.writeString(sdsOut, rendered.controlPlaneSecretsYaml(), StandardCharsets.UTF_8);
            }
            return 0;
        }
        Path sds = sdsOut == null ? rendered.controlPlaneSecretsPath() : sdsOut;
        Files.writeString(out, rendered.bootstrapYaml(), StandardCharsets.UTF_8);
        Files.createDirectories(sds.toAbsolutePath().getParent());
        Files.writeString(sds, rendered.controlPlaneSecretsYaml(), StandardCharsets.UTF_8);
        stdout.printf("wrote %s (Envoy -c) and %s (read by the bootstrap from %s)%n", out, sds,
                rendered.controlPlaneSecretsPath());
        return 0;
    }

    static BootstrapParameters.Ingress ingress(String spec) {
        String[] p = spec.split(":");
        if (p.length != 3) {
            throw new IllegalArgumentException("--ingress '" + spec + "' must be PORT:APP_PORT:POLICY[+POLICY]");
        }
        return new BootstrapParameters.Ingress(port(p[0], spec), port(p[1], spec), Arrays.asList(p[2].split("\\+")));
    }

    static BootstrapParameters.Egress egress(String spec) {
        String[] p = spec.split(":");
        if (p.length != 4 && p.length != 5) {
            throw new IllegalArgumentException("--egress '" + spec + "' must be LISTEN_PORT:HOST:PORT:SNI[:POLICY]");
        }
        return new BootstrapParameters.Egress(port(p[0], spec), p[1], port(p[2], spec), p[3],
                p.length == 5 ? List.of(p[4]) : List.of());
    }

    private static int port(String s, String spec) {
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + s + "' in '" + spec + "' is not a port number");
        }
    }
}
