package dev.attestmesh.cli;

import picocli.CommandLine.Command;

/** {@code attestmesh evidence ...}: offline work on TEE evidence. */
@Command(name = "evidence", mixinStandardHelpOptions = true, description = "Work with TEE evidence offline.",
        subcommands = {EvidenceVerifyCommand.class})
final class EvidenceCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "a subcommand is required: verify");
    }
}
