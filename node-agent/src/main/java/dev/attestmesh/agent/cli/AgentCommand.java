package dev.attestmesh.agent.cli;

import dev.attestmesh.agent.AgentSdsServer;
import dev.attestmesh.agent.AgentState;
import dev.attestmesh.agent.AttestationRefusedException;
import dev.attestmesh.agent.EvidenceSource;
import dev.attestmesh.agent.coco.AttestationAgentClient;
import dev.attestmesh.agent.coco.CocoEvidenceSource;
import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.cli.ProcessShutdown;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.device.EvidenceCollectionException;
import dev.attestmesh.quote.device.EvidenceCollector;
import dev.attestmesh.quote.device.TeeDetector;
import dev.attestmesh.quote.sim.SimulatedTee;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code attestmesh agent}: the node agent. Run by its own executable ({@link AgentMain}, jar
 * {@code node-agent/target/attestmesh-agent.jar}), and added as a subcommand by the full CLI.
 */
@Command(name = "agent", mixinStandardHelpOptions = true, versionProvider = AgentMain.Version.class,
        description = "Run the node agent inside a TEE: attest, write credentials, renew.")
public final class AgentCommand implements Callable<Integer> {
    /** From SIGTERM to exit at most. */
    private static final Duration STOP_DEADLINE = Duration.ofSeconds(9);
    /** How long an attestation in progress at SIGTERM may go on before it is cancelled. */
    private static final Duration ATTESTATION_GRACE = Duration.ofSeconds(2);
    /** How long GetEvidence may take: quotes take about a second, Azure vTPM quotes and VCEK reads longer. */
    private static final Duration AA_TIMEOUT = Duration.ofSeconds(20);

    @Option(names = "--control-plane", required = true, description = "Control plane gRPC address HOST:PORT.")
    String controlPlane;

    @Option(names = "--ca-bundle", required = true,
            description = "PEM trust bundle to authenticate the control plane (its data dir's ca-bundle.pem).")
    Path caBundle;

    @Option(names = "--node-id", description = "This node's id ([A-Za-z0-9._-], at most 128). Required unless "
            + "--service-account-token-file is given: the node id is then the pod UID the control plane reads from "
            + "the token (if given, it must equal that UID).")
    String nodeId;

    @Option(names = "--service-account-token-file", paramLabel = "PATH",
            description = "The pod's projected service-account token (audience attestmesh), sent with every "
                    + "Challenge and re-read each time (the kubelet rotates it). Env ATTESTMESH_SERVICE_ACCOUNT_TOKEN_FILE.")
    Path serviceAccountTokenFile;

    @Option(names = "--identity", paramLabel = "SPIFFE_ID",
            description = "The SPIFFE ID to ask for; granted only if a registration allows it. "
                    + "Default: the one registration the attested claims satisfy.")
    String identity;

    @Option(names = "--tee", defaultValue = "auto", description = "sim | auto (detect the TEE of this machine) | "
            + "coco (ask the Confidential Containers attestation-agent at --aa-addr).")
    String tee;

    @Option(names = "--aa-addr", defaultValue = AttestationAgentClient.DEFAULT_ADDRESS, paramLabel = "unix:///PATH",
            description = "With --tee coco: the attestation-agent's ttrpc socket (default ${DEFAULT-VALUE}).")
    String aaAddr;

    @Option(names = "--output", defaultValue = "/var/run/attestmesh",
            description = "Directory for key.pem (0600), cert-chain.pem and ca-bundle.pem.")
    Path output;

    @Option(names = "--sim-measurement", description = "Measurement of the simulated TEE, hex (up to 48 bytes).")
    String simMeasurement;

    @Option(names = "--once", description = "Attest once, write the files and exit (0 on success).")
    boolean once;

    @Option(names = "--sds-socket", defaultValue = "/var/run/secrets/workload-spiffe-uds/socket",
            description = "Unix socket on which to serve SDS (default and ROOTCA) for Istio's proxy.")
    Path sdsSocket;

    @Option(names = "--no-sds", description = "Do not serve SDS on a Unix socket (files only).")
    boolean noSds;

    @Override
    public Integer call() throws Exception {
        if (nodeId == null && serviceAccountTokenFile == null) {
            throw new IllegalArgumentException("give --node-id ID, or --service-account-token-file PATH (in Kubernetes: "
                    + "the projected token; the node id is then the pod UID)");
        }
        EvidenceSource evidence = evidenceSource();
        List<X509Certificate> bundle = readBundle(caBundle);
        NodeAgent agent = new NodeAgent(new NodeAgent.Settings(Optional.ofNullable(nodeId), controlPlane, bundle,
                output, Optional.ofNullable(serviceAccountTokenFile), Optional.ofNullable(identity)), evidence,
                Clock.systemUTC());
        if (once) {
            try {
                var creds = agent.attestOnce();
                System.out.println("attested " + creds.claims().getSpiffeId() + "; credentials in "
                        + output.toAbsolutePath() + "; certificate valid until " + creds.expiresAt());
                return 0;
            } catch (AttestationRefusedException e) {
                System.err.println("attestmesh agent: attestation refused: " + e.getMessage());
                return 1;
            }
        }
        ProcessShutdown shutdown = ProcessShutdown.install("agent", STOP_DEADLINE);
        Thread runner = Thread.currentThread();
        shutdown.onStop(agent::close); // wakes the renewal wait at once
        // An attestation in progress may wait on its RPC for up to 30 s: give it a moment, then cancel it.
        shutdown.onStop(() -> Thread.ofPlatform().daemon().name("attestmesh-agent-stop").start(() -> {
            try {
                Thread.sleep(ATTESTATION_GRACE.toMillis());
                runner.interrupt();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        AgentSdsServer sds = noSds ? null : AgentSdsServer.start(sdsSocket);
        try {
            if (sds != null) {
                agent.attachSds(sds);
                System.err.println("serving SDS (default, ROOTCA) on unix:" + sdsSocket);
            }
            agent.run();
        } catch (InterruptedException e) {
            if (!shutdown.stopRequested()) {
                throw e;
            }
        } finally {
            if (sds != null) {
                sds.close();
            }
        }
        if (shutdown.stopRequested()) {
            Thread.interrupted(); // a late interrupt from the stop timer is not an error
            System.err.println("attestmesh agent: stopped after " + shutdown.cause());
            shutdown.stopped();
            return 0;
        }
        return agent.state() == AgentState.STOPPED ? 0 : 1;
    }

    private EvidenceSource evidenceSource() throws EvidenceCollectionException {
        if (tee.strip().equalsIgnoreCase("coco")) {
            return cocoSource(aaAddr);
        }
        return EvidenceSource.of(collector());
    }

    /**
     * The attestation-agent source; its socket must exist at start, so that a pod without the mount fails
     * at once naming the path rather than at its first attestation.
     */
    static CocoEvidenceSource cocoSource(String address) throws EvidenceCollectionException {
        Path socket = AttestationAgentClient.socketPath(address);
        if (!Files.exists(socket)) {
            throw new EvidenceCollectionException("--tee coco: no attestation-agent socket at " + socket
                    + "; start the Confidential Containers attestation-agent, mount its socket directory into this "
                    + "container, or give its address with --aa-addr unix:///PATH");
        }
        System.err.println("evidence from the Confidential Containers attestation-agent at unix://" + socket);
        return new CocoEvidenceSource(new AttestationAgentClient(socket, AA_TIMEOUT));
    }

    private EvidenceCollector collector() throws EvidenceCollectionException {
        TeeType type = tee.equals("auto") ? null : TeeType.fromWireName(tee);
        if (type == TeeType.SIM) {
            if (simMeasurement == null) {
                throw new IllegalArgumentException("--tee sim needs --sim-measurement HEX");
            }
            System.err.println("WARNING: using the SIMULATED TEE; its evidence proves nothing.");
            return SimulatedTee.withMeasurementHex(simMeasurement);
        }
        EvidenceCollector detected = TeeDetector.system().detect();
        if (type != null && detected.tee() != type) {
            throw new EvidenceCollectionException("--tee " + tee + " was asked for, but this machine offers "
                    + detected.tee().wireName() + " evidence");
        }
        return detected;
    }

    private static List<X509Certificate> readBundle(Path file) throws IOException {
        try {
            List<X509Certificate> certs = Pem.parseCertificates(Files.readString(file));
            if (certs.isEmpty()) {
                throw new IllegalArgumentException("CA bundle " + file + " contains no certificate");
            }
            return certs;
        } catch (CertificateException e) {
            throw new IllegalArgumentException("CA bundle " + file + " is not a PEM certificate bundle: "
                    + e.getMessage(), e);
        }
    }
}
