package dev.davit.spring.boot;

import dev.davit.spring.ai.DavitToolCallbackProvider;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The {@code davit.*} properties: the options of {@code davit mcp serve} that apply in an application, each named
 * after its flag ({@code davit.allow-registry} for {@code --allow-registry}); a repeatable flag's property is a list.
 * Unset ones keep the server's defaults.
 */
@ConfigurationProperties(prefix = "davit")
public class DavitProperties {
    /** The davit home (--home); default: DAVIT_HOME, else davit's default home. */
    private Path home;
    /** The tool set (--tools): run, core or full. */
    private String tools = "core";
    /** Registries runs and workspaces may pull from (--allow-registry). */
    private List<String> allowRegistry = new ArrayList<>();
    /** Host directories the tools may use, e.g. to seed a workspace (--allow-path). */
    private List<Path> allowPath = new ArrayList<>();
    /** Whether runs and workspaces may ask for a NAT network (--allow-network). */
    private boolean allowNetwork;
    /** Names, IPv4 networks or presets that egress policies may allow (--allow-egress). */
    private List<String> allowEgress = new ArrayList<>();
    /** The most workspaces at once (--max-workspaces). */
    private int maxWorkspaces = 8;
    /** The most disk a run or workspace may ask for, in MiB (--max-disk). */
    private Long maxDisk;
    /** The TTL of workspaces made without one (--ttl): a bare number is seconds, as the flag's; or 30m, 2h. */
    @org.springframework.boot.convert.DurationUnit(java.time.temporal.ChronoUnit.SECONDS)
    private Duration ttl = Duration.ofHours(1);
    /** Whether the workspaces made are removed when the application context closes (--cleanup-on-exit). */
    private boolean cleanupOnExit = true;
    /** Started sandboxes kept ready per kind of workspace (--warm). */
    private int warm;
    /** The owner recorded on every workspace made (--owner). */
    private String owner = "spring-ai";
    /** Operator's workspaces handed to the model, NAME[:ro|:rw] (--share-workspace). */
    private List<String> shareWorkspace = new ArrayList<>();
    /** Repository prefixes workspace_commit may name (--commit-to). */
    private List<String> commitTo = new ArrayList<>();
    /** The host ports a model may publish, LOW-HIGH (--publish-ports). */
    private String publishPorts = "1024-65535";
    /** The memory of all sandboxes together, in MiB (--max-memory); default from the host's size. */
    private Long maxMemory;
    /** The CPUs of all sandboxes together (--max-cpus); default from the host's size. */
    private Double maxCpus;
    /** One-shot runs at once (--max-runs). */
    private Integer maxRuns;
    /** Where sandboxes run: container, vm or k8s, the first the default (--backend). */
    private List<String> backend = new ArrayList<>();
    /** Whether the tools serve where memory and CPU limits cannot be enforced (--allow-unlimited). */
    private boolean allowUnlimited;

    /** {@code b} with these properties. */
    DavitToolCallbackProvider.Builder configure(DavitToolCallbackProvider.Builder b) {
        if (home != null) {
            b.home(home);
        }
        b.tools(tools).allowNetwork(allowNetwork).maxWorkspaces(maxWorkspaces).ttl(ttl).cleanupOnExit(cleanupOnExit)
                .warm(warm).owner(owner).allowUnlimited(allowUnlimited);
        allowRegistry.forEach(b::allowRegistry);
        allowPath.forEach(b::allowPath);
        allowEgress.forEach(b::allowEgress);
        shareWorkspace.forEach(b::shareWorkspace);
        commitTo.forEach(b::commitTo);
        backend.forEach(b::backend);
        if (maxDisk != null) {
            b.maxDisk(maxDisk);
        }
        if (maxMemory != null) {
            b.maxMemory(maxMemory);
        }
        if (maxCpus != null) {
            b.maxCpus(maxCpus);
        }
        if (maxRuns != null) {
            b.maxRuns(maxRuns);
        }
        int[] range = dev.davit.mcp.ServeOptions.portRange(publishPorts); // worded as --publish-ports: see the caller
        b.publishPorts(range[0], range[1]);
        return b;
    }

    public Path getHome() {
        return home;
    }

    public void setHome(Path home) {
        this.home = home;
    }

    public String getTools() {
        return tools;
    }

    public void setTools(String tools) {
        this.tools = tools;
    }

    public List<String> getAllowRegistry() {
        return allowRegistry;
    }

    public void setAllowRegistry(List<String> allowRegistry) {
        this.allowRegistry = allowRegistry;
    }

    public List<Path> getAllowPath() {
        return allowPath;
    }

    public void setAllowPath(List<Path> allowPath) {
        this.allowPath = allowPath;
    }

    public boolean isAllowNetwork() {
        return allowNetwork;
    }

    public void setAllowNetwork(boolean allowNetwork) {
        this.allowNetwork = allowNetwork;
    }

    public List<String> getAllowEgress() {
        return allowEgress;
    }

    public void setAllowEgress(List<String> allowEgress) {
        this.allowEgress = allowEgress;
    }

    public int getMaxWorkspaces() {
        return maxWorkspaces;
    }

    public void setMaxWorkspaces(int maxWorkspaces) {
        this.maxWorkspaces = maxWorkspaces;
    }

    public Long getMaxDisk() {
        return maxDisk;
    }

    public void setMaxDisk(Long maxDisk) {
        this.maxDisk = maxDisk;
    }

    public Duration getTtl() {
        return ttl;
    }

    public void setTtl(Duration ttl) {
        this.ttl = ttl;
    }

    public boolean isCleanupOnExit() {
        return cleanupOnExit;
    }

    public void setCleanupOnExit(boolean cleanupOnExit) {
        this.cleanupOnExit = cleanupOnExit;
    }

    public int getWarm() {
        return warm;
    }

    public void setWarm(int warm) {
        this.warm = warm;
    }

    public String getOwner() {
        return owner;
    }

    public void setOwner(String owner) {
        this.owner = owner;
    }

    public List<String> getShareWorkspace() {
        return shareWorkspace;
    }

    public void setShareWorkspace(List<String> shareWorkspace) {
        this.shareWorkspace = shareWorkspace;
    }

    public List<String> getCommitTo() {
        return commitTo;
    }

    public void setCommitTo(List<String> commitTo) {
        this.commitTo = commitTo;
    }

    public String getPublishPorts() {
        return publishPorts;
    }

    public void setPublishPorts(String publishPorts) {
        this.publishPorts = publishPorts;
    }

    public Long getMaxMemory() {
        return maxMemory;
    }

    public void setMaxMemory(Long maxMemory) {
        this.maxMemory = maxMemory;
    }

    public Double getMaxCpus() {
        return maxCpus;
    }

    public void setMaxCpus(Double maxCpus) {
        this.maxCpus = maxCpus;
    }

    public Integer getMaxRuns() {
        return maxRuns;
    }

    public void setMaxRuns(Integer maxRuns) {
        this.maxRuns = maxRuns;
    }

    public List<String> getBackend() {
        return backend;
    }

    public void setBackend(List<String> backend) {
        this.backend = backend;
    }

    public boolean isAllowUnlimited() {
        return allowUnlimited;
    }

    public void setAllowUnlimited(boolean allowUnlimited) {
        this.allowUnlimited = allowUnlimited;
    }
}
