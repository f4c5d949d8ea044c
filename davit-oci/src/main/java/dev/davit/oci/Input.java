package dev.davit.oci;

/**
 * An input a caller gives davit, named by each door in its own words: the library by its method or constant (this
 * enum's {@link #library()}), the CLI by its flag, the MCP server by its tool argument. A part of a {@link Message}.
 */
public enum Input implements Message.Part {
    /** A sandbox's memory limit: {@code Limits.memoryMiB}. */
    MEMORY("Limits.memoryMiB"),
    /** A sandbox's CPU limit: {@code Limits.cpus}. */
    CPUS("Limits.cpus"),
    /** A sandbox's process limit: {@code Limits.pids}. */
    PIDS("Limits.pids"),
    /** A sandbox's disk limit: {@code Limits.diskMiB}. */
    DISK("Limits.diskMiB"),
    /** No limits at all: {@code Limits.NONE}. */
    NO_LIMITS("Limits.NONE"),
    /** The memory total of a state directory: {@code Totals.memoryMiB}. */
    TOTAL_MEMORY("Totals.memoryMiB"),
    /** The CPU total of a state directory: {@code Totals.cpus}. */
    TOTAL_CPUS("Totals.cpus"),
    /** The process total of a state directory: {@code Totals.pids}. */
    TOTAL_PIDS("Totals.pids"),
    /** No totals at all (davit's own: only its MCP server sets totals). */
    NO_TOTALS("no totals"),
    /** The totals of a state directory, which only davit's MCP server sets. */
    TOTALS("the MCP server's totals"),
    /** A network of the sandbox's own, with NAT: {@code Network.NAT}. */
    NETWORK("Network.NAT"),
    /** The host's network: {@code Network.HOST}. */
    NETWORK_HOST("Network.HOST"),
    /** Names a sandbox may reach: {@code allowHosts} (of {@code EgressPolicy.parse}). */
    ALLOW_HOST("allowHosts"),
    /** Addresses a sandbox may reach: {@code allowCidrs} (of {@code EgressPolicy.parse}). */
    ALLOW_CIDR("allowCidrs"),
    /** Named sets of names a sandbox may reach: {@code presets} (of {@code EgressPolicy.parse}). */
    ALLOW_PRESET("presets"),
    /** Names a sandbox may not reach, whatever is allowed: {@code denyHosts} (of {@code EgressPolicy.parse}). */
    DENY_HOST("denyHosts"),
    /** Addresses a sandbox may not reach, whatever is allowed: {@code denyCidrs} (of {@code EgressPolicy.parse}). */
    DENY_CIDR("denyCidrs"),
    /** Ports published to the host: {@code CreateSpec.Builder.publish}. */
    PUBLISH("CreateSpec.Builder.publish"),
    /** One published port: {@code PortMapping}. */
    PORT_MAPPING("PortMapping"),
    /** A microVM's virtual CPUs: {@code RunSpec.vcpus}. */
    VCPUS("RunSpec.vcpus"),
    /** A microVM's memory: {@code RunSpec.memoryMiB}. */
    VM_MEMORY("RunSpec.memoryMiB"),
    /** The output limit of a run: {@code RunSpec.maxOutput}. */
    MAX_OUTPUT("RunSpec.maxOutput"),
    /** The output limit of a command: {@code ExecSpec.Builder.maxOutput}. */
    EXEC_MAX_OUTPUT("ExecSpec.Builder.maxOutput"),
    /** The output limit of a command in a sandbox: {@code ExecSpec.Builder.maxOutput}. */
    SANDBOX_EXEC_MAX_OUTPUT("ExecSpec.Builder.maxOutput"),
    /** The OCI runtime or bwrap that runs a container: {@code RunSpec.runtime}. */
    RUNTIME("RunSpec.runtime"),
    /** A command's working directory: {@code ExecSpec.Builder.workdir}. */
    WORKDIR("ExecSpec.Builder.workdir"),
    /** A command's time limit: {@code ExecSpec.Builder.timeout}. */
    TIMEOUT("ExecSpec.Builder.timeout"),
    /** How long a service may take to become ready: {@code ServiceSpec.Builder.readyTimeout}. */
    READY_TIMEOUT("ServiceSpec.Builder.readyTimeout"),
    /** The most entries an unpack takes: {@code UnpackOptions.Builder.maxEntries}. */
    MAX_ENTRIES("UnpackOptions.Builder.maxEntries"),
    /** The most bytes an unpack writes: {@code UnpackOptions.Builder.maxBytes}. */
    MAX_BYTES("UnpackOptions.Builder.maxBytes"),
    /** A workspace's secret: {@code Secrets.of}. */
    SECRET("Secrets.of"),
    /** A secret the egress gate adds to a host's HTTPS requests as a header: {@code Secrets.inject}. */
    SECRET_INJECT("Secrets.inject"),
    /** Which secrets a command gets, in which variables: {@code secretEnv}. */
    SECRET_ENV("secretEnv"),
    /** A workspace's own variables, seen by every exec, service and shell: {@code Davit.WorkspaceBuilder.env}. */
    WORKSPACE_ENV("Davit.WorkspaceBuilder.env"),
    /** The text an edit replaces: the oldText of {@code Workspaces.files().edit}. */
    EDIT_OLD("the oldText of Workspaces.files().edit"),
    /** The text an edit puts in its place: the newText of {@code Workspaces.files().edit}. */
    EDIT_NEW("the newText of Workspaces.files().edit"),
    /** Whether an edit replaces every occurrence: the all of {@code Workspaces.files().edit}. */
    EDIT_ALL("the all of Workspaces.files().edit"),
    /** The owner whose workspaces a caller sees: {@code Workspaces.ownedBy}. */
    OWNER("WorkspaceInternals.ownedBy (a door's owner)"),
    /** How many forks to make: the count of {@code Workspaces.fork}. */
    FORK_COUNT("the count of Workspaces.fork"),
    /** The forks' names: the names of {@code Workspaces.fork}. */
    FORK_NAME("the names of Workspaces.fork"),
    /** Where a new workspace runs: {@code Davit.WorkspaceBuilder.backend}. */
    BACKEND("Davit.WorkspaceBuilder.backend"),
    /** What a new workspace starts with: {@code Davit.WorkspaceBuilder.seed}. */
    SEED("Davit.WorkspaceBuilder.seed"),
    /** A snapshot of the whole sandbox: the all of {@code Workspaces.snapshot}. */
    SNAPSHOT_ALL("the all of Workspaces.snapshot"),
    /** The platform of a build: {@code BuildOptions.Builder.platform}. */
    PLATFORM("BuildOptions.Builder.platform"),
    /** One platform of an image: {@code PlatformSelector.of(platform)}. */
    ONE_PLATFORM("PlatformSelector.of(platform)"),
    /** Every platform of an image: {@code PlatformSelector.allPlatforms()}. */
    ALL_PLATFORMS("PlatformSelector.allPlatforms()"),
    /** Registries reached over plain HTTP: the {@code insecureRegistries} of davit's config.json. */
    INSECURE_REGISTRY("the insecureRegistries of davit's config.json (Davit.builder() reads it)"),
    /** The store's directory: under {@code Davit.Builder.home}. */
    STORE("Davit.Builder.home"),
    /** The reference of a bundle entry: {@code ImportOptions.withMap}. */
    MAP("ImportOptions.withMap"),
    /** The reference of a one-entry bundle: {@code ImportOptions.withAs}. */
    AS("ImportOptions.withAs"),
    /** The repository of a bundle's entries: {@code ImportOptions.withRepository}. */
    REPOSITORY("ImportOptions.withRepository"),
    /** Moving names the store already has in an import: {@code ImportOptions.withOverwrite(true)}. */
    OVERWRITE("ImportOptions.withOverwrite(true)"),
    /** The most bytes an import takes: {@code ImportOptions.withMaxTotalBytes}. */
    MAX_IMPORT_SIZE("ImportOptions.withMaxTotalBytes"),
    /** Keeping files' modification times in a build: {@code BuildOptions.Builder.keepMtimes(true)}. */
    KEEP_MTIMES("BuildOptions.Builder.keepMtimes(true)"),
    /** A fixed modification time in a build: {@code BuildOptions.Builder.fileMtime}. */
    FILE_MTIME("BuildOptions.Builder.fileMtime"),
    /** A local catalog file: {@code CatalogOptions.withCatalog(PATH)}. */
    CATALOG("CatalogOptions.withCatalog(PATH)"),
    /** Offline use of the catalog: {@code CatalogOptions.withOffline(true)}. */
    CATALOG_OFFLINE("CatalogOptions.withOffline(true)"),
    /** Offline install of an environment: {@code Installer.Options.offline}. */
    INSTALL_OFFLINE("Installer.Options.offline"),
    /** An artifact's type: {@code the artifactType of Images.pushArtifact}. */
    ARTIFACT_TYPE("the artifactType of Images.pushArtifact"),
    /** Inspecting an image in its registry: {@code DavitClient.inspectRemote}. */
    REMOTE("DavitClient.inspectRemote"),
    /** Allowing a weaker sandbox: {@code SandboxOptions.withAllowWeakerSandbox(true)}. */
    ALLOW_WEAKER_SANDBOX("SandboxOptions.withAllowWeakerSandbox(true)"),
    /** A page of a workspace's patch: {@code WorkspaceDiff.page}. */
    PATCH_PAGE("WorkspaceDiff.page"),
    /** Reading a file of a workspace: {@code Workspaces.files().read}. */
    READ_FILE("Workspaces.files().read"),
    /** Running a command in a sandbox: {@code Sandboxes.exec}. */
    SANDBOX_EXEC("Sandboxes.exec");

    private final String library;

    Input(String library) {
        this.library = library;
    }

    /**
     * The input in the library's words.
     *
     * @return its method or constant, e.g. {@code Limits.memoryMiB}
     */
    public String library() {
        return library;
    }
}
