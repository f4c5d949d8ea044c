package dev.davit.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.DavitException;
import dev.davit.oci.internal.Text;
import dev.davit.sandbox.Sandbox;
import dev.davit.sandbox.workspace.WorkspaceDiff;
import dev.davit.sandbox.workspace.Workspaces;
import dev.davit.sandbox.workspace.json.WorkspaceJson;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code davit workspace diff|snapshot|reset|commit}: /workspace against its baseline and its snapshots, the
 * snapshots themselves (made, listed, removed, pushed to travel), a reset to one, and a workspace committed to an
 * image.
 */
final class WorkspaceSnapshotCommands {
    private WorkspaceSnapshotCommands() {
    }

    @Command(name = "diff", mixinStandardHelpOptions = true,
            description = "What changed in /workspace since the baseline (or a snapshot): added, modified, deleted,"
                    + " mode changes, and a unified diff of text files.")
    static final class DiffCmd extends WorkspaceCommand.IdCmd {
        @Option(names = "--snapshot", paramLabel = "NAME", description = "Compare with this snapshot instead of the"
                + " baseline.")
        String snapshot;

        @Option(names = "--path", paramLabel = "PATH", description = "Only this path and what is below it (relative"
                + " to /workspace; repeatable).")
        List<String> paths = new ArrayList<>();

        @Option(names = "--include-ignored", description = "List what is below ignored directories too (default:"
                + " those a .gitignore ignores, or node_modules and the like, are counted on one line each).")
        boolean includeIgnored;

        @Option(names = "--patch-offset", paramLabel = "N", description = "Show the patch from this character"
                + " (default 0); --json's next_offset is where the next page starts.")
        long patchOffset;

        @Option(names = "--patch-max", paramLabel = "N", description = "Show at most N characters of the patch"
                + " (whole lines; default: all).")
        int patchMax;

        @Override
        protected int run(Output out) {
            if (patchOffset < 0 || patchMax < 0) {
                throw new DavitException(DavitException.Kind.USAGE, "--patch-offset and --patch-max take 0 or more");
            }
            WorkspaceDiff full = WorkspaceCommand.workspaces(main).files().diff(id, snapshot, paths,
                    includeIgnored || !paths.isEmpty());
            WorkspaceDiff.PatchPage page = full.page(patchOffset, patchMax > 0 ? patchMax : Integer.MAX_VALUE);
            WorkspaceDiff d = new WorkspaceDiff(full.changes(), page.text(), full.redacted(), full.collapsed());
            ObjectNode doc = WorkspaceJson.diff(d);
            if (patchOffset > 0 || patchMax > 0) {
                doc.put("patch_offset", page.offset());
                doc.put("next_offset", page.next());
                doc.put("patch_truncated", page.more());
            }
            out.result(doc, p -> {
                for (WorkspaceDiff.Change c : d.changes()) {
                    p.println(switch (c.kind()) {
                        case ADDED -> "A ";
                        case DELETED -> "D ";
                        case MODE -> "M ";
                        case MODIFIED -> "C ";
                    } + Text.escaped(c.path(), false) + (c.kind() == WorkspaceDiff.Change.Kind.MODE ? " "
                            + c.oldModeOctal() + " -> " + c.newModeOctal() : ""));
                }
                for (WorkspaceDiff.Collapsed c : d.collapsed()) {
                    p.println("I " + Text.escaped(c.path(), false) + "/ (ignored: " + c.added() + " added, "
                            + c.modified() + " modified, " + c.deleted() + " deleted; --include-ignored lists them)");
                }
                p.print(Text.escaped(d.patch(), true)); // names are quoted already; the text is the sandbox's
            });
            if (d.redacted()) {
                out.notice("a secret value is shown as [REDACTED:NAME] in this diff; the files where one was do not"
                        + " apply as a patch");
            }
            return 0;
        }
    }

    @Command(name = "snapshot", mixinStandardHelpOptions = true,
            description = "Snapshots of /workspace (copies in the workspace's state) to diff against or reset to.",
            subcommands = {SnapshotCreateCmd.class, SnapshotLsCmd.class, SnapshotRmCmd.class, SnapshotPushCmd.class})
    static final class SnapshotCmd extends GroupCommand {
    }

    @Command(name = "create", mixinStandardHelpOptions = true, description = "Copy /workspace's current tree into"
            + " a new snapshot (with --all, the sandbox's whole writable state too).")
    static final class SnapshotCreateCmd extends WorkspaceCommand.IdCmd {
        @Parameters(index = "1", paramLabel = "NAME", description = "Letters, digits, '.', '_', '-' (up to 64).")
        String name;

        @Option(names = "--all", description = "Save the sandbox's whole writable state too (/etc, installed"
                + " packages, /tmp; a microVM's disk), so that a reset to it brings all of it back.")
        boolean all;

        @Override
        protected int run(Output out) {
            Workspaces.Snapshot s = WorkspaceCommand.workspaces(main).snapshot(id, name, all);
            out.result(WorkspaceJson.snapshot(s), p -> p.println(s.name() + " (" + s.files() + " entries, " + s.bytes()
                    + " bytes" + (s.all() ? "; the whole sandbox" : "") + ")"));
            return 0;
        }
    }

    @Command(name = "ls", aliases = "list", mixinStandardHelpOptions = true, description = "List a workspace's snapshots.")
    static final class SnapshotLsCmd extends WorkspaceCommand.IdCmd {
        @Override
        protected int run(Output out) {
            List<Workspaces.Snapshot> snaps = WorkspaceCommand.workspaces(main).snapshots(id);
            out.result(WorkspaceJson.snapshots(snaps), p -> {
                p.printf("%-24s %-20s %8s %12s %s%n", "NAME", "CREATED", "ENTRIES", "BYTES", "OF");
                snaps.forEach(s -> p.printf("%-24s %-20s %8d %12d %s%n", s.name(),
                        s.createdAt().truncatedTo(java.time.temporal.ChronoUnit.SECONDS), s.files(), s.bytes(),
                        s.all() ? "all" : "/workspace"));
            });
            return 0;
        }
    }

    @Command(name = "remove", aliases = "rm", mixinStandardHelpOptions = true, description = "Remove a snapshot.")
    static final class SnapshotRmCmd extends WorkspaceCommand.IdCmd {
        @Parameters(index = "1", paramLabel = "NAME", description = "The snapshot's name.")
        String name;

        @Override
        protected int run(Output out) {
            WorkspaceCommand.workspaces(main).removeSnapshot(id, name);
            return WorkspaceCommand.removed(out, "name", name);
        }
    }

    @Command(name = "push", mixinStandardHelpOptions = true, description = "Make a snapshot an OCI artifact and push"
            + " it, with the environment it runs on, to REF's registry, where 'davit workspace create --from REF' on"
            + " another machine finds both; findable from the environment through the registry's referrers API (or"
            + " its sha256-DIGEST tag). A snapshot made with --all carries the rest of the sandbox too; the"
            + " workspace's network, limits, labels and variables come with it.")
    static final class SnapshotPushCmd extends WorkspaceCommand.IdCmd {
        @Parameters(index = "1", paramLabel = "SNAPSHOT", description = "The snapshot's name.")
        String snapshot;

        @Parameters(index = "2", paramLabel = "REF", description = "The artifact's name, with a tag (e.g."
                + " 127.0.0.1:5000/team/proj:before-fix).")
        String reference;

        @Option(names = "--local", description = "Only store it in this home's store; push nothing.")
        boolean local;

        @Option(names = "--bundle", paramLabel = "FILE", description = "Write it, with its environment, to this"
                + " bundle (a new .tar, .tar.gz or .tar.zst) instead of a registry: 'davit import FILE' on another"
                + " machine, then 'davit workspace create --from REF' there, with no network.")
        Path bundle;

        @Override
        protected int run(Output out) {
            if (local && bundle != null) {
                throw new DavitException(DavitException.Kind.USAGE, "--local and --bundle go apart: --bundle stores"
                        + " it too");
            }
            Workspaces ws = WorkspaceCommand.workspaces(main);
            dev.davit.sandbox.workspace.WorkspaceImages.SnapshotPush r;
            try (ProgressRenderer progress = out.progress()) {
                var images = dev.davit.sandbox.workspace.internal.WorkspaceInternals.images(ws, client(), progress);
                r = bundle != null ? images.exportSnapshot(id, snapshot, reference, bundle)
                        : images.pushSnapshot(id, snapshot, reference, local);
            }
            ObjectNode doc = WorkspaceJson.snapshotPush(r);
            if (bundle != null) {
                doc.put("bundle", bundle.toAbsolutePath().toString());
            }
            out.result(doc, w -> w.println((bundle != null ? "exported " : local ? "stored " : "pushed ")
                    + r.snapshot().name() + " as "
                    + r.reference() + "@" + r.digest() + " (on " + r.environment() + "@"
                    + r.environmentDigest() + (r.indexed() ? "; listed in its sha256- tag" : "") + ")"));
            return 0;
        }
    }

    @Command(name = "reset", mixinStandardHelpOptions = true,
            description = {"Restore /workspace to the baseline (or a snapshot), byte for byte and mode for mode.",
                "Stops the workspace's processes; starts it again if it was running."})
    static final class ResetCmd extends WorkspaceCommand.IdCmd {
        @Option(names = "--snapshot", paramLabel = "NAME", description = "Restore this snapshot instead of the"
                + " baseline.")
        String snapshot;

        @Override
        protected int run(Output out) {
            Workspaces ws = WorkspaceCommand.workspaces(main);
            Sandbox s = ws.reset(id, snapshot);
            boolean paused = ws.paused(s);
            ObjectNode doc = WorkspaceJson.workspace(ws.get(id), s, paused);
            doc.put("reset_to", snapshot == null ? "baseline" : snapshot);
            out.result(doc, p -> p.println(ws.get(id).id() + " reset to " + (snapshot == null ? "the baseline"
                    : "snapshot " + snapshot) + " (" + WorkspaceJson.status(s, paused) + ")"));
            return 0;
        }
    }

    @Command(name = "commit", mixinStandardHelpOptions = true, description = "Make an image of a workspace: its"
            + " environment's image with one more layer holding what the workspace changed (/workspace, packages"
            + " installed, files deleted; owners as the sandbox saw them; no secrets, no /tmp), WorkingDir /workspace,"
            + " annotations naming the base and the workspace. The same state gives the same digest. Container"
            + " workspaces; a running one is frozen while it is read.")
    static final class CommitCmd extends WorkspaceCommand.IdCmd {
        @Parameters(index = "1", paramLabel = "REF", description = "The image's name, with a tag (e.g."
                + " localhost:5000/team/env:1).")
        String reference;

        @Option(names = "--push", description = "Push the image to REF's registry afterwards.")
        boolean push;

        @Option(names = "--created", paramLabel = "TIME", description = "Its creation time: ISO-8601"
                + " (2024-05-01T10:00:00Z) or 'now' (default: SOURCE_DATE_EPOCH, else the newest change's time).")
        String created;

        @Override
        protected int run(Output out) {
            Workspaces ws = WorkspaceCommand.workspaces(main);
            java.time.Instant when = created != null ? BuildCommand.createdTime(created)
                    : dev.davit.oci.build.BuildOptions.sourceDateEpoch(main.env());
            dev.davit.sandbox.workspace.WorkspaceImages.Commit c;
            dev.davit.oci.copy.PushResult pushed = null;
            try (ProgressRenderer progress = out.progress()) {
                c = dev.davit.sandbox.workspace.internal.WorkspaceInternals.images(ws, client(), progress).commit(id,
                        reference, new dev.davit.sandbox.workspace.WorkspaceImages.CommitOptions(when, false));
                if (push) { // the image stays in the store when its push fails
                    pushed = client().push(c.reference(), null, progress);
                }
            }
            dev.davit.oci.copy.PushResult sent = pushed;
            for (String skipped : c.changes().skipped().stream().limit(20).toList()) {
                String base = skipped.substring(skipped.lastIndexOf('/') + 1);
                out.notice(base.startsWith(dev.davit.oci.build.LayerWriter.WHITEOUT)
                        ? "skipped " + Text.shorten(skipped, 200) + " (a name starting with "
                                + dev.davit.oci.build.LayerWriter.WHITEOUT + " marks a deletion in an image layer;"
                                + " rename the file to keep it)"
                        : "skipped special file " + Text.shorten(skipped, 200) + " (fifos, sockets and device"
                                + " nodes are not stored in layers)");
            }
            ObjectNode doc = WorkspaceJson.commit(c);
            if (sent != null) {
                doc.set("push", PushCommand.toJson(reference, sent));
            }
            out.result(doc, w -> {
                w.println("committed " + c.workspace().id() + " to " + c.reference() + "@"
                        + c.digest() + " (" + c.changes().files() + " files, "
                        + c.changes().bytes() + " bytes, " + c.changes().whiteouts() + " deleted; on "
                        + c.base() + ")");
                if (sent != null) {
                    PushCommand.human(w, "pushed", sent);
                }
            });
            return 0;
        }
    }
}
