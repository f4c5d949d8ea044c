package dev.davit.cli;

import dev.davit.oci.DavitException;
import dev.davit.oci.DavitException.Kind;
import dev.davit.oci.copy.PlatformSelector;
import dev.davit.oci.manifest.Platform;
import picocli.CommandLine.Option;

/** {@code --platform} and {@code --all-platforms}, shared by commands that resolve an index. */
final class PlatformOptions {
    // the texts, shared by the annotations and CommandModels.pull
    static final String PLATFORM_LABEL = "OS/ARCH[/VARIANT]";
    static final String PLATFORM_TEXT = "The platform to pick from a multi-platform image (default: this machine's,"
            + " linux/<arch>).";
    static final String ALL_TEXT = "Take every platform of a multi-platform image (the whole index).";

    @Option(names = "--platform", paramLabel = PLATFORM_LABEL, description = PLATFORM_TEXT)
    String platform;

    @Option(names = "--all-platforms", description = ALL_TEXT)
    boolean all;

    PlatformSelector selector() {
        if (all && platform != null) {
            throw new DavitException(Kind.USAGE, "--platform and --all-platforms cannot be combined");
        }
        if (all) {
            return PlatformSelector.allPlatforms();
        }
        return platform != null ? PlatformSelector.of(Platform.parse(platform)) : PlatformSelector.host();
    }
}
