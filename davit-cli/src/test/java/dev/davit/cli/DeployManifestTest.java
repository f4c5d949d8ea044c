package dev.davit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * deploy/ says what the reference says: the Deployment's service account has exactly KUBERNETES.md's RBAC manifest
 * (which K8sThrottledTest applies from the page), and the server's flags in the manifest and in the image's default
 * command are flags `davit mcp serve` has (K8sInClusterTest runs them on a cluster).
 */
class DeployManifestTest {
    @Test
    void theManifestHasTheReferencesRbacAndFlagsTheServerHas() throws Exception {
        String doc = Files.readString(Path.of("../docs/reference/KUBERNETES.md"));
        Matcher m = Pattern.compile("```yaml\n(apiVersion: rbac[\\s\\S]*?)```").matcher(doc);
        assertThat(m.find()).as("KUBERNETES.md has its RBAC manifest").isTrue();
        String manifest = Files.readString(Path.of("../deploy/kubernetes/davit.yaml"));
        assertThat(manifest).contains(m.group(1));
        String containerfile = Files.readString(Path.of("../deploy/Containerfile"));
        java.util.Set<String> flags = new java.util.TreeSet<>();
        Matcher f = Pattern.compile("(?<![\\w-])(--[a-z][a-z-]+)").matcher(manifest.substring(manifest.indexOf(
                "args: [mcp, serve")) + containerfile.substring(containerfile.indexOf("CMD [")));
        while (f.find()) {
            flags.add(f.group(1));
        }
        var serve = ShellDocs.commandLine().getSubcommands().get("mcp").getSubcommands().get("serve");
        assertThat(flags).isNotEmpty().allSatisfy(flag -> assertThat(serve.getCommandSpec().findOption(flag))
                .as("davit mcp serve " + flag).isNotNull());
    }
}
