package dev.attestmesh.cli;

import dev.attestmesh.server.demo.MeshDemo;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** {@code attestmesh demo}: an attested mesh in one process, explained step by step. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Start a control plane and three simulated nodes on loopback and show who gets in.")
final class DemoCommand implements Callable<Integer> {
    @picocli.CommandLine.Option(names = "--verbose", description = "Also print the control plane's and agents' logs.")
    boolean verbose;

    @Override
    public Integer call() throws Exception {
        if (!verbose && System.getenv("ATTESTMESH_LOG_LEVEL") == null) {
            System.setProperty("ATTESTMESH_LOG_LEVEL", "WARN"); // read by logback.xml when logging starts
        }
        return new MeshDemo(System.out).run() ? 0 : 1;
    }
}
