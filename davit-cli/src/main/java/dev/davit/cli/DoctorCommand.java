package dev.davit.cli;

import dev.davit.cli.words.CliWords;
import dev.davit.oci.internal.Text;
import dev.davit.oci.client.DavitHome;
import dev.davit.sandbox.Doctor;
import dev.davit.sandbox.SandboxOptions;
import dev.davit.sandbox.build.BuildProfile;
import dev.davit.sandbox.build.EnvBuilder;
import dev.davit.sandbox.internal.SandboxJson;
import picocli.CommandLine.Command;

/** {@code davit doctor}: which sandbox backends work on this host, and why not. */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = {"Check which sandbox backends work on this host: bubblewrap (container; probed by running"
            + " 'true' in new namespaces), crun and runc (probed by running 'true' in an OCI container), QEMU"
            + " (vm; KVM or TCG), and whether environments can be built here (mmdebstrap, as root or rootless).",
            "Exits 0 whatever it finds; see 'available' per backend."})
final class DoctorCommand extends DavitCommand {
    @Override
    protected int run(Output out) {
        Doctor.Report report = inCliWords(new dev.davit.sandbox.engine.Sandboxes(SandboxOptions.under(DavitHome.resolve(main.env()))).doctor());
        // whether catalog environments can be built here when no registry serves them (davit env build)
        String why = EnvBuilder.unavailable(BuildProfile.GIT);
        var doc = SandboxJson.doctor(report);
        var build = doc.putObject("env_build");
        build.put("available", why == null);
        build.put("detail", why != null ? why : "Debian profiles build with mmdebstrap "
                + (EnvBuilder.uid() == 0 ? "as root" : "without root (unshare, subordinate ids)"));
        out.result(doc, w -> {
            for (Doctor.Backend b : report.backends()) {
                w.printf("%-12s %-14s %s%n", b.name(), b.available() ? "available" : "not available",
                        Text.printable(b.detail()));
                b.facts().forEach((k, v) -> w.printf("  %-22s %s%n", k + ":", Text.printable(v)));
            }
            w.printf("%-12s %-14s %s%n", "env build", why == null ? "available" : "not available",
                    Text.printable(build.get("detail").asText()));
        });
        return 0;
    }

    /** {@code r} with each line in the CLI's words ({@link CliWords}). */
    static Doctor.Report inCliWords(Doctor.Report r) {
        return new Doctor.Report(r.backends().stream().map(b -> new Doctor.Backend(b.name(), b.available(),
                CliWords.text(b.why()), b.facts())).toList());
    }
}
